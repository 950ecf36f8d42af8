"""`bt-filtered`: synonym swaps and rewrite rules kept only if they survive the back-translation filter.

Papers: Ribeiro, Singh, Guestrin, ACL 2018 (equivalence judged through back-translation); candidates
from Ren et al., ACL 2019 (WordNet synonyms) and the SEARs rules.
Components: untargeted goal; WordNet synonym swaps (<= 50 per word) plus rule rewrites (the mined rule set
by default, `rules="hand-written"` or a rules file); greedy beam search (width 1 = TextAttack's greedy
search; it handles rules that change the word count); constraints: no stopwords (a rule must start at a
non-stopword, so "is -> was" is left to `sears`), no word changed twice, <= 30 % of words, back-translation
score cos(E(BT(x)), E(BT(x'))) >= the calibrated threshold (Apertium eng <-> spa, MiniLM). The filter runs
on every candidate of a search step in one MT call, before the model is queried; <= 50 x words queries.
Each result records how many candidates the filter checked and rejected (`FilterCounts`, details key
`bt_filter`).
"""

from __future__ import annotations

from attacks.constraints import MaxModificationRate, RepeatModification, StopwordModification
from attacks.constraints.back_translation import COUNTS_KEY, DEFAULT_THRESHOLD, BackTranslationFilter
from attacks.core import Attack, AttackContext, Scored
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.search import BeamSearch
from attacks.sears.rules import load_rules
from attacks.sears.transformation import RuleRewrite
from attacks.transformations import CompositeTransformation
from attacks.transformations.wordnet import WordNetSynonymSwap


class BeamSearchRecordingRejections(BeamSearch):
    """Beam search that records the back-translation filter's counts for the example in the result's details."""

    def __init__(self, width: int, bt_filter: BackTranslationFilter) -> None:
        super().__init__(width)
        self.bt_filter = bt_filter

    def search(self, context: AttackContext, start: Scored) -> Scored:
        try:
            return super().search(context, start)
        finally:
            context.details[COUNTS_KEY] = self.bt_filter.take_counts(context.original).to_dict()


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
    bt_filter = BackTranslationFilter(threshold, lazy=False)
    constraints = [RepeatModification(), StopwordModification(), MaxModificationRate(max_rate), bt_filter]
    search = BeamSearchRecordingRejections(beam_width, bt_filter)
    return Attack(UntargetedClassification(), transformation, constraints, search, budget_per_word=query_budget)
