"""Part-of-speech agreement: a swapped word must keep the part of speech of the word it replaces.

TextFooler (Jin et al., AAAI 2020) tags the original sentence and each candidate around the swap (4 words
either side), compares universal tags, and lets nouns and verbs replace each other (`allow_noun_verb`).
Here both the original word and its substitute are tagged in the same window of their own text (as
TextAttack's PartOfSpeech constraint does), with spaCy's tagger (`attacks.tagging`; TextFooler used NLTK's),
so every window is tagged once and served from the cache afterwards. Texts whose word count changed (rule
rewrites) are not checked. `fine=True` compares the Penn Treebank tags themselves, so a swap must also keep
number, tense and degree ("Binoche makes it" -> "Binoche make it" is rejected; the strict profile uses it).
"""

from __future__ import annotations

from typing import Sequence

from attacks.core import Constraint
from attacks.tagging import PosTagger, default_tagger, universal_pos
from attacks.text import AttackedText

NOUN_VERB = frozenset({"NOUN", "VERB"})


class PartOfSpeech(Constraint):
    """Every word that differs from the original keeps its part of speech (in a `radius` window).

    Universal tags by default; `fine`: the same Penn Treebank tag (then `allow_noun_verb` does not apply).
    """

    def __init__(self, radius: int = 4, allow_noun_verb: bool = True, tagger: PosTagger | None = None,
                 fine: bool = False) -> None:
        self.radius = radius
        self.allow_noun_verb = allow_noun_verb
        self.fine = fine
        self._tagger = tagger

    @property
    def tagger(self) -> PosTagger:
        if self._tagger is None:
            self._tagger = default_tagger()
        return self._tagger

    def agrees(self, original_tag: str, new_tag: str) -> bool:
        """Same universal tag (same Penn tag when `fine`), or a noun for a verb and back when allowed."""
        if self.fine:
            return original_tag == new_tag
        old, new = universal_pos(original_tag), universal_pos(new_tag)
        return old == new or (self.allow_noun_verb and {old, new} <= NOUN_VERB)

    def filter(self, candidates: Sequence[AttackedText], original: AttackedText) -> list[bool]:
        swaps = [
            [i for i in range(len(c)) if c.words[i] != original.words[i]] if len(c) == len(original) else []
            for c in candidates
        ]
        requests = [(text, i) for c, changed in zip(candidates, swaps) for i in changed for text in (original, c)]
        tags = iter(self.tagger.window_tags(requests, self.radius))
        verdicts = []
        for changed in swaps:
            pairs = [(next(tags), next(tags)) for _ in changed]
            verdicts.append(all(self.agrees(old, new) for old, new in pairs))
        return verdicts
