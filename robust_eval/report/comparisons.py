"""Paired comparisons of training methods: differences in clean accuracy, accuracy under each recipe and
worst-case accuracy, each with a 95 % interval from the two-level paired bootstrap of `metrics`.

A method is a seed group (checkpoints that differ only by training seed), or a checkpoint of its own; a
single-seed checkpoint named `NAME-seedS` is method `NAME`. Every method is compared with the baseline
(`vanilla` when there is one, else the first method, or the one asked for), and every pair of methods is
kept in `summary.json`. Temperature-scaled variants of a checkpoint are compared with it in
`robust_eval.report.calibrated`, not here.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any, Mapping, Sequence

import numpy as np

from robust_eval import metrics
from robust_eval.core.calibration import CALIBRATES
from robust_eval.core.errors import RobustEvalError

DEFAULT_BASELINE = "vanilla"
CLEAN = "clean"
WORST_CASE = "worst case"


@dataclass(frozen=True)
class Method:
    """A training method: its name and the checkpoints of its training seeds."""

    name: str
    checkpoints: tuple[str, ...]


@dataclass(frozen=True)
class Measure:
    """A rate compared between methods: clean accuracy (no recipe) or accuracy under a union of recipes."""

    name: str
    recipes: tuple[str, ...]
    field: str  # the `metrics.Outcomes` flag averaged


@dataclass(frozen=True)
class Comparison:
    """first - second under one measure."""

    first: str
    second: str
    measure: str
    difference: metrics.Difference

    def flipped(self) -> Comparison:
        return Comparison(self.second, self.first, self.measure, self.difference.flipped())


def stable_seed(seed: int, *parts: str) -> int:
    """A bootstrap seed fixed by the run seed and what is compared, whatever else the report holds."""
    digest = hashlib.sha256("\x1f".join([str(seed), *parts]).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little")


def run_methods(config: Mapping[str, Any]) -> list[Method]:
    """The run's methods in configuration order: seed groups, and each ungrouped checkpoint (named without
    its `-seedS` tail when that stays unique); temperature-scaled variants are left out."""
    entries = [e for e in config["checkpoints"] if CALIBRATES not in e]
    groups = {e["group"] for e in entries if e.get("group")}
    short = Counter(_without_seed(e["name"], e.get("seed")) for e in entries if not e.get("group"))

    def label(entry: Mapping[str, Any]) -> str:
        if entry.get("group"):
            return entry["group"]
        name = _without_seed(entry["name"], entry.get("seed"))
        return name if short[name] == 1 and name not in groups else entry["name"]

    members: dict[str, list[str]] = {}
    for entry in entries:
        members.setdefault(label(entry), []).append(entry["name"])
    return [Method(name, tuple(names)) for name, names in members.items()]


def _without_seed(name: str, seed: int | None) -> str:
    tail = f"-seed{seed}"
    return name[: -len(tail)] if seed is not None and name.endswith(tail) and len(name) > len(tail) else name


def choose_baseline(methods: Sequence[Method], requested: str | None, strict: bool) -> str:
    """The requested baseline if it is a method here, else `vanilla` if present, else the first method.
    With `strict`, a requested name that is no method is a one-line error."""
    names = [m.name for m in methods]
    if requested is not None and requested in names:
        return requested
    if requested is not None and strict:
        raise RobustEvalError(f"baseline '{requested}' is not a method of this run: choose from {', '.join(names)}")
    return DEFAULT_BASELINE if DEFAULT_BASELINE in names else names[0]


def measures(recipes: Sequence[str]) -> list[Measure]:
    """Clean accuracy, accuracy under each recipe, and the worst case when there are several recipes."""
    found = [Measure(CLEAN, (), "correct")] + [Measure(r, (r,), "robust") for r in recipes]
    return found + ([Measure(WORST_CASE, tuple(recipes), "robust")] if len(recipes) > 1 else [])


def outcome_table(
    records: Sequence[Mapping[str, Any]], checkpoints: Sequence[str], chosen: Sequence[Measure]
) -> dict[tuple[str, str], metrics.Outcomes]:
    """Outcomes of every checkpoint under every measure, computed once."""
    return {(c, m.name): metrics.outcomes(records, c, list(m.recipes)) for c in checkpoints for m in chosen}


def paired_matrices(
    table: Mapping[tuple[str, str], metrics.Outcomes], first: Sequence[str], second: Sequence[str],
    measure: Measure,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeds x examples outcome matrices of two sets of checkpoints on the examples all of them share."""
    rows = [table[(c, measure.name)] for c in [*first, *second]]
    matrix = metrics.shared_matrix(rows, measure.field)[1]
    return matrix[: len(first)], matrix[len(first):]


