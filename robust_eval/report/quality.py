"""Example quality per checkpoint and recipe, aggregated over the successful attacks that carry it.

Each successful attack result records an `ExampleQuality` (attacks.quality); records written before it
existed carry none and count as unscored, so their columns read "-".
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from rich.table import Table

from attacks.result import ExampleQuality
from robust_eval import metrics


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if values else None


def scored_successes(records: Sequence[Mapping[str, Any]], checkpoint: str, recipe: str) -> list[ExampleQuality]:
    """The quality of every successful attack of `recipe` on `checkpoint` that was scored."""
    results = metrics.attack_records(records, checkpoint, recipe).values()
    return [
        ExampleQuality.from_dict(r["quality"])
        for r in results if r["status"] == "succeeded" and isinstance(r.get("quality"), dict)
    ]


def recipe_quality(records: Sequence[Mapping[str, Any]], checkpoint: str, recipe: str) -> dict[str, Any]:
    """Similarity mean / median, perplexity-ratio median, POS-match share, grammar errors added."""
    scored = scored_successes(records, checkpoint, recipe)
    ratios = [q.perplexity_ratio for q in scored if q.perplexity_ratio is not None]
    grammar = [q.grammar_errors_added for q in scored if q.grammar_errors_added is not None]
    swapped = sum(q.swapped_words for q in scored if q.pos_match is not None)
    matched = sum(q.pos_match * q.swapped_words for q in scored if q.pos_match is not None)
    return {
        "scored": len(scored),
        "similarity_mean": _mean([q.similarity for q in scored]),
        "similarity_median": _median([q.similarity for q in scored]),
        "perplexity_ratio_median": _median(ratios),
        "pos_match": matched / swapped if swapped else None,
        "grammar_errors_added_mean": _mean(grammar),
        "grammar_errors_added_share": _mean([g > 0 for g in grammar]),
    }


def quality_summary(
    records: Sequence[Mapping[str, Any]], checkpoints: Sequence[str], recipes: Sequence[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """`recipe_quality` for every checkpoint and recipe: {checkpoint: {recipe: {...}}}."""
    return {c: {r: recipe_quality(records, c, r) for r in recipes} for c in checkpoints}


def share(value: float | None) -> str:
    """A share as `87.5 %`, `-` when undefined (report filter)."""
    return cell(value, 1, 100, " %")


def cell(value: float | None, digits: int = 3, scale: float = 1.0, suffix: str = "") -> str:
    """A number rounded to `digits` (times `scale`, with `suffix`), `-` when undefined."""
    return "-" if value is None else f"{scale * value:.{digits}f}{suffix}"


def quality_table(summary: Mapping[str, Any]) -> Table:
    """Console table: success rate and queries next to the example quality of each checkpoint and recipe."""
    table = Table(title="attacks and example quality (successful examples)")
    for column in ("checkpoint", "recipe", "success", "queries", "scored", "similarity mean / median",
                   "PPL ratio median", "POS match", "grammar errors added"):
        table.add_column(column)
    for name, per_recipe in summary["quality"].items():
        for recipe, q in per_recipe.items():
            attack = summary["metrics"]["checkpoints"][name]["recipes"][recipe]
            table.add_row(
                name, recipe, cell(attack["success_rate"]["value"], 1, 100, " %"), cell(attack["queries_mean"], 1),
                str(q["scored"]), f"{cell(q['similarity_mean'])} / {cell(q['similarity_median'])}",
                cell(q["perplexity_ratio_median"], 2), cell(q["pos_match"], 1, 100, " %"),
                cell(q["grammar_errors_added_mean"], 2),
            )
    return table
