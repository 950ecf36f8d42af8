"""Metrics over hand-written records whose values are known (TextAttack / TextDefender definitions)."""

from __future__ import annotations

import numpy as np
import pytest

from robust_eval import metrics


def clean(checkpoint: str, index: int, correct: bool) -> dict:
    return {"kind": "clean", "checkpoint": checkpoint, "recipe": "", "example_id": f"e{index}", "index": index,
            "label": 1, "prediction": 1 if correct else 0, "confidence": 0.9, "probabilities": [0.1, 0.9]}


def attack(checkpoint: str, recipe: str, index: int, status: str, queries: int, ratio: float = 0.0) -> dict:
    result = {"example_id": f"e{index}", "status": status, "queries": queries, "perturbed_word_ratio": ratio,
              "seconds": 0.5, "label": 1, "details": {}}
    return {"kind": "attack", "checkpoint": checkpoint, "recipe": recipe, "example_id": f"e{index}",
            "index": index, "result": result}


@pytest.fixture
def records() -> list[dict]:
    """10 examples: 8 correct. Recipe a: 3 successes (e0-e2), recipe b: 2 successes (e2, e3)."""
    rows = [clean("m", i, correct=i < 8) for i in range(10)]
    for i in range(8):
        rows.append(attack("m", "a", i, "succeeded" if i < 3 else "failed", queries=10 * (i + 1),
                           ratio=0.1 * (i + 1)))
        rows.append(attack("m", "b", i, "succeeded" if i in (2, 3) else "failed", queries=5,
                           ratio=0.2))
    return rows


def test_recipe_metrics_follow_the_definitions(records) -> None:
    m = metrics.recipe_metrics(records, "m", "a")
    assert m["clean_accuracy"]["value"] == pytest.approx(0.8)
    assert m["accuracy_under_attack"]["value"] == pytest.approx(0.5)  # 5 failed / 10
    assert m["success_rate"]["value"] == pytest.approx(3 / 8)
    assert (m["succeeded"], m["failed"], m["skipped"]) == (3, 5, 2)
    assert m["queries_mean"] == pytest.approx(45.0)
    assert m["queries_median"] == pytest.approx(45.0)
    assert m["words_perturbed_pct"] == pytest.approx(20.0)  # successes only: 10, 20, 30 %
    assert m["seconds_per_example"] == pytest.approx(0.5)


def test_worst_case_is_the_union_over_recipes(records) -> None:
    worst = metrics.worst_case_metrics(records, "m", ["a", "b"])
    assert worst["accuracy_under_attack"]["value"] == pytest.approx(0.4)  # e4..e7 survive both


def test_wilson_interval_matches_hand_computed_values() -> None:
    # 7 of 10, z = 1.959964: centre (0.7 + z^2/20) / (1 + z^2/10) = 0.644494, half-width 0.247715
    low, high = metrics.wilson_interval(7, 10)
    assert (low, high) == pytest.approx((0.396778, 0.892209), abs=1e-6)
    # 0 of 20: [0, (z^2/20) / (1 + z^2/20)] = [0, 0.161125], where a percentile bootstrap gives [0, 0]
    assert metrics.wilson_interval(0, 20) == pytest.approx((0.0, 0.161125), abs=1e-6)
    assert metrics.wilson_interval(20, 20) == pytest.approx((0.838875, 1.0), abs=1e-6)
    assert metrics.wilson_interval(0, 0) is None


def test_rates_carry_wilson_intervals(records) -> None:
    success = metrics.recipe_metrics(records, "m", "a")["success_rate"]
    assert success["ci95"] == pytest.approx(metrics.wilson_interval(3, 8))
    assert success["n"] == 8


def shifted(base: np.ndarray, k: int) -> np.ndarray:
    """`base` with its first k failures turned into successes."""
    out = base.copy()
    out[np.flatnonzero(out == 0)[:k]] = 1
    return out


def test_identical_models_differ_by_exactly_zero() -> None:
    base = (np.random.default_rng(0).random(300) < 0.6).astype(float)
    difference = metrics.paired_difference(base[None], base[None], seed=3)
    assert difference.estimate == 0.0
    assert difference.ci95 == (0.0, 0.0)
    assert difference.bootstrap == metrics.EXAMPLES_ONLY
    assert difference.seeds == (1, 1)


