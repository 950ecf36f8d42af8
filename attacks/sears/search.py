"""The SEARs search: every applicable rule alone, then two rules at once (Ribeiro et al., ACL 2018, Section 3).

Stage 1 rewrites the original once per applicable rule, checks every rewrite for semantic equivalence (one
batched call of the equivalence constraint) and queries the model on the equivalent ones: each application
is recorded with its verdict and whether it flipped the prediction, so per-rule flip rates are flips over
equivalent applications as in the paper. Stage 2 runs only when no single rule flipped: every pair of
rules whose rewrites were equivalent alone and whose matches share no token is applied at once; the model
scores the pairs first and the flipping ones are checked for equivalence. The attack succeeds with the
most confident equivalent flip. What happened is stored as `attacks.sears.outcome.SearsDetails`, and the
back-translation filter's counts as `FilterCounts`.
"""

from __future__ import annotations

from typing import Sequence

from attacks.constraints.back_translation import COUNTS_KEY, BackTranslationFilter
from attacks.core import AttackContext, Constraint, QueryBudgetExhausted, Scored, SearchMethod
from attacks.sears.outcome import DETAILS_KEY, PAIR_JOIN, RuleApplication, SearsDetails
from attacks.sears.transformation import RuleRewrite
from attacks.text import AttackedText


class RulesAloneThenPairs(SearchMethod):
    """Single-rule rewrites of the original, then non-overlapping pairs of rules (`pairs=False`: singles only).

    The search applies `equivalence` itself (it records every verdict), so the constraint is not one of the
    attack's constraints.
    """

    def __init__(self, rewrite: RuleRewrite, equivalence: Constraint | None, pairs: bool = True) -> None:
        self.rewrite = rewrite
        self.equivalence = equivalence
        self.pairs = pairs

    def search(self, context: AttackContext, start: Scored) -> Scored:
        if self.equivalence is not None:
            self.equivalence.reset()  # the search, not the engine, owns this constraint
        try:
            return self._search(context, start)
        finally:
            if isinstance(self.equivalence, BackTranslationFilter):
                context.details[COUNTS_KEY] = self.equivalence.take_counts(context.original).to_dict()

    def _search(self, context: AttackContext, start: Scored) -> Scored:
        singles = context.transform(start.text)
        verdicts = self._equivalent(singles, context.original)
        equivalent = [c for c, ok in zip(singles, verdicts) if ok]
        try:
            scored = {s.text.text: s for s in context.evaluate(equivalent)} if equivalent else {}
        except QueryBudgetExhausted:
            scored = {}
        applications = []
        for candidate, ok in zip(singles, verdicts):
            result = scored.get(candidate.text)
            flipped = bool(ok and result is not None and result.success)
            applications.append(RuleApplication(candidate.history[-1], ok, flipped, candidate.text if flipped else None))
        details = SearsDetails(applications)
        flips = [scored[c.text] for c in equivalent if c.text in scored and scored[c.text].success]
        if not flips and self.pairs and not context.exhausted:
            rules = [c.history[-1] for c in equivalent if c.text in scored]
            pair_flips, tried = self._pairs(context, start.text, rules)
            details = SearsDetails(applications, tried, [s.text.history[-1] for s in pair_flips])
            flips = pair_flips
        context.details[DETAILS_KEY] = details.to_dict()
        return max(flips, key=lambda s: s.score) if flips else start

    def _pairs(self, context: AttackContext, text: AttackedText, rules: Sequence[str]) -> tuple[list[Scored], int]:
        """Equivalent flips among the pairs of `rules`, and how many pairs the model scored."""
        candidates = self.rewrite.pairs(text, context.allowed_indices(text), rules)
        try:
            scored = context.evaluate(candidates) if candidates else []
        except QueryBudgetExhausted:
            return [], 0
        flipping = [s for s in scored if s.success]
        verdicts = self._equivalent([s.text for s in flipping], context.original)
        return [s for s, ok in zip(flipping, verdicts) if ok], len(scored)

    def _equivalent(self, candidates: Sequence[AttackedText], original: AttackedText) -> list[bool]:
        if self.equivalence is None or not candidates:
            return [True] * len(candidates)
        return self.equivalence.filter(candidates, original)

