"""Nearest-neighbour swaps in counter-fitted word vectors (TextFooler, Jin et al. AAAI 2020).

Substitutes are the `max_candidates` nearest words with cosine >= `min_cos` (TextFooler: 50 and 0.5),
read from the neighbour table precomputed by `attacks.counterfit`.
"""

from __future__ import annotations

from attacks import counterfit
from attacks.transformations import WordSwap
from robust_eval.core.errors import RobustEvalError


class CounterFittedSwap(WordSwap):
    """Swap a word for one of its counter-fitted embedding neighbours."""

    def __init__(self, max_candidates: int = 50, min_cos: float = 0.5, vocab_size: int = 65_000) -> None:
        super().__init__(max_candidates)
        if max_candidates > counterfit.NEIGHBOURS:
            raise RobustEvalError(
                f"max_candidates {max_candidates} exceeds the {counterfit.NEIGHBOURS} stored neighbours: use at most that"
            )
        self.min_cos = min_cos
        self.vectors = counterfit.load(vocab_size)

    def substitutes(self, word: str) -> list[str]:
        return self.vectors.neighbours(word, self.max_candidates, self.min_cos)
