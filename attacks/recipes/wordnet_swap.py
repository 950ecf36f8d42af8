"""`wordnet-swap`: the TextDefender profile of PWWS (Li et al., "Searching for an Effective Defender", 2021).

Search from Ren, Deng, He, Che, ACL 2019 (PWWS); constraints from TextDefender, so that numbers compare across
recipes and with defence papers. Not the paper's recipe: `pwws` is.
Components: untargeted goal; WordNet synonyms of any part of speech and sense, not inflected (single-word
lemmas of the word's synsets, <= 50 per word, as TextAttack's WordSwapWordNet); PWWS ordering =
softmax(word saliency with [UNK]) x best probability drop, then greedy swaps in that order; TextDefender's
constraints: no stopwords, no word changed twice, <= 30 % of words (rounded up, as TextAttack's
MaxModificationRate: 2 of 5 words), MiniLM similarity >= 0.84 on a 15-word window against the original
(checked before querying, so query counts compare with TextAttack), <= 50 x words queries.
Use `min_similarity=none max_rate=1.0` to reproduce TextAttack's PWWS (stopwords and repeats only).
"""

from __future__ import annotations

from attacks.constraints import shared_constraints
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.search import GreedyWordImportance, Ranking
from attacks.transformations.wordnet import WordNetSynonymSwap


@recipe("wordnet-swap", paper="TextDefender profile (Li et al., 2021) of PWWS (Ren et al., ACL 2019)", resources=["wordnet", "minilm"])
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
