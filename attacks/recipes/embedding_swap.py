"""`embedding-swap`: TextFooler-style substitution with counter-fitted embedding neighbours.

Paper: Jin, Jin, Zhou, Szolovits. Is BERT Really Robust? A Strong Baseline for Natural Language Attack
on Text Classification and Entailment. AAAI 2020.
Components: untargeted goal; the 50 nearest neighbours with cosine >= 0.5 in counter-fitted vectors
(built here from GloVe-50d + WordNet, see attacks.counterfit: raw GloVe would offer antonyms such as
good -> bad); greedy search in word-importance order, importance = goal-score gain when the word is
deleted; TextDefender's shared constraints: no stopwords, no word changed twice, <= 30 % of words,
MiniLM similarity >= 0.84 on a 15-word window (TextFooler: USE on a 15-word window), <= 50 x words queries.
"""

from __future__ import annotations

from attacks.constraints import shared_constraints
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.search import GreedyWordImportance, Ranking
from attacks.transformations.embedding import CounterFittedSwap


@recipe("embedding-swap", paper="Jin et al., AAAI 2020 (TextFooler)", resources=["glove", "wordnet", "minilm"])
def embedding_swap(
    max_candidates: int = 50,
    min_cos: float = 0.5,
    max_rate: float = 0.3,
    min_similarity: float | None = 0.84,
    window: int | None = 15,
    lazy_similarity: bool = False,
    ranking: Ranking = "delete",
    query_budget: float | None = 50,
    vocab_size: int = 65_000,
) -> Attack:
    """Counter-fitted nearest-neighbour swaps in deletion-importance order (TextFooler)."""
    return Attack(
        UntargetedClassification(),
        CounterFittedSwap(max_candidates, min_cos, vocab_size),
        shared_constraints(max_rate, min_similarity, window, lazy_similarity),
        GreedyWordImportance(ranking),
        budget_per_word=query_budget,
    )
