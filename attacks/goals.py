"""Goal functions: when an attack has succeeded and how close a candidate is (higher score = closer).

As in TextAttack: untargeted classification succeeds when the predicted class is no longer the true
label (score 1 - p(label)); targeted classification succeeds when the target class is predicted
(score p(target)).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from robust_eval.core.errors import RobustEvalError


class Goal(ABC):
    """Decides success and scores model outputs for one example's true label."""

    @abstractmethod
    def scores(self, probs: np.ndarray, label: int) -> np.ndarray:
        """Score per row of `probs` (n, num_labels); higher is closer to success."""

    @abstractmethod
    def succeeded(self, probs: np.ndarray, label: int) -> np.ndarray:
        """Boolean per row of `probs`: is the goal reached?"""

    def check(self, num_labels: int) -> None:
        """Raise a RobustEvalError when the goal cannot apply to a model with `num_labels` classes."""


class UntargetedClassification(Goal):
    """Any wrong prediction is a success."""

    def scores(self, probs: np.ndarray, label: int) -> np.ndarray:
        return 1.0 - probs[:, label]

    def succeeded(self, probs: np.ndarray, label: int) -> np.ndarray:
        return probs.argmax(axis=1) != label


class TargetedClassification(Goal):
    """Success when the model predicts `target`; examples whose label is the target are skipped."""

    def __init__(self, target: int) -> None:
        self.target = target

    def check(self, num_labels: int) -> None:
        if not 0 <= self.target < num_labels:
            raise RobustEvalError(
                f"target class {self.target} does not exist: choose a class between 0 and {num_labels - 1}"
            )

    def scores(self, probs: np.ndarray, label: int) -> np.ndarray:
        return probs[:, self.target]

    def succeeded(self, probs: np.ndarray, label: int) -> np.ndarray:
        return probs.argmax(axis=1) == self.target
