"""Stopwords are never replaced (TextFooler, TextDefender): swapping function words breaks grammar cheaply."""

from __future__ import annotations

from typing import Iterable

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from attacks.core import PreTransformationConstraint
from attacks.text import AttackedText

# scikit-learn's 318 English stopwords plus contraction pieces and negation cues that tokenised corpora
# such as MR split off ("does n't" -> "n't"; "it 's" -> "s").
STOPWORDS: frozenset[str] = frozenset(ENGLISH_STOP_WORDS) | frozenset(
    "n't nt s t d ll m re ve don didn doesn isn wasn aren weren hasn haven hadn won wouldn couldn shouldn "
    "can't cannot ain't i'm it's that's there's what's let's".split()
)


class StopwordModification(PreTransformationConstraint):
    """Forbid modifying words (case-insensitively) in `stopwords`."""

    def __init__(self, stopwords: Iterable[str] = STOPWORDS) -> None:
        self.stopwords = frozenset(w.lower() for w in stopwords)

    def allowed(self, text: AttackedText) -> set[int]:
        return {i for i, word in enumerate(text.words) if word.lower() not in self.stopwords}
