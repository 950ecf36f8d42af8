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
    m = metrics.recipe_metrics(records, "m", "a", seed=0)
    assert m["clean_accuracy"]["value"] == pytest.approx(0.8)
    assert m["accuracy_under_attack"]["value"] == pytest.approx(0.5)  # 5 failed / 10
    assert m["success_rate"]["value"] == pytest.approx(3 / 8)
    assert (m["succeeded"], m["failed"], m["skipped"]) == (3, 5, 2)
    assert m["queries_mean"] == pytest.approx(45.0)
    assert m["queries_median"] == pytest.approx(45.0)
    assert m["words_perturbed_pct"] == pytest.approx(20.0)  # successes only: 10, 20, 30 %
    assert m["seconds_per_example"] == pytest.approx(0.5)


def test_worst_case_is_the_union_over_recipes(records) -> None:
    worst = metrics.worst_case_metrics(records, "m", ["a", "b"], seed=0)
    assert worst["accuracy_under_attack"]["value"] == pytest.approx(0.4)  # e4..e7 survive both


def test_bootstrap_interval_is_seeded_and_brackets_the_value() -> None:
    flags = np.array([True] * 70 + [False] * 30)
    first = metrics.bootstrap_interval(flags, seed=1)
    assert first == metrics.bootstrap_interval(flags, seed=1)
    assert first != metrics.bootstrap_interval(flags, seed=2)
    low, high = first
    assert low < 0.7 < high
    assert 0.1 < high - low < 0.25  # about 2 x 1.96 x sqrt(0.21 / 100) = 0.18
    narrow = metrics.bootstrap_interval(np.repeat(flags, 10), seed=1)
    assert narrow[1] - narrow[0] < (high - low) / 2
    assert metrics.bootstrap_interval(np.array([]), seed=0) is None


def test_incomplete_runs_use_only_finished_examples(records) -> None:
    partial = [r for r in records if not (r["kind"] == "attack" and r["recipe"] == "a" and r["index"] >= 6)]
    m = metrics.recipe_metrics(partial, "m", "a", seed=0)
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
