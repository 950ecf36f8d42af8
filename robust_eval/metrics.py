"""Robustness metrics as pure functions of the run's records.

Definitions follow TextAttack and TextDefender (Yoo et al. 2020; Li et al. 2021, "Searching for an Effective
Defender"), so numbers compare with theirs:

- clean accuracy = correct / all; originally misclassified examples are skipped, not attacked;
- accuracy under attack = failed attacks / all examples;
- attack success rate = succeeded / (succeeded + failed);
- queries (mean, median) and seconds per example over attacked examples; % words perturbed over successes;
- worst case = an example counts as robust only if every recipe failed on it (union of the attacks);
- 95 % intervals of one checkpoint's rates (a count of independent examples) by the Wilson score interval
  (Wilson 1927), which keeps its coverage near 0 and 1, where the percentile bootstrap collapses onto the
  observed value (0 successes give [0, 0]);
- 95 % intervals of a seed group's rate and of differences between checkpoints or methods by a seeded
  two-level percentile bootstrap (Efron & Tibshirani 1993; Davison & Hinkley 1997, sec. 3.8): resample each
  method's training seeds, then the examples, the same examples for both sides of a difference (paired on
  example ids). With one checkpoint on each side it is the paired bootstrap over examples.

While a run is incomplete, each metric uses the examples whose records it needs are all present, so a
finished run and a resumed one give the same numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

Record = Mapping[str, Any]
BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
SEEDS_AND_EXAMPLES = "seeds and examples"
EXAMPLES_ONLY = "examples"


@dataclass(frozen=True)
class Outcomes:
    """Per-example outcomes of one checkpoint under one recipe (or the union of several), aligned by id."""

    example_ids: list[str]
    correct: np.ndarray  # clean prediction right
    robust: np.ndarray  # right, and the attack failed
    attacked: np.ndarray  # attacked (succeeded or failed)
    succeeded: np.ndarray


def clean_records(records: Iterable[Record], checkpoint: str) -> dict[str, Record]:
    """The clean-prediction records of a checkpoint, by example id."""
    return {r["example_id"]: r for r in records if r["kind"] == "clean" and r["checkpoint"] == checkpoint}


def attack_records(records: Iterable[Record], checkpoint: str, recipe: str) -> dict[str, dict[str, Any]]:
    """The attack results (`AttackResult.to_dict()`) of a checkpoint under a recipe, by example id."""
    return {
        r["example_id"]: r["result"]
        for r in records
        if r["kind"] == "attack" and r["checkpoint"] == checkpoint and r["recipe"] == recipe
    }


def outcomes(records: Sequence[Record], checkpoint: str, recipes: Sequence[str]) -> Outcomes:
    """Outcomes under the union of `recipes` on every example whose needed records are all present."""
    clean = clean_records(records, checkpoint)
    results = [attack_records(records, checkpoint, recipe) for recipe in recipes]
    ids, correct, robust, attacked, succeeded = [], [], [], [], []
    for example_id, record in sorted(clean.items(), key=lambda item: (item[1].get("index", 0), item[0])):
        is_correct = record["prediction"] == record["label"]
        statuses = [by_id[example_id]["status"] for by_id in results if example_id in by_id]
        if is_correct and len(statuses) < len(results):
            continue
        ids.append(example_id)
        correct.append(is_correct)
        robust.append(is_correct and all(s == "failed" for s in statuses))
        attacked.append(is_correct and all(s in ("failed", "succeeded") for s in statuses))
        succeeded.append(is_correct and any(s == "succeeded" for s in statuses))
    flags = [np.asarray(values, dtype=bool) for values in (correct, robust, attacked, succeeded)]
    return Outcomes(ids, *flags)


def _mean(values: Sequence[float] | np.ndarray) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if len(values) else None


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Wilson score interval of the binomial proportion successes / n (None when n = 0)."""
    if n == 0:
        return None
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / n
    shrink = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / shrink
    half = z / shrink * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(flags: np.ndarray) -> dict[str, Any]:
    """A proportion of examples with its Wilson interval: {"value", "ci95", "n"}."""
    flags = np.asarray(flags, dtype=bool)
    return {"value": _mean(flags), "ci95": wilson_interval(int(flags.sum()), int(flags.size)), "n": int(flags.size)}


