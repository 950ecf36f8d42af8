"""Typed records of a training run: its data splits and what it produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from robust_eval.core.data import Dataset


@dataclass(frozen=True)
class TrainingData:
    """The three splits of a run (dev chooses the checkpoint, test is only reported)."""

    train: Dataset
    dev: Dataset
    test: Dataset

    @property
    def label_names(self) -> list[str]:
        return self.train.label_names


@dataclass
class TrainingOutcome:
    """What a run produced: where the checkpoint is, and its numbers (also in training.json)."""

    output_dir: Path
    dev_accuracy: float
    test_accuracy: float
    best_epoch: float
    train_seconds: float
    epoch_seconds: list[float]
    batches: int
    optimizer_steps: int
    dev_history: list[dict[str, float]] = field(default_factory=list)
