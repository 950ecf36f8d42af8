"""Print the README's headline table from a report directory: accuracy (%) per training method.

Methods attacked with several seeds show mean +- std over seeds [pooled 95 % interval]; a method attacked
with one seed shows its value [95 % bootstrap interval]. The last column is clean test accuracy over every
trained seed, from the training cards in `DIR/training/`.
    python benchmarks/headline_table.py reports/mr-minilm
"""

from __future__ import annotations

import json
import statistics
import sys
import tomllib
from pathlib import Path


def cell(entry: dict) -> str:
    low, high = (100 * x for x in entry["ci95"])
    if "mean" in entry:
        return f"{100 * entry['mean']:.1f} ± {100 * entry['std']:.1f} [{low:.1f}, {high:.1f}]"
    return f"{100 * entry['value']:.1f} [{low:.1f}, {high:.1f}]"


def main(directory: Path) -> None:
    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    recipes = [r["name"] for r in summary["config"]["recipes"]]
    groups = summary["metrics"]["groups"]
    checkpoints = summary["metrics"]["checkpoints"]
    cards = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((directory / "training").glob("*.json"))]
    methods = tomllib.loads((directory / "experiment.toml").read_text(encoding="utf-8"))["methods"]
    print("| method | seeds attacked | clean |", " | ".join(recipes), "| worst case | clean, all trained seeds |")
    print("|---" * (len(recipes) + 5) + "|")
    for method in methods:
        if method in groups:
            entry, seeds = groups[method], len(groups[method]["checkpoints"])
            values = [entry["clean_accuracy"]] + [entry["recipes"][r]["accuracy_under_attack"] for r in recipes]
            values.append(entry["worst_case"])
        else:
            names = [n for n in checkpoints if n.startswith(f"{method}-seed")]
            if len(names) != 1:
                continue
            entry, seeds = checkpoints[names[0]], f"1 ({names[0].split('-')[-1]})"
            values = [entry["clean_accuracy"]] + [entry["recipes"][r]["accuracy_under_attack"] for r in recipes]
            values.append(entry["worst_case"]["accuracy_under_attack"])
        trained = [100 * c["test_accuracy"] for c in cards if c["method"] == method]
        spread = f"{statistics.mean(trained):.1f} ± {statistics.stdev(trained):.1f} (n={len(trained)})"
        print(f"| {method} | {seeds} |", " | ".join(cell(v) for v in values), f"| {spread} |")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "reports/mr-minilm"))
