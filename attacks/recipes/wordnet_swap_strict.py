"""`wordnet-swap-strict`: `wordnet-swap` (TextDefender profile of PWWS) under the strict constraint profile.

Paper: Ren, Deng, He, Che, ACL 2019 (PWWS search); constraints of Morris, Lifland, Lanchantin, Ji, Qi,
"Reevaluating Adversarial Examples in Natural Language", Findings of EMNLP 2020, calibrated here. Components:
as `wordnet-swap` (WordNet synonyms of any sense, <= 50 per word, PWWS order, no stopwords, no word changed
twice, <= 30 % of words rounded up, <= 50 x words queries), with its encoder check replaced by the strict
profile (attacks.constraints.strict): counter-fitted cosine >= 0.5 per swap, the same Penn Treebank tag,
MiniLM cosine >= 0.84 on the 15-word window, in-context MiniLM word cosine >= 0.8 (the word-sense check), no
new Link Grammar errors, perplexity ratio <= 1.1 (thresholds and their calibration: that module and
benchmarks/strict_calibration.json).
"""

from __future__ import annotations

from attacks.constraints import MaxModificationRate, RepeatModification, StopwordModification
from attacks.constraints.strict import STRICT_RESOURCES, strict_constraints
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.search import GreedyWordImportance
from attacks.transformations.wordnet import WordNetSynonymSwap


@recipe("wordnet-swap-strict", paper="Morris et al., 2020 (strict profile) of wordnet-swap", resources=STRICT_RESOURCES)
def wordnet_swap_strict(max_candidates: int = 50, max_rate: float = 0.3, query_budget: float | None = 50) -> Attack:
    """WordNet synonym swaps in PWWS order, kept only when they pass the calibrated strict constraints."""
    constraints = [RepeatModification(), StopwordModification(), MaxModificationRate(max_rate), *strict_constraints()]
    return Attack(UntargetedClassification(), WordNetSynonymSwap(max_candidates), constraints,
                  GreedyWordImportance("pwws"), budget_per_word=query_budget)
