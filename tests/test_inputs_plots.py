"""Report figures with many checkpoints: fixed width, seed groups drawn as one entry, a legend on every figure."""

from __future__ import annotations

import base64
import io

import pytest
from matplotlib.image import imread

from robust_eval.report import plots
from robust_eval.report.summary import build_summary

RECIPES = ["swap", "rules"]


def records_and_run(methods: int, seeds: int, grouped: bool) -> tuple[list[dict], dict]:
    checkpoints, records = [], []
    for m in range(methods):
        for s in range(seeds):
            name = f"method{m}-seed{s}"
            checkpoints.append({"name": name, "sha256": name, "seed": s, "group": f"method{m}" if grouped else None,
                                "label_names": ["neg", "pos"]})
            for i in range(20):
                correct = (i + m + s) % 5 != 0
                records.append({"kind": "clean", "checkpoint": name, "recipe": "", "example_id": f"e{i}", "index": i,
                                "label": 1, "prediction": int(correct), "confidence": 0.8, "probabilities": [0.2, 0.8]})
                for r, recipe in enumerate(RECIPES):
                    if correct:
                        success = (i + m + r) % 3 == 0
                        records.append({"kind": "attack", "checkpoint": name, "recipe": recipe, "example_id": f"e{i}", "index": i,
                                        "result": {"status": "succeeded" if success else "failed", "queries": 10 + i,
                                                   "perturbed_word_ratio": 0.05 * (1 + i % 4), "seconds": 0.1, "details": {}}})
    config = {"format": 1, "seed": 0, "checkpoints": checkpoints, "recipes": [{"name": r, "params": {}} for r in RECIPES],
              "data": {"name": "d", "examples": 20, "limit": None, "label_names": ["neg", "pos"], "sha256": "0"}}
    return records, {"config": config, "environment": {}}


def width_and_height(encoded: str) -> tuple[int, int]:
    pixels = imread(io.BytesIO(base64.b64decode(encoded)))
    return pixels.shape[1], pixels.shape[0]


def test_seed_groups_are_one_entry_and_the_width_is_fixed() -> None:
    few_records, few_run = records_and_run(2, 1, grouped=False)
    many_records, many_run = records_and_run(5, 3, grouped=True)
    few, many = build_summary(few_run, few_records), build_summary(many_run, many_records)
    assert [e.label for e in plots.entries(many)] == [f"method{m} (3 seeds)" for m in range(5)]
    assert [e.label for e in plots.entries(few)] == ["method0-seed0", "method1-seed0"]
    widths = {width_and_height(plots.accuracy_bars(s))[0] for s in (few, many)}
    widths |= {width_and_height(plots.success_vs_budget(r, [c["name"] for c in run["config"]["checkpoints"]], RECIPES, s))[0]
               for r, run, s in ((few_records, few_run, few), (many_records, many_run, many))}
    assert max(widths) - min(widths) < 40 and max(widths) <= 1400
    ungrouped_records, ungrouped_run = records_and_run(5, 3, grouped=False)
    tall = build_summary(ungrouped_run, ungrouped_records)
    width, height = width_and_height(plots.accuracy_bars(tall))
    assert width <= 1400 and height < 900  # 15 rows


@pytest.mark.parametrize("grouped", [True, False])
def test_every_figure_has_a_legend(monkeypatch: pytest.MonkeyPatch, grouped: bool) -> None:
    figures = []
    monkeypatch.setattr(plots, "to_png", lambda figure: figures.append(figure) or "png")
    records, run = records_and_run(3, 2, grouped)
    summary = build_summary(run, records)
    names = [c["name"] for c in run["config"]["checkpoints"]]
    plots.accuracy_bars(summary)
    plots.success_vs_budget(records, names, RECIPES, summary)
    plots.query_histogram(records, RECIPES)
    plots.rule_flips({"a -> b": 3, "c -> d": 1}, "flips")
    assert len(figures) == 4
    for figure in figures:
        assert figure.legends or any(axes.get_legend() for axes in figure.axes), figure


def test_budget_curves_of_skipped_attacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A recipe whose attacks were all skipped (per-example limits) draws no curve; the legend takes its
    entries from every panel, and with no curve at all there is no figure."""
    figures = []
    monkeypatch.setattr(plots, "to_png", lambda figure: figures.append(figure) or "png")
    records, run = records_and_run(2, 1, grouped=False)
    names = [c["name"] for c in run["config"]["checkpoints"]]
    attacks = [r for r in records if r["kind"] == "attack"]
    for record in attacks:
        if record["recipe"] == "swap" or record["checkpoint"] == names[1]:
            record["result"]["status"] = "skipped"
    assert plots.success_vs_budget(records, names, RECIPES, build_summary(run, records)) == "png"
    assert [text.get_text() for text in figures[0].legends[0].get_texts()] == [names[0]]
    for record in attacks:
        record["result"]["status"] = "skipped"
    assert plots.success_vs_budget(records, names, RECIPES, build_summary(run, records)) is None
