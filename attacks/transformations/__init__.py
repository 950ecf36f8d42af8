"""Transformations: word swaps (a substitute list per word) and compositions of any transformations."""

from __future__ import annotations

from abc import abstractmethod
from typing import Sequence

from attacks.core import Transformation
from attacks.text import AttackedText
from robust_eval.core.errors import RobustEvalError


def match_case(word: str, template: str) -> str:
    """`word` written with the capitalisation pattern of `template` (Good -> Great, GOOD -> GREAT)."""
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class WordSwap(Transformation):
    """Replace one word by each of at most `max_candidates` substitutes (TextDefender: 50; None: all)."""

    word_level = True

    def __init__(self, max_candidates: int | None = 50) -> None:
        if max_candidates is not None and max_candidates < 1:
            raise RobustEvalError(f"max_candidates must be at least 1 (or none for no limit), got {max_candidates}")
        self.max_candidates = max_candidates

    @abstractmethod
    def substitutes(self, word: str) -> list[str]:
        """Lower-case substitutes for `word`, best first, never `word` itself."""

    def substitutes_in(self, text: AttackedText, indices: Sequence[int]) -> list[list[str]]:
        """Substitutes for the word at each of `indices`; from the word alone unless a subclass reads its context."""
        return [self.substitutes(text.words[index].lower()) for index in indices]

    def __call__(self, text: AttackedText, indices: Sequence[int]) -> list[AttackedText]:
        candidates = []
        for index, substitutes in zip(indices, self.substitutes_in(text, indices)):
            word = text.words[index]
            for substitute in substitutes[: self.max_candidates]:
                candidates.append(text.replace_words({index: match_case(substitute, word)}))
        return candidates


class CompositeTransformation(Transformation):
    """The union of the candidates of several transformations."""

    def __init__(self, parts: Sequence[Transformation]) -> None:
        if not parts:
            raise RobustEvalError("a composite transformation needs at least one part")
        self.parts = list(parts)
        self.word_level = all(p.word_level for p in self.parts)

    def __call__(self, text: AttackedText, indices: Sequence[int]) -> list[AttackedText]:
        return [candidate for part in self.parts for candidate in part(text, indices)]
