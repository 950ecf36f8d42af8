"""Rules as a transformation: each applicable rule gives one candidate (all its matches rewritten)."""

from __future__ import annotations

from typing import Sequence

from attacks.core import Transformation
from attacks.sears.rules import Rule
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

    Candidates are built with `AttackedText.rewrite`, so their `history` ends with the rule (`"movie -> film"`).
    """

    word_level = False

    def __init__(self, rules: Sequence[Rule]) -> None:
        if not rules:
            raise RobustEvalError("the rule transformation needs at least one rule: check the rules file")
        self.rules = list(rules)

    def __call__(self, text: AttackedText, indices: Sequence[int]) -> list[AttackedText]:
        spans = word_offsets(text)
        permitted = set(indices)

        def allowed(offset: int) -> bool:
            inside = [i for i, (start, end) in enumerate(spans) if start <= offset < end]
            return not inside or inside[0] in permitted

        candidates = []
        for rule in self.rules:
            rewritten = rule.apply(text.text, allowed=allowed)
            if rewritten is not None:
                candidates.append(text.rewrite(rewritten, str(rule)))
        return candidates
