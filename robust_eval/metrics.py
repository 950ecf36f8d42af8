"""Robustness metrics as pure functions of the run's records.

Definitions follow TextAttack and TextDefender (Yoo et al. 2020; Li et al. 2021, "Searching for an Effective
Defender"), so numbers compare with theirs:

- clean accuracy = correct / all; originally misclassified examples are skipped, not attacked;
- accuracy under attack = failed attacks / all examples;
- attack success rate = succeeded / (succeeded + failed);
- queries (mean, median) and seconds per example over attacked examples; % words perturbed over successes;
- worst case = an example counts as robust only if every recipe failed on it (union of the attacks);
- 95 % intervals by the percentile bootstrap over examples (Efron & Tibshirani 1993), seeded.

While a run is incomplete, each metric uses the examples whose records it needs are all present, so a
finished run and a resumed one give the same numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

Record = Mapping[str, Any]
BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95


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


def bootstrap_interval(
    values: np.ndarray, seed: int, resamples: int = BOOTSTRAP_RESAMPLES, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Percentile-bootstrap interval of the mean of `values` (None for an empty sample)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return None
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)


def _mean(values: Sequence[float] | np.ndarray) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if len(values) else None


def rate(flags: np.ndarray, seed: int) -> dict[str, Any]:
    """A proportion with its bootstrap interval: {"value", "ci95", "n"}."""
    return {"value": _mean(flags), "ci95": bootstrap_interval(flags, seed), "n": int(len(flags))}


def recipe_metrics(records: Sequence[Record], checkpoint: str, recipe: str, seed: int) -> dict[str, Any]:
    """All metrics of one checkpoint under one recipe."""
    out = outcomes(records, checkpoint, [recipe])
    attacked = out.correct & out.attacked
    results = attack_records(records, checkpoint, recipe)
    done = [results[i] for i, flag in zip(out.example_ids, attacked) if flag]
    successes = [r for r in done if r["status"] == "succeeded"]
    statuses = Counter(r["status"] for r in results.values())
    return {
        "examples": len(out.example_ids),
        "clean_accuracy": rate(out.correct, seed),
        "accuracy_under_attack": rate(out.robust, seed),
        "success_rate": rate(out.succeeded[attacked], seed),
        "succeeded": statuses["succeeded"],
        "failed": statuses["failed"],
        "skipped": int((~out.correct).sum()) + statuses["skipped"],
        "queries_mean": _mean([r["queries"] for r in done]),
        "queries_median": _median([r["queries"] for r in done]),
        "words_perturbed_pct": _mean([100.0 * r["perturbed_word_ratio"] for r in successes]),
        "seconds_per_example": _mean([r["seconds"] for r in done]),
    }


def worst_case_metrics(
    records: Sequence[Record], checkpoint: str, recipes: Sequence[str], seed: int
) -> dict[str, Any]:
    """Accuracy under the union of all recipes: robust only if every recipe failed on the example."""
    out = outcomes(records, checkpoint, recipes)
    return {"examples": len(out.example_ids), "accuracy_under_attack": rate(out.robust, seed)}


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


def pooled_interval(per_checkpoint: Sequence[Outcomes], field: str, seed: int) -> tuple[float, float] | None:
    """Bootstrap interval of the seed-averaged rate, resampling the examples every checkpoint shares."""
    shared = set.intersection(*(set(o.example_ids) for o in per_checkpoint)) if per_checkpoint else set()
    ids = sorted(shared)
    if not ids:
        return None
    columns = []
    for out in per_checkpoint:
        position = {example_id: i for i, example_id in enumerate(out.example_ids)}
        flags = getattr(out, field)
        columns.append([flags[position[i]] for i in ids])
    return bootstrap_interval(np.mean(np.asarray(columns, dtype=float), axis=0), seed)


def group_metrics(
    records: Sequence[Record], checkpoints: Sequence[str], recipes: Sequence[str], seed: int
) -> dict[str, Any]:
    """Checkpoints that differ only by training seed: mean +- std of each rate, with a pooled interval."""
    per_recipe = {}
    for recipe in recipes:
        metrics = [recipe_metrics(records, c, recipe, seed) for c in checkpoints]
        per_recipe[recipe] = {
            "accuracy_under_attack": _spread([m["accuracy_under_attack"]["value"] for m in metrics])
            | {"ci95": pooled_interval([outcomes(records, c, [recipe]) for c in checkpoints], "robust", seed)},
            "success_rate": _spread([m["success_rate"]["value"] for m in metrics]),
        }
    union = [outcomes(records, c, recipes) for c in checkpoints]
    clean = [outcomes(records, c, []) for c in checkpoints]
    return {
        "checkpoints": list(checkpoints),
        "clean_accuracy": _spread([_mean(o.correct) for o in clean])
        | {"ci95": pooled_interval(clean, "correct", seed)},
        "recipes": per_recipe,
        "worst_case": _spread([_mean(o.robust) for o in union]) | {"ci95": pooled_interval(union, "robust", seed)},
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
            "clean_accuracy": rate(clean.correct, seed),
            "recipes": {recipe: recipe_metrics(records, checkpoint, recipe, seed) for recipe in recipes},
            "worst_case": worst_case_metrics(records, checkpoint, recipes, seed),
        }
    return {
        "checkpoints": per_checkpoint,
        "groups": {name: group_metrics(records, members, recipes, seed) for name, members in groups.items()},
    }
