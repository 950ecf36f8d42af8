"""`textfooler-strict`: `textfooler` (Jin et al., AAAI 2020, the paper's recipe) under the strict profile.

Constraints of Morris et al., "Reevaluating Adversarial Examples in Natural Language", Findings of EMNLP 2020
(their "TextFooler adjusted"), calibrated here. Components: as `textfooler` (counter-fitted neighbours with
the calibrated cosine, TextFooler's stopwords, no word changed twice, part of speech kept with noun/verb
exchange, MiniLM similarity against the text before each swap; deletion importance), plus the strict profile
(attacks.constraints.strict): counter-fitted cosine >= 0.5 per swap, the same Penn Treebank tag, MiniLM cosine
>= 0.84 on the 15-word window, in-context MiniLM word cosine >= 0.8 (the word-sense check), no new Link
Grammar errors, perplexity ratio <= 1.1 (calibration: benchmarks/strict_calibration.json).
"""

from __future__ import annotations

from attacks.constraints import RepeatModification, SentenceSimilarity, StopwordModification, TEXTFOOLER_STOPWORDS
from attacks.constraints.strict import STRICT_RESOURCES, strict_constraints
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.recipes.textfooler import CALIBRATED_MIN_COS, CALIBRATED_MIN_SIMILARITY
from attacks.registry import recipe
from attacks.search import GreedyWordImportance
from attacks.transformations.embedding import CounterFittedSwap


@recipe("textfooler-strict", paper="Morris et al., 2020 (strict profile) of TextFooler (Jin et al., AAAI 2020)",
        resources=STRICT_RESOURCES)
def textfooler_strict(max_candidates: int = 50, query_budget: float | None = None, vocab_size: int = 65_000) -> Attack:
    """TextFooler with its own constraints plus the calibrated strict constraints."""
    constraints = [
        RepeatModification(),
        StopwordModification(TEXTFOOLER_STOPWORDS),
        SentenceSimilarity(CALIBRATED_MIN_SIMILARITY, 15, compare_against_original=False, skip_short_texts=True),
        *strict_constraints(vocab_size=vocab_size),
    ]
    return Attack(UntargetedClassification(), CounterFittedSwap(max_candidates, CALIBRATED_MIN_COS, vocab_size),
                  constraints, GreedyWordImportance("delete"), budget_per_word=query_budget)
