"""Print a README results table from a report directory: accuracy (%) per training method, as mean +- std
over the method's seeds [pooled 95 % interval], or for a method trained with one seed its value [95 %
bootstrap interval].
    python benchmarks/headline_table.py reports/mr-minilm
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path


def cell(entry: dict) -> str:
    low, high = (100 * x for x in entry["ci95"])
    if "mean" in entry:
        return f"{100 * entry['mean']:.1f} ± {100 * entry['std']:.1f} [{low:.1f}, {high:.1f}]"
    return f"{100 * entry['value']:.1f} [{low:.1f}, {high:.1f}]"


def method_values(summary: dict, method: str, seeds: list[int], recipes: list[str]) -> list[dict]:
    """Clean accuracy, accuracy under each recipe and worst case of one method (its seed group if several)."""
    if len(seeds) > 1:
        entry = summary["metrics"]["groups"][method]
        worst = entry["worst_case"]
    else:
        entry = summary["metrics"]["checkpoints"][f"{method}-seed{seeds[0]}"]
        worst = entry["worst_case"]["accuracy_under_attack"]
    return [entry["clean_accuracy"], *(entry["recipes"][r]["accuracy_under_attack"] for r in recipes), worst]


def main(directory: Path) -> None:
    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    recipes = [r["name"] for r in summary["config"]["recipes"]]
    experiment = tomllib.loads((directory / "experiment.toml").read_text(encoding="utf-8"))
    print("| method | seeds | clean |", " | ".join(recipes), "| worst case |")
    print("|---" * (len(recipes) + 4) + "|")
    for method in experiment["methods"]:
        values = method_values(summary, method, experiment["seeds"], recipes)
        print(f"| {method} | {len(experiment['seeds'])} |", " | ".join(cell(v) for v in values), "|")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "reports/mr-minilm"))
