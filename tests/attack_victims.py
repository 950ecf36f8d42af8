"""A transparent lexicon classifier implementing the Victim protocol, for exact engine tests.

It scores a text by summing per-word weights (positive words > 0), so the effect of every swap is known
in advance; it records the size of each predict_proba call to check batching.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import numpy as np

WEIGHTS = {"good": 1.0, "great": 3.0, "fine": 1.0, "bad": -1.0, "awful": -3.0, "picture": -2.0, "boring": -2.0}


class LexiconVictim:
    """p(positive) = sigmoid(sum of word weights + bias); labels: 0 negative, 1 positive."""

    label_names = ["negative", "positive"]

    def __init__(self, weights: Mapping[str, float] = WEIGHTS, bias: float = 0.0) -> None:
        self.weights = dict(weights)
        self.bias = bias
        self.queries = 0
        self.calls: list[int] = []

    @property
    def num_labels(self) -> int:
        return 2

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.queries += len(texts)
        self.calls.append(len(texts))
        scores = np.array([
            sum(self.weights.get(w, 0.0) for w in re.findall(r"[a-z']+", t.lower())) + self.bias for t in texts
        ])
        positive = 1 / (1 + np.exp(-scores))
        return np.stack([1 - positive, positive], axis=1) if len(texts) else np.zeros((0, 2))
