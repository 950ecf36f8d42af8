"""Clean (unattacked) predictions of a victim over a dataset, batched with a progress bar."""

from __future__ import annotations

import numpy as np
from rich.progress import Progress

from robust_eval.data import Dataset
from robust_eval.victim import Victim


def clean_predictions(victim: Victim, dataset: Dataset, batch_size: int = 256) -> np.ndarray:
    """Class probabilities for every example, shape (len(dataset), num_labels)."""
    texts = [example.text for example in dataset.examples]
    chunks = []
    with Progress(transient=True) as progress:
        task = progress.add_task(f"clean predictions ({dataset.name})", total=len(texts))
        for start in range(0, len(texts), batch_size):
            chunks.append(victim.predict_proba(texts[start:start + batch_size]))
            progress.advance(task, len(chunks[-1]))
    return np.concatenate(chunks) if chunks else np.zeros((0, victim.num_labels), dtype=np.float32)


def clean_accuracy(victim: Victim, dataset: Dataset) -> tuple[float, np.ndarray]:
    """Accuracy and the probability matrix it was computed from."""
    probabilities = clean_predictions(victim, dataset)
    labels = np.array([example.label for example in dataset.examples])
    return float((probabilities.argmax(axis=1) == labels).mean()), probabilities