def recipe_metrics(records: Sequence[Record], checkpoint: str, recipe: str) -> dict[str, Any]:
    """All metrics of one checkpoint under one recipe."""
    out = outcomes(records, checkpoint, [recipe])
    attacked = out.correct & out.attacked
    results = attack_records(records, checkpoint, recipe)
    done = [results[i] for i, flag in zip(out.example_ids, attacked) if flag]
    successes = [r for r in done if r["status"] == "succeeded"]
    statuses = Counter(r["status"] for r in results.values())
    return {
        "examples": len(out.example_ids),
        "clean_accuracy": rate(out.correct),
        "accuracy_under_attack": rate(out.robust),
        "success_rate": rate(out.succeeded[attacked]),
        "succeeded": statuses["succeeded"],
        "failed": statuses["failed"],
        "skipped": int((~out.correct).sum()) + statuses["skipped"],
        "queries_mean": _mean([r["queries"] for r in done]),
        "queries_median": _median([r["queries"] for r in done]),
        "words_perturbed_pct": _mean([100.0 * r["perturbed_word_ratio"] for r in successes]),
        "seconds_per_example": _mean([r["seconds"] for r in done]),
    }


def worst_case_metrics(records: Sequence[Record], checkpoint: str, recipes: Sequence[str]) -> dict[str, Any]:
    """Accuracy under the union of all recipes: robust only if every recipe failed on the example."""
    out = outcomes(records, checkpoint, recipes)
    return {"examples": len(out.example_ids), "accuracy_under_attack": rate(out.robust)}


def success_curve(
    records: Sequence[Record], checkpoint: str, recipe: str, budgets: Sequence[float]
) -> list[float | None]:
    """Success rate when only perturbations of at most `budget` (fraction of words) count, per budget."""
    results = [r for r in attack_records(records, checkpoint, recipe).values() if r["status"] != "skipped"]
    if not results:
        return [None for _ in budgets]
    ratios = np.asarray(
        [r["perturbed_word_ratio"] if r["status"] == "succeeded" else np.inf for r in results], dtype=float
    )
    return [float((ratios <= budget + 1e-12).mean()) for budget in budgets]


def _spread(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value) of the defined values."""
    defined = [v for v in values if v is not None]
    if not defined:
        return {"mean": None, "std": None, "n": 0}
    std = float(np.std(defined, ddof=1)) if len(defined) > 1 else 0.0
    return {"mean": float(np.mean(defined)), "std": std, "n": len(defined)}


def shared_matrix(per_checkpoint: Sequence[Outcomes], field: str) -> tuple[list[str], np.ndarray]:
    """The example ids every checkpoint has, and the checkpoints x examples matrix of one outcome on them."""
    shared = set.intersection(*(set(o.example_ids) for o in per_checkpoint)) if per_checkpoint else set()
    ids = sorted(shared)
    rows = []
    for out in per_checkpoint:
        position = {example_id: i for i, example_id in enumerate(out.example_ids)}
        flags = getattr(out, field)
        rows.append([flags[position[i]] for i in ids])
    return ids, np.asarray(rows, dtype=float).reshape(len(per_checkpoint), len(ids))


def _seed_weights(rng: np.random.Generator, seeds: int, resamples: int) -> np.ndarray:
    """Resampled training seeds as weights: resamples x seeds, each row counts / seeds (sums to 1)."""
    drawn = rng.integers(0, seeds, size=(resamples, seeds))
    return (drawn[:, :, None] == np.arange(seeds)).sum(axis=1) / seeds


def _two_level_replicates(
    first: np.ndarray, second: np.ndarray | None, seed: int, resamples: int
) -> np.ndarray:
    """Bootstrap replicates of mean(first) - mean(second) (or of mean(first) alone): each replicate resamples
    the rows (training seeds) of each side, then the columns (examples), the same columns for both sides."""
    rng = np.random.default_rng(seed)
    per_example = _seed_weights(rng, first.shape[0], resamples) @ first
    if second is not None:
        per_example -= _seed_weights(rng, second.shape[0], resamples) @ second
    examples = rng.integers(0, first.shape[1], size=(resamples, first.shape[1]))
    return np.take_along_axis(per_example, examples, axis=1).mean(axis=1)


def _percentiles(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(replicates, [tail, 100.0 - tail])
    return float(low), float(high)


def seed_group_interval(
    matrix: np.ndarray, seed: int, resamples: int = BOOTSTRAP_RESAMPLES, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Two-level bootstrap interval of a seed group's rate from its checkpoints x examples outcome matrix."""
    if matrix.size == 0:
        return None
    return _percentiles(_two_level_replicates(matrix, None, seed, resamples), confidence)


