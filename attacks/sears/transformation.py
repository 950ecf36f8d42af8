"""Rules as a transformation: each applicable rule gives one candidate (all its matches rewritten); `pairs`
gives the candidates of two rules applied at once where their matches share no token."""

from __future__ import annotations

from itertools import combinations
from typing import Callable, Sequence

from attacks.core import Transformation
from attacks.sears.outcome import PAIR_JOIN
from attacks.sears.rules import Rule, apply_together
from attacks.text import AttackedText
from robust_eval.core.errors import RobustEvalError


def word_offsets(text: AttackedText) -> list[tuple[int, int]]:
    """Character span of each word of `text` in `text.text`."""
    spans, position = [], 0
    for separator, word in zip(text.separators, text.words):
        position += len(separator)
        spans.append((position, position + len(word)))
        position += len(word)
    return spans


class RuleRewrite(Transformation):
    """One candidate per rule that applies; a match starting inside a word needs that word's index allowed
    (matches starting at punctuation, which is no word, and `{END}` matches are always allowed).

    Candidates are built with `AttackedText.rewrite`, so their `history` ends with the rule (`"movie -> film"`),
    or with both rules joined by `" + "` for a pair.
    """

    word_level = False

    def __init__(self, rules: Sequence[Rule]) -> None:
        if not rules:
            raise RobustEvalError("the rule transformation needs at least one rule: check the rules file")
        self._by_name: dict[str, Rule] = {}
        for rule in rules:  # the first of rules written alike wins
            self._by_name.setdefault(str(rule), rule)
        self.rules = list(self._by_name.values())

    def __call__(self, text: AttackedText, indices: Sequence[int]) -> list[AttackedText]:
        allowed = self._allowed(text, indices)
        candidates = []
        for rule in self.rules:
            rewritten = rule.apply(text.text, allowed=allowed)
            if rewritten is not None:
                candidates.append(text.rewrite(rewritten, str(rule)))
        return candidates

    def pairs(self, text: AttackedText, indices: Sequence[int], names: Sequence[str]) -> list[AttackedText]:
        """Candidates of each pair of the rules called `names` (in that order) that apply together."""
        allowed = self._allowed(text, indices)
        seen = {text.text}
        candidates = []
        for first, second in combinations([self._by_name[n] for n in dict.fromkeys(names)], 2):
            rewritten = apply_together([first, second], text.text, allowed=allowed)
            if rewritten is not None and rewritten not in seen:
                seen.add(rewritten)
                candidates.append(text.rewrite(rewritten, f"{first}{PAIR_JOIN}{second}"))
        return candidates

    @staticmethod
    def _allowed(text: AttackedText, indices: Sequence[int]) -> Callable[[int], bool]:
        spans = word_offsets(text)
        permitted = set(indices)

        def allowed(offset: int) -> bool:
            inside = [i for i, (start, end) in enumerate(spans) if start <= offset < end]
            return not inside or inside[0] in permitted

        return allowed
