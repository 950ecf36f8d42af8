"""`pwws-strict`: `pwws` (Ren et al., ACL 2019, the paper's recipe) under the strict constraint profile.

Constraints of Morris et al., "Reevaluating Adversarial Examples in Natural Language", Findings of EMNLP 2020,
calibrated here. Components: as `pwws` (WordNet synonyms of the tagged part of speech, inflected; PWWS order;
no stopwords, no word changed twice; no rate limit or query budget unless given), plus the strict profile
(attacks.constraints.strict): counter-fitted cosine >= 0.5 per swap, the same Penn Treebank tag, MiniLM cosine
>= 0.84 on the 15-word window, in-context MiniLM word cosine >= 0.8 (the word-sense check), no new Link
Grammar errors, perplexity ratio <= 1.1 (calibration: benchmarks/strict_calibration.json).
"""

from __future__ import annotations

from attacks.constraints import MaxModificationRate, RepeatModification, StopwordModification
from attacks.constraints.strict import STRICT_RESOURCES, strict_constraints
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.search import GreedyWordImportance
from attacks.transformations.wordnet import PosWordNetSwap


@recipe("pwws-strict", paper="Morris et al., 2020 (strict profile) of PWWS (Ren et al., ACL 2019)", resources=STRICT_RESOURCES)
def pwws_strict(max_candidates: int | None = None, max_rate: float | None = None,
                query_budget: float | None = None) -> Attack:
    """PWWS with the paper's constraints plus the calibrated strict constraints."""
    constraints = [RepeatModification(), StopwordModification()]
    if max_rate is not None:
        constraints.append(MaxModificationRate(max_rate))
    return Attack(UntargetedClassification(), PosWordNetSwap(max_candidates), [*constraints, *strict_constraints()],
                  GreedyWordImportance("pwws"), budget_per_word=query_budget)