@dataclass(frozen=True)
class Difference:
    """mean(first) - mean(second) over training seeds and shared examples, with its bootstrap interval."""

    estimate: float
    ci95: tuple[float, float]
    examples: int
    seeds: tuple[int, int]  # checkpoints on each side
    bootstrap: str  # SEEDS_AND_EXAMPLES, or EXAMPLES_ONLY when both sides have one checkpoint

    def flipped(self) -> Difference:
        """second - first: the same replicates negated."""
        low, high = self.ci95
        return Difference(-self.estimate, (-high, -low), self.examples, self.seeds[::-1], self.bootstrap)


def paired_difference(
    first: np.ndarray, second: np.ndarray, seed: int, resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> Difference | None:
    """Difference in a rate between two methods, from their seeds x examples outcome matrices over the same
    examples (same column order), with a two-level paired bootstrap interval; None without examples."""
    first, second = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if first.ndim != 2 or second.ndim != 2 or first.shape[1] != second.shape[1]:
        raise ValueError(f"outcome matrices of shapes {first.shape} and {second.shape} share no example axis")
    if first.shape[1] == 0 or not len(first) or not len(second):
        return None
    replicates = _two_level_replicates(first, second, seed, resamples)
    single = first.shape[0] == 1 and second.shape[0] == 1
    return Difference(
        float(first.mean() - second.mean()), _percentiles(replicates, confidence), int(first.shape[1]),
        (int(first.shape[0]), int(second.shape[0])), EXAMPLES_ONLY if single else SEEDS_AND_EXAMPLES,
    )


def group_metrics(
    records: Sequence[Record], checkpoints: Sequence[str], recipes: Sequence[str], seed: int
) -> dict[str, Any]:
    """Checkpoints that differ only by training seed: mean +- std of each rate, with a two-level interval
    (seeds, then the examples every checkpoint shares)."""

    def spread_with_interval(per_checkpoint: list[Outcomes], field: str) -> dict[str, Any]:
        values = [_mean(getattr(o, field)) for o in per_checkpoint]
        return _spread(values) | {"ci95": seed_group_interval(shared_matrix(per_checkpoint, field)[1], seed)}

    per_recipe = {}
    for recipe in recipes:
        metrics = [recipe_metrics(records, c, recipe) for c in checkpoints]
        robust = [outcomes(records, c, [recipe]) for c in checkpoints]
        per_recipe[recipe] = {
            "accuracy_under_attack": spread_with_interval(robust, "robust"),
            "success_rate": _spread([m["success_rate"]["value"] for m in metrics]),
        }
    return {
        "checkpoints": list(checkpoints),
        "clean_accuracy": spread_with_interval([outcomes(records, c, []) for c in checkpoints], "correct"),
        "recipes": per_recipe,
        "worst_case": spread_with_interval([outcomes(records, c, recipes) for c in checkpoints], "robust"),
    }


def summarize(
    records: Sequence[Record],
    checkpoints: Sequence[str],
    recipes: Sequence[str],
    groups: Mapping[str, Sequence[str]],
    seed: int,
) -> dict[str, Any]:
    """Every metric of a run: per checkpoint (per recipe and worst case) and per seed group."""
    per_checkpoint = {}
    for checkpoint in checkpoints:
        clean = outcomes(records, checkpoint, [])
        per_checkpoint[checkpoint] = {
            "examples": len(clean.example_ids),
            "clean_accuracy": rate(clean.correct),
            "recipes": {recipe: recipe_metrics(records, checkpoint, recipe) for recipe in recipes},
            "worst_case": worst_case_metrics(records, checkpoint, recipes),
        }
    return {
        "checkpoints": per_checkpoint,
        "groups": {name: group_metrics(records, members, recipes, seed) for name, members in groups.items()},
    }
