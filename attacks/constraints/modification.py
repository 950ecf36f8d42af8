"""Limits on how much of the text may change.

`RepeatModification`: a word changed once is not changed again (TextAttack's default for swaps).
`MaxModificationRate`: at most `rate` of the original words may be modified (TextDefender: 0.3), the count
rounded up as TextAttack's MaxModificationRate does (ceil(0.3 x 5 words) = 2), and at least `minimum` words
so that very short texts can still be attacked.
"""

from __future__ import annotations

import math

from attacks.core import PreTransformationConstraint
from attacks.text import AttackedText
from robust_eval.core.errors import RobustEvalError


class RepeatModification(PreTransformationConstraint):
    """Only words that are still original may change."""

    def allowed(self, text: AttackedText) -> set[int]:
        return set(range(len(text))) - text.modified


class MaxModificationRate(PreTransformationConstraint):
    """Stop allowing changes once `max(minimum, ceil(rate x original words))` words are modified."""

    def __init__(self, rate: float = 0.3, minimum: int = 1) -> None:
        if not 0 < rate <= 1:
            raise RobustEvalError(f"max modification rate must be in (0, 1], got {rate}")
        self.rate = rate
        self.minimum = minimum

    def limit(self, num_words: int) -> int:
        """Largest number of modified words allowed for a text of `num_words` original words (exact multiples
        are not rounded up by floating-point error: 30 % of 10 words is 3)."""
        return max(self.minimum, math.ceil(self.rate * num_words - 1e-9))

    def allowed(self, text: AttackedText) -> set[int]:
        if len(text.modified) >= self.limit(text.original_length):
            return set()
        return set(range(len(text)))
