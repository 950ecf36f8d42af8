"""WordNet synonym swaps (PWWS, Ren et al. ACL 2019): lemmas sharing a synset with the word, any POS."""

from __future__ import annotations

from functools import lru_cache

from attacks.transformations import WordSwap
from robust_eval.core import resources


class WordNetSynonymSwap(WordSwap):
    """Substitutes are single-word WordNet lemmas of the word's synsets, in synset order."""

    def __init__(self, max_candidates: int = 50) -> None:
        super().__init__(max_candidates)
        self.wordnet = resources.wordnet()
        self._synonyms = lru_cache(maxsize=100_000)(self._lookup)

    def substitutes(self, word: str) -> list[str]:
        return self._synonyms(word)

    def _lookup(self, word: str) -> list[str]:
        found: dict[str, None] = {}
        for synset in self.wordnet.synsets(word):
            for lemma in synset.lemma_names():
                name = lemma.lower()
                if name != word and "_" not in name and "-" not in name and name.isalpha():
                    found[name] = None
        return list(found)
