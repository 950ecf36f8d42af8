"""Constraints on candidate texts (see attacks.core for the two kinds)."""

from attacks.constraints.modification import MaxModificationRate, RepeatModification
from attacks.constraints.similarity import SentenceEncoder, SentenceSimilarity, minilm_encoder
from attacks.constraints.stopwords import STOPWORDS, StopwordModification

__all__ = [
    "MaxModificationRate",
    "RepeatModification",
    "STOPWORDS",
    "SentenceEncoder",
    "SentenceSimilarity",
    "StopwordModification",
    "minilm_encoder",
]
