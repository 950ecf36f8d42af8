"""`embedding-swap`: the TextDefender profile of TextFooler (Li et al., "Searching for an Effective Defender", 2021).

Transformation and search from Jin, Jin, Zhou, Szolovits, AAAI 2020 (TextFooler); constraints from
TextDefender, so that numbers compare across recipes and with defence papers. Not the paper's recipe:
`textfooler` is (part of speech, calibrated thresholds, similarity against the previous text).
Components: untargeted goal; the 50 nearest neighbours with cosine >= 0.5 in counter-fitted vectors (built
here from GloVe-50d + WordNet, see attacks.counterfit; in this dense space nearly all 50 pass 0.5); greedy
search in word-importance order, importance = goal-score gain when the word is deleted; TextDefender's
constraints: no stopwords, no word changed twice, <= 30 % of words (rounded up, as TextAttack's
MaxModificationRate), MiniLM similarity >= 0.84 on a 15-word window against the original (TextFooler: USE
on a 15-word window), <= 50 x words queries. No part-of-speech check.
"""

from __future__ import annotations

from attacks.constraints import shared_constraints
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.search import GreedyWordImportance, Ranking
from attacks.transformations.embedding import CounterFittedSwap


@recipe("embedding-swap", paper="TextDefender profile (Li et al., 2021) of TextFooler (Jin et al., AAAI 2020)", resources=["glove", "wordnet", "minilm"])
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
