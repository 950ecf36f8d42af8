"""`sears`: semantically equivalent adversarial rules.

Paper: Ribeiro, Singh, Guestrin. Semantically Equivalent Adversarial Rules for Debugging NLP Models. ACL 2018.
Components: untargeted goal; rewrite rules (built-in: the paper's kinds, or a rules file mined with
`robust-eval sears mine`) applied one at a time to the original; a rewrite counts only if it stays
semantically equivalent; success when a rewrite flips the prediction. No stopword or perturbation-rate
constraint: rules rewrite function words by design ("What is" -> "What's", "is" -> "was").
Equivalence (`equivalence`): "back-translation" (default; the paper scores equivalence through MT: here
cos(E(BT(x)), E(BT(x'))) >= the calibrated threshold, see attacks.constraints.back_translation),
"encoder" (MiniLM cosine of the whole texts >= `threshold`), or "none".
Per-rule flips are in each result's details (`rules_applied`, `rule_flips`; `attacks.sears.search.rule_flip_rates`).
"""

from __future__ import annotations

from typing import Literal

from attacks.constraints import SentenceSimilarity
from attacks.constraints.back_translation import DEFAULT_THRESHOLD, BackTranslationFilter
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.sears.rules import load_rules
from attacks.sears.search import OneRuleAtATime
from attacks.sears.transformation import RuleRewrite
from robust_eval.core.errors import RobustEvalError


@recipe("sears", paper="Ribeiro et al., ACL 2018 (SEARs)", resources=["wordnet", "apertium", "minilm"])
def sears(
    rules: str | None = None,
    top: int | None = None,
    equivalence: Literal["back-translation", "encoder", "none"] = "back-translation",
    threshold: float | None = None,
    query_budget: float | None = 50,
) -> Attack:
    """Semantically equivalent rewrite rules, one at a time; success when a rule flips the prediction."""
    if top is not None and top < 1:
        raise RobustEvalError(f"top must be a positive number of rules, got {top}")
    chosen = load_rules(rules)[:top]
    constraints = []
    if equivalence == "back-translation":
        constraints.append(BackTranslationFilter(DEFAULT_THRESHOLD if threshold is None else threshold))
    elif equivalence == "encoder":
        constraints.append(SentenceSimilarity(0.84 if threshold is None else threshold, window=None))
    return Attack(UntargetedClassification(), RuleRewrite(chosen), constraints, OneRuleAtATime(), budget_per_word=query_budget)
