"""What a SEARs attack records per example, and the per-rule flip rates summed over many examples.

Ribeiro et al. (ACL 2018) define a rule's flip rate over the inputs it rewrites into a semantically
equivalent text: flips / equivalent applications. Each example's record therefore lists every rule that
applied with the equivalence verdict of its rewrite and whether that equivalent rewrite flipped the
prediction (`RuleApplication`), plus what the second stage (two rules at once) tried (`SearsDetails`).
The record lives under the key `DETAILS_KEY` of an attack result's `details`, as plain JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

DETAILS_KEY = "sears"
PAIR_JOIN = " + "


@dataclass(frozen=True)
class RuleApplication:
    """One rule applied alone to one example: was the rewrite equivalent, did it flip the prediction?

    `text` is the rewrite, kept only when it is an equivalent flip (to show as an example).
    """

    rule: str
    equivalent: bool
    flipped: bool
    text: str | None = None


@dataclass(frozen=True)
class SearsDetails:
    """A SEARs attack on one example: single-rule applications, then the pairs stage (when it ran)."""

    applications: list[RuleApplication] = field(default_factory=list)
    pairs_tried: int = 0
    pair_flips: list[str] = field(default_factory=list)  # equivalent flipping pairs, "rule + rule"

    @property
    def flipped(self) -> bool:
        """Did any single rule or pair give an equivalent flip?"""
        return any(a.flipped for a in self.applications) or bool(self.pair_flips)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SearsDetails":
        return cls(
            applications=[RuleApplication(**a) for a in data.get("applications", [])],
            pairs_tried=int(data.get("pairs_tried", 0)),
            pair_flips=list(data.get("pair_flips", [])),
        )

    @classmethod
    def of_result(cls, result: Mapping[str, Any]) -> "SearsDetails | None":
        """The details of an attack result record (a `to_dict()` form), None when it has none."""
        details = (result.get("details") or {}).get(DETAILS_KEY)
        return cls.from_dict(details) if details is not None else None


@dataclass(frozen=True)
class RuleFlipRate:
    """A rule over many examples: applications, equivalent ones, equivalent flips, flip rate, one example."""

    rule: str
    applications: int
    equivalent: int
    flips: int
    example: tuple[str, str] | None = None  # (original, equivalent flipping rewrite)

    @property
    def rate(self) -> float:
        """Flips over equivalent applications (0 when none was equivalent)."""
        return self.flips / self.equivalent if self.equivalent else 0.0


@dataclass(frozen=True)
class FlipRates:
    """Per-rule flip rates (most flips first) and the totals over the attacked examples."""

    rules: list[RuleFlipRate]
    attacked: int
    flipped_by_one_rule: int
    flipped_by_a_pair: int

    @property
    def flipped(self) -> int:
        return self.flipped_by_one_rule + self.flipped_by_a_pair

    @property
    def rate(self) -> float:
        """Examples with an equivalent flip over attacked (correctly predicted) examples."""
        return self.flipped / self.attacked if self.attacked else 0.0


def flip_rates(results: Iterable[Mapping[str, Any]]) -> FlipRates:
    """Sum the SEARs details of attack result records (`AttackResult.to_dict()` forms); skipped examples
    (already misclassified) and records without SEARs details are left out, as in the paper's rates."""
    counts: dict[str, list[int]] = {}
    examples: dict[str, tuple[str, str]] = {}
    attacked = by_one = by_pair = 0
    for result in results:
        details = SearsDetails.of_result(result)
        if result["status"] == "skipped" or details is None:
            continue
        attacked += 1
        single = any(a.flipped for a in details.applications)
        by_one += single
        by_pair += not single and bool(details.pair_flips)
        for application in details.applications:
            row = counts.setdefault(application.rule, [0, 0, 0])
            row[0] += 1
            row[1] += application.equivalent
            row[2] += application.flipped
            if application.flipped and application.text and application.rule not in examples:
                examples[application.rule] = (result["original_text"], application.text)
    rules = [RuleFlipRate(rule, n, eq, fl, examples.get(rule)) for rule, (n, eq, fl) in counts.items()]
    rules.sort(key=lambda r: (-r.flips, -r.rate, -r.equivalent, r.rule))
    return FlipRates(rules, attacked, by_one, by_pair)
