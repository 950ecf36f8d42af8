"""An example third-party recipe: swap two adjacent inner characters of a word (a typo attack).

Paper: Gao et al., Black-box Generation of Adversarial Text Sequences to Evade Deep Learning
Classifiers (DeepWordBug), 2018, "swap" operator. Components: untargeted goal, one typo per word,
no stopwords, at most 30 % of words, greedy search by deletion importance. Needs no resources.
"""

from __future__ import annotations

from typing import Sequence

from attacks.constraints import MaxModificationRate, RepeatModification, StopwordModification
from attacks.core import Attack, Transformation
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.search import GreedyWordImportance
from attacks.text import AttackedText


class AdjacentCharSwap(Transformation):
    """Every word variant with two neighbouring inner characters swapped (first and last letters kept)."""

    def __call__(self, text: AttackedText, indices: Sequence[int]) -> list[AttackedText]:
        candidates = []
        for index in indices:
            word = text.words[index]
            for k in range(1, len(word) - 2):
                typo = word[:k] + word[k + 1] + word[k] + word[k + 2:]
                if typo != word:
                    candidates.append(text.replace_words({index: typo}))
        return candidates


@recipe("adjacent-char-swap", paper="Gao et al., 2018 (DeepWordBug, swap)", resources=[])
def adjacent_char_swap(max_rate: float = 0.3, query_budget: float | None = 50) -> Attack:
    """Typos made by swapping adjacent characters, in deletion-importance order."""
    return Attack(
        UntargetedClassification(),
        AdjacentCharSwap(),
        [RepeatModification(), StopwordModification(), MaxModificationRate(max_rate)],
        GreedyWordImportance("delete"),
        budget_per_word=query_budget,
    )
