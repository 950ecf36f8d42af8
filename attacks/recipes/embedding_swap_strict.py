"""`embedding-swap-strict`: `embedding-swap` (TextDefender profile of TextFooler) under the strict profile.

Paper: Jin, Jin, Zhou, Szolovits, AAAI 2020 (TextFooler search); constraints of Morris et al., "Reevaluating
Adversarial Examples in Natural Language", Findings of EMNLP 2020, calibrated here. Components: as
`embedding-swap` (50 nearest counter-fitted neighbours with cosine >= 0.5, deletion importance, no stopwords,
no word changed twice, <= 30 % of words rounded up, <= 50 x words queries), with its encoder check replaced by
the strict profile (attacks.constraints.strict): counter-fitted cosine >= 0.5 per swap, the same Penn Treebank
tag, MiniLM cosine >= 0.84 on the 15-word window, in-context MiniLM word cosine >= 0.8 (the word-sense check),
no new Link Grammar errors, perplexity ratio <= 1.1 (calibration: benchmarks/strict_calibration.json).
"""

from __future__ import annotations

from attacks.constraints import MaxModificationRate, RepeatModification, StopwordModification
from attacks.constraints.strict import STRICT_RESOURCES, strict_constraints
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.search import GreedyWordImportance
from attacks.transformations.embedding import CounterFittedSwap


@recipe("embedding-swap-strict", paper="Morris et al., 2020 (strict profile) of embedding-swap", resources=STRICT_RESOURCES)
def embedding_swap_strict(max_candidates: int = 50, max_rate: float = 0.3, query_budget: float | None = 50,
                          vocab_size: int = 65_000) -> Attack:
    """Counter-fitted neighbour swaps by deletion importance, kept only when they pass the strict constraints."""
    constraints = [RepeatModification(), StopwordModification(), MaxModificationRate(max_rate),
                   *strict_constraints(vocab_size=vocab_size)]
    return Attack(UntargetedClassification(), CounterFittedSwap(max_candidates, 0.5, vocab_size), constraints,
                  GreedyWordImportance("delete"), budget_per_word=query_budget)
