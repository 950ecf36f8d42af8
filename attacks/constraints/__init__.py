"""Constraints on candidate texts (see attacks.core for the two kinds)."""

from attacks.constraints.modification import MaxModificationRate, RepeatModification
from attacks.constraints.similarity import SentenceEncoder, SentenceSimilarity, minilm_encoder
from attacks.constraints.part_of_speech import PartOfSpeech
from attacks.constraints.stopwords import STOPWORDS, TEXTFOOLER_STOPWORDS, StopwordModification

__all__ = [
    "shared_constraints",
    "MaxModificationRate",
    "PartOfSpeech",
    "RepeatModification",
    "STOPWORDS",
    "SentenceEncoder",
    "SentenceSimilarity",
    "StopwordModification",
    "TEXTFOOLER_STOPWORDS",
    "minilm_encoder",
]


def shared_constraints(max_rate: float = 0.3, min_similarity: float | None = 0.84, window: int | None = 15,
                       lazy_similarity: bool = False) -> list:
    """TextDefender's shared swap constraints: no repeats, no stopwords, <= `max_rate` of words, encoder similarity.

    `min_similarity=None` drops the sentence-encoder check (e.g. to match TextAttack's PWWS exactly);
    `lazy_similarity` checks it only on the best candidates (fewer encoder calls, more victim queries).
    """
    constraints = [RepeatModification(), StopwordModification(), MaxModificationRate(max_rate)]
    if min_similarity is not None:
        constraints.append(SentenceSimilarity(min_similarity, window, lazy=lazy_similarity))
    return constraints