def test_a_shift_of_k_examples_is_k_over_n() -> None:
    base = (np.random.default_rng(1).random(400) < 0.5).astype(float)
    one = metrics.paired_difference(shifted(base, 12)[None], base[None], seed=0)
    assert one.estimate == pytest.approx(12 / 400)
    assert one.ci95[0] > 0  # 12 examples better, none worse: every resample is >= 0
    seeds = np.stack([shifted(base, k) for k in (10, 12, 14)])
    several = metrics.paired_difference(seeds, np.stack([base, base]), seed=0)
    assert several.estimate == pytest.approx(12 / 400)
    assert several.bootstrap == metrics.SEEDS_AND_EXAMPLES
    assert several.flipped().estimate == pytest.approx(-12 / 400)
    assert several.flipped().ci95 == (-several.ci95[1], -several.ci95[0])


def test_two_level_bootstrap_widens_with_seed_variance() -> None:
    rng = np.random.default_rng(2)
    base = (rng.random(500) < 0.5).astype(float)
    other = (rng.random(500) < 0.5).astype(float)
    steady = np.stack([base, base, base])
    varying = np.stack([shifted(base, 0), shifted(base, 40), shifted(base, 80)])  # same examples, seed effect
    varying -= shifted(base, 40).mean() - base.mean()  # keep the mean of steady
    narrow = metrics.paired_difference(steady, other[None], seed=5)
    wide = metrics.paired_difference(varying, other[None], seed=5)
    assert wide.estimate == pytest.approx(narrow.estimate)
    assert wide.ci95[1] - wide.ci95[0] > 1.3 * (narrow.ci95[1] - narrow.ci95[0])
    assert metrics.seed_group_interval(varying, seed=5)[1] - metrics.seed_group_interval(varying, seed=5)[0] > \
        metrics.seed_group_interval(steady, seed=5)[1] - metrics.seed_group_interval(steady, seed=5)[0]


def test_paired_difference_is_seeded_and_checks_shapes() -> None:
    rng = np.random.default_rng(3)
    first, second = (rng.random((3, 200)) < 0.5).astype(float), (rng.random((2, 200)) < 0.4).astype(float)
    assert metrics.paired_difference(first, second, seed=1) == metrics.paired_difference(first, second, seed=1)
    assert metrics.paired_difference(first, second, seed=1) != metrics.paired_difference(first, second, seed=2)
    with pytest.raises(ValueError, match="share no example axis"):
        metrics.paired_difference(first, second[:, :100], seed=1)
    assert metrics.paired_difference(first[:, :0], second[:, :0], seed=1) is None


def test_incomplete_runs_use_only_finished_examples(records) -> None:
    partial = [r for r in records if not (r["kind"] == "attack" and r["recipe"] == "a" and r["index"] >= 6)]
    m = metrics.recipe_metrics(partial, "m", "a")
    assert m["examples"] == 8  # 6 attacked + 2 originally wrong
    assert m["accuracy_under_attack"]["value"] == pytest.approx(3 / 8)


def test_success_curve_by_perturbation_budget(records) -> None:
    curve = metrics.success_curve(records, "m", "a", [0.0, 0.15, 0.3, 1.0])
    assert curve == pytest.approx([0.0, 1 / 8, 3 / 8, 3 / 8])


def test_seed_groups_give_mean_and_std(records) -> None:
    second = [dict(r, checkpoint="m2") for r in records if r["kind"] == "clean"]
    for r in records:
        if r["kind"] == "attack":
            status = "succeeded" if r["recipe"] == "a" and r["index"] < 5 else r["result"]["status"]
            second.append(dict(r, checkpoint="m2", result=dict(r["result"], status=status)))
    group = metrics.group_metrics(records + second, ["m", "m2"], ["a", "b"], seed=0)
    robust = group["recipes"]["a"]["accuracy_under_attack"]
    assert robust["mean"] == pytest.approx(0.4)  # 0.5 and 0.3
    assert robust["std"] == pytest.approx(np.std([0.5, 0.3], ddof=1))
    assert robust["ci95"][0] <= 0.4 <= robust["ci95"][1]
    assert group["clean_accuracy"]["mean"] == pytest.approx(0.8)
    assert group["clean_accuracy"]["std"] == pytest.approx(0.0)


def test_summary_is_independent_of_record_order(records) -> None:
    forward = metrics.summarize(records, ["m"], ["a", "b"], {}, seed=0)
    backward = metrics.summarize(records[::-1], ["m"], ["a", "b"], {}, seed=0)
    assert forward == backward
