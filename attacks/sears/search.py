"""The SEARs search: every applicable rule rewrites the original once (Ribeiro et al., ACL 2018, Section 4).

Each rewrite that flips the prediction and satisfies the equivalence constraints counts as a flip of its
rule; the attack succeeds with the most confident such rewrite. The result's details record the rules
that applied (`rules_applied`) and those that flipped (`rule_flips`), and `rule_flip_rates` sums them
over many results into per-rule and overall flip rates.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Mapping

from attacks.core import AttackContext, QueryBudgetExhausted, Scored, SearchMethod
from attacks.result import AttackResult


class OneRuleAtATime(SearchMethod):
    """Score every single-rule rewrite of the original in one batch; keep the best equivalent flip."""

    def search(self, context: AttackContext, start: Scored) -> Scored:
        candidates = context.transform(start.text)
        context.details["rules_applied"] = []
        context.details["rule_flips"] = {}
        if not candidates:
            return start
        try:
            scored = context.evaluate(candidates)
        except QueryBudgetExhausted:
            return start
        context.details["rules_applied"] = [s.text.history[-1] for s in scored]
        flipping = [[s] for s in scored if s.success]
        equivalent = [group[0] for group in context.best_per_group(flipping) if group]
        context.details["rule_flips"] = {s.text.history[-1]: 1 for s in equivalent}
        return max(equivalent, key=lambda s: s.score) if equivalent else start


def rule_flip_rates(results: Iterable[AttackResult | Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Per rule: `applied` (examples it applied to), `flips` and `rate`; key `"all"`: examples with a flip.

    Skipped examples (already misclassified) are not counted, as in the paper's flip rates.
    """
    applied: Counter = Counter()
    flips: Counter = Counter()
    attacked = flipped = 0
    for result in results:
        record = result.to_dict() if isinstance(result, AttackResult) else result
        if record["status"] == "skipped":
            continue
        details = record.get("details", {})
        attacked += 1
        flipped += bool(details.get("rule_flips"))
        applied.update(details.get("rules_applied", []))
        flips.update(details.get("rule_flips", {}))
    rates = {rule: {"applied": n, "flips": flips[rule], "rate": flips[rule] / n} for rule, n in applied.most_common()}
    rates["all"] = {"applied": attacked, "flips": flipped, "rate": flipped / attacked if attacked else 0.0}
    return rates
