"""Part-of-speech tags for attacked texts: spaCy's small English tagger (resource `tagger`), batched and cached.

A span of an `AttackedText` is tagged as its words plus the punctuation between them ("it 's good ," keeps
its comma; an apostrophe glued to the next word stays with it, as in "'s"), and each word gets the Penn
Treebank tag of its token. Tags are cached per token sequence, so a sentence or a context window is tagged
once however often it is asked for. Candidate texts differ from their source in one word: tagging a short
window around that word (`window_tags`) is what makes a part-of-speech check cheap (TextFooler tags 4 words
either side; TextAttack's part-of-speech constraint caches its window tags the same way).

Mappings of a Penn tag: `wordnet_pos` (PWWS, Ren et al. 2019: nouns NN*, verbs VB*, adjectives JJ*, adverbs RB,
RBR, RBS; anything else, e.g. modals, particles or wh-adverbs, none) and `universal_pos` (the 12 universal tags of Petrov et al. 2012, mapped from Penn tags
as NLTK maps them, which is what TextFooler compares).
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Sequence

from attacks.text import AttackedText
from robust_eval.core import resources

CACHE_SIZE = 200_000
BATCH_SIZE = 256
APOSTROPHES = ("'", "’")

UNIVERSAL = {
    **dict.fromkeys(("NN", "NNS", "NNP", "NNPS"), "NOUN"),
    **dict.fromkeys(("VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "MD"), "VERB"),
    **dict.fromkeys(("JJ", "JJR", "JJS", "AFX"), "ADJ"),
    **dict.fromkeys(("RB", "RBR", "RBS", "WRB"), "ADV"),
    **dict.fromkeys(("PRP", "PRP$", "WP", "WP$", "EX"), "PRON"),
    **dict.fromkeys(("DT", "PDT", "WDT"), "DET"),
    **dict.fromkeys(("IN",), "ADP"),
    **dict.fromkeys(("CD",), "NUM"),
    **dict.fromkeys(("CC",), "CONJ"),
    **dict.fromkeys(("RP", "TO", "POS"), "PRT"),
    **dict.fromkeys((".", ",", ":", "``", "''", "-LRB-", "-RRB-", "HYPH", "NFP", "$", "#"), "."),
}
WORDNET = {
    **dict.fromkeys(("NN", "NNS", "NNP", "NNPS"), "n"),
    **dict.fromkeys(("VB", "VBD", "VBG", "VBN", "VBP", "VBZ"), "v"),
    **dict.fromkeys(("JJ", "JJR", "JJS"), "a"),
    **dict.fromkeys(("RB", "RBR", "RBS"), "r"),
}


def universal_pos(tag: str) -> str:
    """The universal tag of a Penn Treebank tag ("X" for foreign words, symbols and anything unknown)."""
    return UNIVERSAL.get(tag, "X")


def wordnet_pos(tag: str) -> str | None:
    """WordNet's part of speech for a Penn Treebank tag (n, v, a, r), or None when WordNet has none."""
    return WORDNET.get(tag)


def span_tokens(text: AttackedText, start: int, end: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Tokens of `text.words[start:end]` with the punctuation between them, and the token index of each word."""
    tokens: list[str] = []
    positions: list[int] = []
    for index in range(start, end):
        word = text.words[index]
        pieces = text.separators[index].split() if index > start else []
        if pieces and pieces[-1] in APOSTROPHES and not text.separators[index][-1].isspace():
            word = pieces.pop() + word
        tokens += pieces
        positions.append(len(tokens))
        tokens.append(word)
    trailing = text.separators[end].split() if end == len(text.words) else []
    return tuple(tokens + trailing), tuple(positions)


class PosTagger:
    """Penn Treebank tags of whole texts or of words in a context window, tagged in batches and cached."""

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self.cache_size = cache_size
        self._nlp = None
        self._cache: OrderedDict[tuple[str, ...], tuple[str, ...]] = OrderedDict()

    @property
    def nlp(self):
        if self._nlp is None:
            self._nlp = resources.spacy_tagger()
        return self._nlp

    def word_tags(self, texts: Sequence[AttackedText]) -> list[tuple[str, ...]]:
        """One tag per word of each text, each text tagged whole."""
        return self._span_tags([(text, 0, len(text)) for text in texts])

    def window_tags(self, requests: Sequence[tuple[AttackedText, int]], radius: int) -> list[str]:
        """The tag of `text.words[index]` for each `(text, index)`, tagging only `radius` words either side."""
        spans = [(text, max(0, index - radius), min(len(text), index + radius + 1)) for text, index in requests]
        tags = self._span_tags(spans)
        return [span[index - start] for span, (_, start, _), (_, index) in zip(tags, spans, requests)]

    def _span_tags(self, spans: Sequence[tuple[AttackedText, int, int]]) -> list[tuple[str, ...]]:
        tokenised = [span_tokens(text, start, end) for text, start, end in spans]
        self._tag_missing([tokens for tokens, _ in tokenised])
        return [tuple(self._cache[tokens][p] for p in positions) if positions else () for tokens, positions in tokenised]

    def _tag_missing(self, sequences: list[tuple[str, ...]]) -> None:
        missing = [tokens for tokens in dict.fromkeys(sequences) if tokens and tokens not in self._cache]
        if missing:
            from spacy.tokens import Doc

            docs = self.nlp.pipe((Doc(self.nlp.vocab, words=list(tokens)) for tokens in missing), batch_size=BATCH_SIZE)
            for tokens, doc in zip(missing, docs):
                self._cache[tokens] = tuple(token.tag_ for token in doc)
        for tokens in sequences:
            if tokens:
                self._cache.move_to_end(tokens)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)


@lru_cache(maxsize=1)
def default_tagger() -> PosTagger:
    """The process-wide tagger (its cache is shared by every recipe)."""
    return PosTagger()
