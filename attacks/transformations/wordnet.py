"""WordNet synonym swaps (PWWS, Ren et al. ACL 2019).

- `WordNetSynonymSwap`: single-word lemmas sharing a synset with the word, of any part of speech and sense,
  written as WordNet lists them (TextAttack's WordSwapWordNet; the TextDefender-profile `wordnet-swap`).
- `PosWordNetSwap`: as the PWWS authors' code does, only synsets of the word's part of speech in its
  sentence (the sentence is tagged, the Penn tag mapped to WordNet's noun / verb / adjective / adverb; words
  whose tag has none, e.g. modals or particles, get no substitute), each lemma inflected to the word's form
  (plural nouns, verb tense and person, comparatives) or dropped when no such form is known; the word's own
  lemma is never a substitute (the authors' code drops it too).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from attacks.tagging import PosTagger, default_tagger, wordnet_pos
from attacks.text import AttackedText
from attacks.transformations import WordSwap
from attacks.transformations.inflection import inflect
from robust_eval.core import resources


class WordNetSynonymSwap(WordSwap):
    """Substitutes are single-word WordNet lemmas of the word's synsets, in synset order."""

    def __init__(self, max_candidates: int | None = 50) -> None:
        super().__init__(max_candidates)
        self.wordnet = resources.wordnet()
        self._synonyms = lru_cache(maxsize=100_000)(self._lookup)

    def substitutes(self, word: str) -> list[str]:
        return self._synonyms(word, None)

    def _lookup(self, word: str, pos: str | None) -> list[str]:
        """Lemmas of the synsets of `word` (of WordNet part of speech `pos`, any when None)."""
        found: dict[str, None] = {}
        for synset in self.wordnet.synsets(word, pos=pos):
            for lemma in synset.lemma_names():
                name = lemma.lower()
                if name != word and "_" not in name and "-" not in name and name.isalpha():
                    found[name] = None
        return list(found)


class PosWordNetSwap(WordNetSynonymSwap):
    """WordNet synonyms of the word's part of speech in context, inflected like the word (PWWS)."""

    def __init__(self, max_candidates: int | None = None, tagger: PosTagger | None = None) -> None:
        super().__init__(max_candidates)
        self.tagger = tagger or default_tagger()
        self._inflected = lru_cache(maxsize=100_000)(self._inflected_synonyms)

    def substitutes_in(self, text: AttackedText, indices: Sequence[int]) -> list[list[str]]:
        tags = self.tagger.word_tags([text])[0]
        return [self._inflected(text.words[index].lower(), tags[index]) for index in indices]

    def _inflected_synonyms(self, word: str, tag: str) -> list[str]:
        pos = wordnet_pos(tag)
        if pos is None:
            return []
        own_lemma = self.wordnet.morphy(word, pos)  # "digs" -> "dig": never offered again in another form
        forms: dict[str, None] = {}
        for lemma in self._synonyms(word, pos):
            if lemma == own_lemma:
                continue
            form = inflect(lemma, tag)
            if form is not None and form != word:
                forms[form] = None
        return list(forms)
