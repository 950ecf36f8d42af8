"""Report figures drawn with Matplotlib's Agg renderer (no display needed), returned as base64 PNG."""

from __future__ import annotations

import base64
import io
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from robust_eval import metrics

Record = Mapping[str, Any]
BUDGETS = np.linspace(0.0, 0.5, 51)
MAX_LEGEND = 12


def to_png(figure: Figure) -> str:
    """Encode a figure as a base64 PNG (no metadata, so identical inputs give identical bytes)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _value(rate: Mapping[str, Any]) -> tuple[float, float, float]:
    """A rate in percent with its distances to the interval ends (for error bars)."""
    value = rate["value"]
    if value is None:
        return np.nan, 0.0, 0.0
    low, high = rate["ci95"] or (value, value)
    return 100 * value, 100 * max(value - low, 0.0), 100 * max(high - value, 0.0)  # rounding can put an end past the value


def accuracy_bars(summary: Mapping[str, Any]) -> str | None:
    """Clean accuracy, accuracy under each recipe and worst case, per checkpoint, with 95 % intervals."""
    per_checkpoint = summary["metrics"]["checkpoints"]
    names = list(per_checkpoint)
    if not names:
        return None
    recipes = [r["name"] for r in summary["config"]["recipes"]]
    series = [("clean", [per_checkpoint[c]["clean_accuracy"] for c in names])]
    series += [(r, [per_checkpoint[c]["recipes"][r]["accuracy_under_attack"] for c in names]) for r in recipes]
    if len(recipes) > 1:
        series.append(("worst case", [per_checkpoint[c]["worst_case"]["accuracy_under_attack"] for c in names]))
    figure = Figure(figsize=(max(6.0, 1.2 * len(names) * len(series) / 3 + 3), 4.2))
    axes = figure.subplots()
    width = 0.8 / len(series)
    x = np.arange(len(names))
    for offset, (label, rates) in enumerate(series):
        values = np.array([_value(r) for r in rates])
        axes.bar(x + (offset - (len(series) - 1) / 2) * width, values[:, 0], width, yerr=values[:, 1:].T,
                 capsize=2, label=label)
    axes.set_xticks(x, names, rotation=20 if len(names) > 3 else 0, ha="right" if len(names) > 3 else "center")
    axes.set_ylabel("accuracy (%)")
    axes.set_ylim(0, 100)
    axes.set_title("Clean accuracy and accuracy under attack (95 % Wilson intervals)")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes.grid(axis="y", alpha=0.3)
    return to_png(figure)


def success_vs_budget(records: Sequence[Record], checkpoints: Sequence[str], recipes: Sequence[str]) -> str | None:
    """Success rate when only attacks perturbing at most a given fraction of words count, per recipe."""
    if not any(r["kind"] == "attack" for r in records):
        return None
    figure = Figure(figsize=(4.0 * len(recipes) + 1, 3.6))
    axes_list = np.atleast_1d(figure.subplots(1, len(recipes), sharey=True, squeeze=False)[0])
    for axes, recipe in zip(axes_list, recipes):
        for checkpoint in checkpoints:
            curve = metrics.success_curve(records, checkpoint, recipe, BUDGETS)
            if curve[0] is not None:
                axes.plot(100 * BUDGETS, [100 * v for v in curve], label=checkpoint, drawstyle="steps-post")
        axes.set_title(recipe)
        axes.set_xlabel("max % of words perturbed")
        axes.grid(alpha=0.3)
    axes_list[0].set_ylabel("attack success rate (%)")
    if len(checkpoints) <= MAX_LEGEND:
        axes_list[-1].legend(fontsize="x-small")
    return to_png(figure)


def query_histogram(records: Sequence[Record], recipes: Sequence[str]) -> str | None:
    """Distribution of model queries per attacked example, one outline per recipe (all checkpoints)."""
    queries = {
        recipe: [r["result"]["queries"] for r in records
                 if r["kind"] == "attack" and r["recipe"] == recipe and r["result"]["status"] != "skipped"]
        for recipe in recipes
    }
    pooled = [q for values in queries.values() for q in values]
    if not pooled:
        return None
    bins = np.histogram_bin_edges(pooled, bins=min(40, max(5, len(set(pooled)))))
    figure = Figure(figsize=(6.5, 3.6))
    axes = figure.subplots()
    for recipe, values in queries.items():
        if values:
            axes.hist(values, bins=bins, histtype="step", linewidth=1.5, label=f"{recipe} (median {np.median(values):g})")
    axes.set_xlabel("queries per attacked example")
    axes.set_ylabel("examples")
    axes.legend(fontsize="small")
    axes.grid(alpha=0.3)
    return to_png(figure)


def rule_flips(flips: Mapping[str, int], title: str, top: int = 15) -> str | None:
    """Horizontal bars: prediction flips per rewrite rule (most flipping rules first)."""
    if not flips:
        return None
    items = list(flips.items())[:top][::-1]
    figure = Figure(figsize=(6.5, 0.35 * len(items) + 1.2))
    axes = figure.subplots()
    axes.barh([rule for rule, _ in items], [count for _, count in items], color="#c0504d")
    axes.set_xlabel("prediction flips")
    axes.set_title(title)
    axes.grid(axis="x", alpha=0.3)
    return to_png(figure)
