"""`sears`: semantically equivalent adversarial rules.

Paper: Ribeiro, Singh, Guestrin. Semantically Equivalent Adversarial Rules for Debugging NLP Models. ACL 2018.
Components: untargeted goal; rewrite rules: by default the rule set mined from MR by back-translation and
selected on MR dev (`rules="mined"`, `attacks/data/sears_rules_mined_mr_v1.json`, made by
`robust-eval sears mine`), or the paper's hand-written kinds (`rules="hand-written"`), or a rules file;
search: every applicable rule alone, then (`pairs=True`) every pair of rules whose matches share no token,
when no single rule flipped; a rewrite counts only if it is semantically equivalent; success when an
equivalent rewrite flips the prediction. No stopword or perturbation-rate constraint: rules rewrite
function words by design ("What is" -> "What's", "is" -> "was").
Equivalence (`equivalence`): "back-translation" (default; the paper scores equivalence through MT: here
cos(E(BT(x)), E(BT(x'))) >= the calibrated threshold, see attacks.constraints.back_translation),
"encoder" (MiniLM cosine of the whole texts >= `threshold`), or "none".
Differences from the paper: the paper's score is a neural paraphrase likelihood; pairs of rules are an
addition (the paper applies rules one at a time). Every single-rule application is recorded with its
equivalence verdict and flip (`attacks.sears.outcome`), so per-rule flip rates are flips over equivalent
applications, as the paper defines them.
"""

from __future__ import annotations

from typing import Literal

from attacks.constraints import SentenceSimilarity
from attacks.constraints.back_translation import DEFAULT_THRESHOLD, BackTranslationFilter
from attacks.core import Attack, Constraint
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.sears.rules import load_rules
from attacks.sears.search import RulesAloneThenPairs
from attacks.sears.transformation import RuleRewrite
from robust_eval.core.errors import RobustEvalError


@recipe("sears", paper="Ribeiro et al., ACL 2018 (SEARs)", resources=["wordnet", "apertium", "minilm"])
def sears(
    rules: str | None = None,
    top: int | None = None,
    pairs: bool = True,
    equivalence: Literal["back-translation", "encoder", "none"] = "back-translation",
    threshold: float | None = None,
    query_budget: float | None = 50,
) -> Attack:
    """Semantically equivalent rewrite rules, alone then in pairs; success when a rewrite flips the prediction."""
    if top is not None and top < 1:
        raise RobustEvalError(f"top must be a positive number of rules, got {top}")
    rewrite = RuleRewrite(load_rules(rules)[:top])
    check: Constraint | None = None
    if equivalence == "back-translation":
        check = BackTranslationFilter(DEFAULT_THRESHOLD if threshold is None else threshold)
    elif equivalence == "encoder":
        check = SentenceSimilarity(0.84 if threshold is None else threshold, window=None)
    return Attack(UntargetedClassification(), rewrite, [], RulesAloneThenPairs(rewrite, check, pairs), budget_per_word=query_budget)
