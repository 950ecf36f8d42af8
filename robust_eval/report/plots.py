"""Report figures drawn with Matplotlib's Agg renderer (no display needed), returned as base64 PNG.

Every figure has a fixed width and a legend; checkpoints that differ only by seed are drawn as one entry
(their mean, spread and pooled interval), so the figures stay readable with many checkpoints; the
per-checkpoint numbers are in the report's tables.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from robust_eval import metrics

Record = Mapping[str, Any]
BUDGETS = np.linspace(0.0, 0.5, 51)
FIGURE_WIDTH = 11.5  # inches: about 1,260 px at the PNG resolution, whatever the number of checkpoints
ROW_HEIGHT = 0.32
BUDGET_COLUMNS = 4
WORST = "worst case"
MIN_SPAN = 12.0  # percentage points


def to_png(figure: Figure) -> str:
    """Encode a figure as a base64 PNG (no metadata, so identical inputs give identical bytes)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass(frozen=True)
class Entry:
    """One row of the figures: a seed group (its checkpoints summarised) or a checkpoint of its own."""

    label: str
    members: tuple[str, ...]
    group: str | None


def entries(summary: Mapping[str, Any]) -> list[Entry]:
    """Seed groups first (in the run's order), then the checkpoints that belong to no group."""
    groups = summary["metrics"]["groups"]
    grouped = {c for g in groups.values() for c in g["checkpoints"]}
    rows = [Entry(f"{name} ({len(g['checkpoints'])} seeds)", tuple(g["checkpoints"]), name) for name, g in groups.items()]
    return rows + [Entry(name, (name,), None) for name in summary["metrics"]["checkpoints"] if name not in grouped]


def _point(summary: Mapping[str, Any], entry: Entry, series: str) -> tuple[float, float, float, float]:
    """(value, interval low, interval high, std over seeds) in percent; NaN where undefined."""
    if entry.group is not None:
        group = summary["metrics"]["groups"][entry.group]
        rate = group["clean_accuracy"] if series == "clean" else group["worst_case"] if series == WORST else (
            group["recipes"][series]["accuracy_under_attack"])
        value, std = rate["mean"], rate["std"]
    else:
        metrics = summary["metrics"]["checkpoints"][entry.members[0]]
        rate = metrics["clean_accuracy"] if series == "clean" else metrics["worst_case"]["accuracy_under_attack"] if (
            series == WORST) else metrics["recipes"][series]["accuracy_under_attack"]
        value, std = rate["value"], None
    if value is None:
        return np.nan, np.nan, np.nan, np.nan
    low, high = rate.get("ci95") or (value, value)
    return 100 * value, 100 * low, 100 * high, np.nan if std is None else 100 * std


def _series(summary: Mapping[str, Any]) -> list[str]:
    recipes = [r["name"] for r in summary["config"]["recipes"]]
    return ["clean", *recipes] + ([WORST] if len(recipes) > 1 else [])


def _zoom(lows: Sequence[float], highs: Sequence[float]) -> tuple[float, float]:
    """An axis range around the intervals (at least MIN_SPAN points wide, within 0-100), so they show."""
    finite = [v for v in [*lows, *highs] if np.isfinite(v)]
    if not finite:
        return 0.0, 100.0
    low, high = min(finite) - 2, max(finite) + 2
    if high - low < MIN_SPAN:
        middle = (low + high) / 2
        low, high = middle - MIN_SPAN / 2, middle + MIN_SPAN / 2
    shift = max(0.0, -low) - max(0.0, high - 100)
    return max(0.0, low + shift), min(100.0, high + shift)


def _colours(count: int) -> list:
    palette = colormaps["tab10" if count <= 10 else "tab20"]
    return [palette(i % palette.N) for i in range(count)]


