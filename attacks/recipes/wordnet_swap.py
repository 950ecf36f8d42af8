"""`wordnet-swap`: WordNet synonym substitution in PWWS order.

Paper: Ren, Deng, He, Che. Generating Natural Language Adversarial Examples through Probability
Weighted Word Saliency. ACL 2019.
Components: untargeted goal; WordNet synonyms (single-word lemmas of the word's synsets, <= 50 per word);
PWWS ordering = softmax(word saliency with [UNK]) x best probability drop, then greedy swaps in that order;
constraints shared with TextDefender so numbers compare across recipes: no stopwords, no word changed
twice, <= 30 % of words, MiniLM similarity >= 0.84 on a 15-word window (checked before querying,
so query counts compare with TextAttack), <= 50 x words queries.
Use `min_similarity=none max_rate=1.0` to reproduce TextAttack's PWWS (stopwords and repeats only).
"""

from __future__ import annotations

from attacks.constraints import shared_constraints
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.search import GreedyWordImportance, Ranking
from attacks.transformations.wordnet import WordNetSynonymSwap


@recipe("wordnet-swap", paper="Ren et al., ACL 2019 (PWWS)", resources=["wordnet", "minilm"])
def wordnet_swap(
    max_candidates: int = 50,
    max_rate: float = 0.3,
    min_similarity: float | None = 0.84,
    window: int | None = 15,
    lazy_similarity: bool = False,
    ranking: Ranking = "pwws",
    query_budget: float | None = 50,
) -> Attack:
    """WordNet synonym swaps ordered by probability-weighted word saliency (PWWS)."""
    return Attack(
        UntargetedClassification(),
        WordNetSynonymSwap(max_candidates),
        shared_constraints(max_rate, min_similarity, window, lazy_similarity),
        GreedyWordImportance(ranking),
        budget_per_word=query_budget,
    )
