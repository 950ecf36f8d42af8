"""Report sections of the rule and back-translation recipes, built from the attack records alone.

- Top SEARs: per recipe that records SEARs details and per checkpoint, the rules with the most equivalent
  flips: applications, equivalent applications, flips, flip rate (flips / equivalent applications, as
  Ribeiro et al. define it) and one flipping rewrite; with the examples flipped by one rule or by a pair.
- Back-translation filter: per recipe that records filter counts, the candidates the filter checked and
  rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from attacks.constraints.back_translation import FilterCounts
from attacks.sears.outcome import FlipRates, RuleFlipRate, flip_rates
from robust_eval.report import plots

TOP_RULES = 10


@dataclass(frozen=True)
class RuleTable:
    """The top rules of one recipe on one checkpoint."""

    checkpoint: str
    totals: FlipRates
    rows: list[RuleFlipRate]


@dataclass(frozen=True)
class RuleSection:
    """One recipe's rule tables (one per checkpoint) and a chart of its flips per rule over all checkpoints."""

    recipe: str
    tables: list[RuleTable]
    figure: str | None


@dataclass(frozen=True)
class FilterRow:
    """Back-translation filter counts of one recipe on one checkpoint, summed over its attacked examples."""

    checkpoint: str
    recipe: str
    examples: int
    checked: int
    rejected: int

    @property
    def rejected_share(self) -> float | None:
        return self.rejected / self.checked if self.checked else None


def _results(records: Sequence[Mapping[str, Any]], checkpoint: str, recipe: str) -> list[Mapping[str, Any]]:
    return [r["result"] for r in records
            if r["kind"] == "attack" and r["checkpoint"] == checkpoint and r["recipe"] == recipe]


def rule_sections(records: Sequence[Mapping[str, Any]], checkpoints: Sequence[str], recipes: Sequence[str],
                  top: int = TOP_RULES) -> list[RuleSection]:
    """The top-rules section of every recipe whose records hold SEARs details."""
    sections = []
    for recipe in recipes:
        tables = []
        totals: dict[str, int] = {}
        for checkpoint in checkpoints:
            rates = flip_rates(_results(records, checkpoint, recipe))
            if not rates.attacked or not rates.rules:
                continue
            tables.append(RuleTable(checkpoint, rates, rates.rules[:top]))
            for row in rates.rules:
                totals[row.rule] = totals.get(row.rule, 0) + row.flips
        if tables:
            ranked = dict(sorted(((k, v) for k, v in totals.items() if v), key=lambda item: (-item[1], item[0])))
            figure = plots.rule_flips(ranked, f"{recipe}: equivalent flips per rule (all checkpoints)")
            sections.append(RuleSection(recipe, tables, figure))
    return sections


def filter_rows(records: Sequence[Mapping[str, Any]], checkpoints: Sequence[str], recipes: Sequence[str]) -> list[FilterRow]:
    """Back-translation filter counts per checkpoint and recipe (only those that record them)."""
    rows = []
    for checkpoint in checkpoints:
        for recipe in recipes:
            counts = [c for r in _results(records, checkpoint, recipe) if (c := FilterCounts.of_result(r)) is not None]
            if counts:
                rows.append(FilterRow(checkpoint, recipe, len(counts), sum(c.checked for c in counts),
                                      sum(c.rejected for c in counts)))
    return rows