def accuracy_bars(summary: Mapping[str, Any]) -> str | None:
    """Clean accuracy, accuracy under each recipe and worst case: one panel per measure, one row per seed
    group (mean, +- std over seeds, pooled 95 % interval) or single checkpoint (95 % bootstrap interval).
    The width is fixed and the height grows by a line per row, so it stays readable with many checkpoints."""
    rows = entries(summary)
    if not rows:
        return None
    series = _series(summary)
    figure = Figure(figsize=(FIGURE_WIDTH, 1.3 + ROW_HEIGHT * len(rows)), layout="constrained")
    panels = np.atleast_1d(figure.subplots(1, len(series), sharey=True, squeeze=False)[0])
    positions = np.arange(len(rows))[::-1]
    colours = _colours(len(rows))
    for axes, name in zip(panels, series):
        points = [_point(summary, entry, name) for entry in rows]
        for y, entry, colour, (value, low, high, std) in zip(positions, rows, colours, points):
            axes.plot([low, high], [y, y], color=colour, linewidth=1.2)
            if np.isfinite(std):
                axes.plot([value - std, value + std], [y, y], color=colour, linewidth=4, alpha=0.45, solid_capstyle="butt")
            axes.plot([value], [y], marker="o" if entry.group else "D", color=colour, markersize=5)
        axes.set_title(name, fontsize="medium")
        axes.set_xlim(*_zoom([p[1] for p in points], [p[2] for p in points]))
        axes.grid(axis="x", alpha=0.3)
        axes.set_xlabel("accuracy (%)", fontsize="small")
    panels[0].set_yticks(positions, [r.label for r in rows])
    panels[0].set_ylim(-0.7, len(rows) - 0.3)
    grey = "#555555"
    grouped, single = any(r.group for r in rows), not all(r.group for r in rows)
    interval = "pooled over seeds" if not single else "bootstrap" if not grouped else "pooled over seeds / bootstrap"
    legend = [Line2D([], [], color=grey, marker="o", linestyle="", label="seed group: mean over seeds"),
              Line2D([], [], color=grey, linewidth=4, alpha=0.45, label="± std over seeds")] if grouped else []
    legend.append(Line2D([], [], color=grey, linewidth=1.2, label=f"95 % interval ({interval})"))
    if single:
        legend.append(Line2D([], [], color=grey, marker="D", linestyle="", label="single checkpoint"))
    figure.legend(handles=legend, loc="outside lower center", ncol=len(legend), fontsize="small", frameon=False)
    figure.suptitle("Clean accuracy and accuracy under attack (axes zoomed per panel; per-checkpoint numbers in the tables)")
    return to_png(figure)


def success_vs_budget(records: Sequence[Record], checkpoints: Sequence[str], recipes: Sequence[str],
                      summary: Mapping[str, Any] | None = None) -> str | None:
    """Success rate when only attacks perturbing at most a given fraction of words count, one panel per
    recipe; a seed group is its mean curve with the range over seeds shaded."""
    if not any(r["kind"] == "attack" for r in records) or not recipes:
        return None
    rows = entries(summary) if summary is not None else [Entry(c, (c,), None) for c in checkpoints]
    columns = min(len(recipes), BUDGET_COLUMNS)
    lines = -(-len(recipes) // columns)
    figure = Figure(figsize=(FIGURE_WIDTH, 2.9 * lines + 0.5 + 0.22 * -(-(len(rows) + 1) // 6)), layout="constrained")
    panels = np.atleast_1d(figure.subplots(lines, columns, sharey=True, squeeze=False).ravel())
    colours = _colours(len(rows))
    for axes, recipe in zip(panels, recipes):
        for entry, colour in zip(rows, colours):
            curves = [metrics.success_curve(records, c, recipe, BUDGETS) for c in entry.members]
            curves = np.array([[np.nan if v is None else 100 * v for v in c] for c in curves if c[0] is not None])
            if not len(curves):
                continue
            axes.plot(100 * BUDGETS, curves.mean(axis=0), color=colour, drawstyle="steps-post", label=entry.label)
            if len(curves) > 1:
                axes.fill_between(100 * BUDGETS, curves.min(axis=0), curves.max(axis=0), color=colour, alpha=0.18, step="post")
        axes.set_title(recipe, fontsize="medium")
        axes.set_xlabel("max % of words perturbed")
        axes.grid(alpha=0.3)
    for axes in panels[len(recipes):]:
        axes.set_visible(False)
    for axes in panels[::columns]:
        axes.set_ylabel("attack success rate (%)")
    drawn: dict[str, Any] = {}
    for axes in panels:
        for handle, label in zip(*axes.get_legend_handles_labels()):
            drawn.setdefault(label, handle)
    if not drawn:
        return None  # every attack was skipped (e.g. by --max-words): no curve to draw
    handles, labels = list(drawn.values()), list(drawn)
    if any(len(e.members) > 1 for e in rows):
        handles.append(Patch(color="#999999", alpha=0.3))
        labels.append("range over seeds")
    figure.legend(handles, labels, loc="outside lower center", ncol=min(6, len(labels)), fontsize="small", frameon=False)
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
    axes.barh([rule for rule, _ in items], [count for _, count in items], color="#c0504d", label="flips, all checkpoints")
    axes.legend(fontsize="small", loc="lower right")
    axes.set_xlabel("prediction flips")
    axes.set_title(title)
    axes.grid(axis="x", alpha=0.3)
    return to_png(figure)
