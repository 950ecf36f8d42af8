"""Print the README's headline table from a report directory: accuracy (%) per training method, as
mean +- std over the method's seeds [pooled 95 % interval].
    python benchmarks/headline_table.py reports/mr-minilm
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path


def cell(entry: dict) -> str:
    low, high = (100 * x for x in entry["ci95"])
    return f"{100 * entry['mean']:.1f} ± {100 * entry['std']:.1f} [{low:.1f}, {high:.1f}]"


def main(directory: Path) -> None:
    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    recipes = [r["name"] for r in summary["config"]["recipes"]]
    groups = summary["metrics"]["groups"]
    methods = tomllib.loads((directory / "experiment.toml").read_text(encoding="utf-8"))["methods"]
    print("| method | seeds | clean |", " | ".join(recipes), "| worst case |")
    print("|---" * (len(recipes) + 4) + "|")
    for method in methods:
        entry = groups[method]
        values = [entry["clean_accuracy"], *(entry["recipes"][r]["accuracy_under_attack"] for r in recipes),
                  entry["worst_case"]]
        print(f"| {method} | {len(entry['checkpoints'])} |", " | ".join(cell(v) for v in values), "|")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "reports/mr-minilm"))
