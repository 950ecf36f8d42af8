"""`bt-filtered`: synonym swaps and rewrite rules kept only if they survive the back-translation filter.

Papers: Ribeiro, Singh, Guestrin, ACL 2018 (equivalence judged through back-translation); candidates
from Ren et al., ACL 2019 (WordNet synonyms) and the SEARs rules.
Components: untargeted goal; WordNet synonym swaps (<= 50 per word) plus rule rewrites (built-in rules or a
rules file); greedy beam search (width 1 = TextAttack's greedy search; it handles rules that change the
word count); constraints: no stopwords (a rule must start at a non-stopword, so "is -> was" is left to
`sears`), no word changed twice, <= 30 % of words, back-translation score
cos(E(BT(x)), E(BT(x'))) >= the calibrated threshold (Apertium eng <-> spa, MiniLM). The filter runs on
every candidate of a search step in one MT call, before the model is queried; <= 50 x words queries.
"""

from __future__ import annotations

from attacks.constraints import MaxModificationRate, RepeatModification, StopwordModification
from attacks.constraints.back_translation import DEFAULT_THRESHOLD, BackTranslationFilter
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.search import BeamSearch
from attacks.sears.rules import load_rules
from attacks.sears.transformation import RuleRewrite
from attacks.transformations import CompositeTransformation
from attacks.transformations.wordnet import WordNetSynonymSwap


@recipe("bt-filtered", paper="Ribeiro et al., ACL 2018 (back-translation equivalence)", resources=["wordnet", "apertium", "minilm"])
def bt_filtered(
    rules: str | None = None,
    max_candidates: int = 50,
    max_rate: float = 0.3,
    threshold: float = DEFAULT_THRESHOLD,
    beam_width: int = 1,
    query_budget: float | None = 50,
) -> Attack:
    """Synonym swaps and rule rewrites that keep their meaning through a back-translation round trip."""
    transformation = CompositeTransformation([WordNetSynonymSwap(max_candidates), RuleRewrite(load_rules(rules))])
    constraints = [
        RepeatModification(), StopwordModification(), MaxModificationRate(max_rate),
        BackTranslationFilter(threshold, lazy=False),
    ]
    return Attack(UntargetedClassification(), transformation, constraints, BeamSearch(beam_width), budget_per_word=query_budget)
