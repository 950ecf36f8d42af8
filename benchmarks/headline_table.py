"""Print a README results table from a report directory: accuracy (%) per training method, as mean +- std
over the method's seeds [two-level bootstrap 95 % interval], or for a method trained with one seed its value
[95 % Wilson interval]; with --paired, the paired differences in percentage points instead (each method
against the baseline, then between the other methods) [two-level paired bootstrap 95 % interval]; with
--quality CHECKPOINT, that checkpoint's success rate, queries and example quality of its successes per recipe.
    python benchmarks/headline_table.py reports/mr-minilm [--paired | --quality vanilla-seed0]
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path

from robust_eval.report.comparisons import comparison_rows, points, without_baseline
from robust_eval.report.quality import cell as quality_cell, share


def cell(entry: dict) -> str:
    low, high = (100 * x for x in entry["ci95"])
    if "mean" in entry:
        return f"{100 * entry['mean']:.1f} ± {100 * entry['std']:.1f} [{low:.1f}, {high:.1f}]"
    return f"{100 * entry['value']:.1f} [{low:.1f}, {high:.1f}]"


def method_values(summary: dict, checkpoints: list[str], method: str, recipes: list[str]) -> list[dict]:
    """Clean accuracy, accuracy under each recipe and worst case of one method (its seed group if several)."""
    if len(checkpoints) > 1:
        entry = summary["metrics"]["groups"][method]
        worst = entry["worst_case"]
    else:
        entry = summary["metrics"]["checkpoints"][checkpoints[0]]
        worst = entry["worst_case"]["accuracy_under_attack"]
    return [entry["clean_accuracy"], *(entry["recipes"][r]["accuracy_under_attack"] for r in recipes), worst]


def accuracy_table(directory: Path, summary: dict) -> None:
    """One row per method of the report, in the experiment file's order, with the seeds the report holds."""
    recipes = [r["name"] for r in summary["config"]["recipes"]]
    experiment = tomllib.loads((directory / "experiment.toml").read_text(encoding="utf-8"))
    reported = {m["name"]: m["checkpoints"] for m in summary["comparisons"]["methods"]}
    print("| method | seeds | clean |", " | ".join(recipes), "| worst case |")
    print("|---" * (len(recipes) + 4) + "|")
    for method in (m for m in experiment["methods"] if m in reported):
        values = method_values(summary, reported[method], method, recipes)
        print(f"| {method} | {len(reported[method])} |", " | ".join(cell(v) for v in values), "|")


def paired_table(summary: dict) -> None:
    comparisons = summary["comparisons"]
    measures = comparisons["measures"]
    print("| difference | seeds |", " | ".join(measures), "|")
    print("|---" * (len(measures) + 2) + "|")
    for row in comparison_rows(comparisons["against_baseline"] + without_baseline(comparisons), measures):
        cells = " | ".join(points(row["cells"][m]) for m in measures)
        print(f"| {row['first']} − {row['second']} | {row['seeds'][0]} / {row['seeds'][1]} | {cells} |")


def quality_table(summary: dict, checkpoint: str) -> None:
    """Per recipe: success rate, mean queries and the example quality of the successes ("-" where undefined)."""
    if checkpoint not in summary["quality"]:
        raise SystemExit(f"no checkpoint {checkpoint!r} in this report: pick one of {', '.join(summary['quality'])}")
    metrics = summary["metrics"]["checkpoints"][checkpoint]["recipes"]
    recipes = [r["name"] for r in summary["config"]["recipes"]]  # the experiment's order (the JSON's keys are sorted)
    print("| recipe | success rate | queries | scored | similarity median | perplexity ratio median | POS match |"
          " grammar errors added |")
    print("|---" * 8 + "|")
    for recipe in recipes:
        q = summary["quality"][checkpoint][recipe]
        cells = [share(metrics[recipe]["success_rate"]["value"]), quality_cell(metrics[recipe]["queries_mean"], 1),
                 str(q["scored"]), quality_cell(q["similarity_median"]), quality_cell(q["perplexity_ratio_median"], 2),
                 share(q["pos_match"]), quality_cell(q["grammar_errors_added_mean"], 2)]
        print(f"| `{recipe}` |", " | ".join(cells), "|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, nargs="?", default=Path("reports/mr-minilm"))
    parser.add_argument("--paired", action="store_true", help="print the paired differences instead")
    parser.add_argument("--quality", metavar="CHECKPOINT", help="print this checkpoint's example quality instead")
    args = parser.parse_args()
    summary = json.loads((args.directory / "summary.json").read_text(encoding="utf-8"))
    if args.quality:
        quality_table(summary, args.quality)
    elif args.paired:
        paired_table(summary)
    else:
        accuracy_table(args.directory, summary)


if __name__ == "__main__":
    main()
