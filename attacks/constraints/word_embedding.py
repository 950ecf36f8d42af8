"""Word-embedding similarity between each swapped word and the word it replaces.

Morris et al. (2020) keep a swap only if the counter-fitted cosine of the two words is at least 0.9 (their
300-d vectors). Here the vectors are the 50-d counter-fitted ones built by attacks.counterfit, so the
threshold of a recipe is calibrated for them (benchmarks/calibrate_strict.py). Words outside the vectors'
vocabulary have no cosine and are rejected; a case-only change counts as the same word.
"""

from __future__ import annotations

from typing import Sequence

from attacks import counterfit
from attacks.core import Constraint
from attacks.text import AttackedText
from robust_eval.core.errors import RobustEvalError


def swapped_pairs(candidate: AttackedText, original: AttackedText) -> list[tuple[str, str]]:
    """(original word, new word) lower-cased at every modified position of a same-length candidate."""
    if len(candidate) != len(original):
        return []
    return [(original.words[i].lower(), candidate.words[i].lower()) for i in sorted(candidate.modified)]


class WordEmbeddingCosine(Constraint):
    """Every swapped word has counter-fitted cosine >= `min_cos` with the original word at its position."""

    def __init__(self, min_cos: float, vocab_size: int = 65_000, vectors: counterfit.CounterFittedVectors | None = None) -> None:
        if not -1 <= min_cos <= 1:
            raise RobustEvalError(f"word-embedding threshold must be a cosine in [-1, 1], got {min_cos}")
        self.min_cos = min_cos
        self.vectors = vectors or counterfit.load(vocab_size)

    def cosine(self, old: str, new: str) -> float | None:
        """Cosine of two words (1 for the same word, None when either is out of vocabulary)."""
        if old == new:
            return 1.0
        if old not in self.vectors.index or new not in self.vectors.index:
            return None
        return self.vectors.cosine(old, new)

    def filter(self, candidates: Sequence[AttackedText], original: AttackedText) -> list[bool]:
        verdicts = []
        for candidate in candidates:
            values = [self.cosine(old, new) for old, new in swapped_pairs(candidate, original)]
            verdicts.append(all(v is not None and v >= self.min_cos for v in values))
        return verdicts