def method_comparisons(
    records: Sequence[Mapping[str, Any]], methods: Sequence[Method], recipes: Sequence[str], seed: int
) -> list[Comparison]:
    """Every pair of methods under every measure, as later - earlier in method order."""
    chosen = measures(recipes)
    table = outcome_table(records, [c for m in methods for c in m.checkpoints], chosen)
    found = []
    for earlier, later in combinations(methods, 2):
        for measure in chosen:
            difference = metrics.paired_difference(
                *paired_matrices(table, later.checkpoints, earlier.checkpoints, measure),
                stable_seed(seed, later.name, earlier.name, measure.name),
            )
            if difference is not None:
                found.append(Comparison(later.name, earlier.name, measure.name, difference))
    return found


def against(baseline: str, pairs: Sequence[Comparison]) -> list[Comparison]:
    """The comparisons with the baseline, each as method - baseline."""
    return [p if p.second == baseline else p.flipped() for p in pairs if baseline in (p.first, p.second)]


def comparisons_summary(
    records: Sequence[Mapping[str, Any]], config: Mapping[str, Any], requested_baseline: str | None,
    strict: bool,
) -> dict[str, Any] | None:
    """The `comparisons` section of summary.json (None with fewer than two methods)."""
    methods = run_methods(config)
    if len(methods) < 2:
        return None
    baseline = choose_baseline(methods, requested_baseline, strict)
    recipes = [r["name"] for r in config["recipes"]]
    pairs = method_comparisons(records, methods, recipes, config["seed"])
    return {
        "baseline": baseline,
        "bootstrap": {"resamples": metrics.BOOTSTRAP_RESAMPLES, "confidence": metrics.CONFIDENCE,
                      "seed": config["seed"]},
        "measures": [m.name for m in measures(recipes)],
        "methods": [asdict(m) for m in methods],
        "against_baseline": [asdict(c) for c in against(baseline, pairs)],
        "pairs": [asdict(c) for c in pairs],
    }


def without_baseline(comparisons: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The pairs of a `comparisons` section that do not involve its baseline."""
    baseline = comparisons["baseline"]
    return [p for p in comparisons["pairs"] if baseline not in (p["first"], p["second"])]


def points(difference: Mapping[str, Any] | None) -> str:
    """`+6.3 [4.3, 8.4]`: a difference of rates in percentage points with its interval, `-` when undefined."""
    if difference is None:
        return "-"
    low, high = (_tenths(x) for x in difference["ci95"])
    return f"{_tenths(difference['estimate']):+.1f} [{low:.1f}, {high:.1f}]"


def _tenths(rate: float) -> float:
    """A rate in percentage points rounded to 0.1, without a negative zero."""
    return round(100 * rate, 1) + 0.0


def comparison_rows(comparisons: Sequence[Mapping[str, Any]], measure_names: Sequence[str]) -> list[dict[str, Any]]:
    """Table rows, one per (first, second) in order: the difference under each measure (None where undefined)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for comparison in comparisons:
        key = (comparison["first"], comparison["second"])
        row = rows.setdefault(key, {"first": key[0], "second": key[1], "seeds": None, "bootstrap": None,
                                    "cells": dict.fromkeys(measure_names)})
        row["cells"][comparison["measure"]] = comparison["difference"]
        row["seeds"] = comparison["difference"]["seeds"]
        row["bootstrap"] = comparison["difference"]["bootstrap"]
    return list(rows.values())


def excludes_zero(difference: Mapping[str, Any] | None) -> bool:
    """Whether a difference's interval lies wholly above or below 0."""
    return difference is not None and (difference["ci95"][0] > 0 or difference["ci95"][1] < 0)
