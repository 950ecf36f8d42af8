"""Console tables of a summary beyond the main accuracy table: the paired differences against the baseline
and the temperature-scaling check (the same numbers as report.md)."""

from __future__ import annotations

from typing import Any, Mapping

from rich.table import Table

from robust_eval.report import number
from robust_eval.report.comparisons import comparison_rows, excludes_zero, points


def comparison_table(summary: Mapping[str, Any]) -> Table | None:
    """Each method minus the baseline, in points with 95 % intervals (bold: excludes 0); None without one."""
    comparisons = summary["comparisons"]
    if comparisons is None:
        return None
    table = Table(title=f"paired differences against {comparisons['baseline']} (points, 95 % two-level bootstrap)")
    for column in ["difference", "bootstrap", *comparisons["measures"]]:
        table.add_column(column)
    for row in comparison_rows(comparisons["against_baseline"], comparisons["measures"]):
        cells = [points(d) if not excludes_zero(d) else f"[bold]{points(d)}[/bold]" for d in row["cells"].values()]
        table.add_row(f"{row['first']} − {row['second']}", row["bootstrap"], *cells)
    return table


def calibration_table(summary: Mapping[str, Any]) -> Table | None:
    """Accuracy under attack without and with temperature scaling per checkpoint; None when none was scaled."""
    if not summary["calibration"]:
        return None
    table = Table(title="temperature scaling: accuracy under attack without -> with T (points, 95 % interval)")
    for column in ("checkpoint", "T", "ECE before -> after", "attack", "without -> with", "difference", "shrinks"):
        table.add_column(column)
    for check in summary["calibration"]:
        pair = check["pair"]
        ece = f"{number(pair['ece_before'], 3)} -> {number(pair['ece_after'], 3)}"
        for row in check["measures"]:
            table.add_row(
                pair["checkpoint"], number(pair["temperature"], 3), ece, row["measure"],
                f"{number(100 * row['original'])} -> {number(100 * row['calibrated'])}", points(row["difference"]),
                "[bold red]yes[/bold red]" if row["shrinks"] else "no",
            )
    return table


def extra_tables(summary: Mapping[str, Any]) -> list[Table]:
    """The tables the console shows after the main one."""
    return [t for t in (comparison_table(summary), calibration_table(summary)) if t is not None]
