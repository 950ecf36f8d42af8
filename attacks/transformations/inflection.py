"""Inflect a substitute's base form to the form of the word it replaces (lemminflect, Jiang 2019).

WordNet lists lemmas ("actor", "give", "good"); a swap for "actors", "gave" or "better" must be written
"thespians", "handed", "finer". `inflect(lemma, tag)` gives the form for a Penn Treebank tag: base-form tags
(NN, NNP, VB, VBP, JJ, RB) keep the lemma; the others come from lemminflect's dictionary of English forms.
Words it does not know get no invented form ("beneficial" has no "beneficialer"): the substitute is dropped.
"""

from __future__ import annotations

from functools import lru_cache

BASE_FORM_TAGS = frozenset({"NN", "NNP", "VB", "VBP", "JJ", "RB"})
INFLECTED_TAGS = frozenset({"NNS", "NNPS", "VBD", "VBG", "VBN", "VBZ", "JJR", "JJS", "RBR", "RBS"})


@lru_cache(maxsize=200_000)
def inflect(lemma: str, tag: str) -> str | None:
    """`lemma` inflected for the Penn tag `tag` (actor + NNS -> actors), or None when no such form is known."""
    if tag in BASE_FORM_TAGS:
        return lemma
    if tag not in INFLECTED_TAGS:
        return None
    from lemminflect import getInflection

    forms = getInflection(lemma, tag, inflect_oov=False)
    return forms[0] if forms else None
