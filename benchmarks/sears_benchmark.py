"""SEARs against vanilla and SEAR-augmented MiniLM: train both, attack both, one table and a JSON file.

1. `robust-eval train --method vanilla` twice on MR: plainly, and with `--augment sears` (the training
   sentences plus their rewrites by the shipped mined rules, Ribeiro et al.'s fix);
2. `robust-eval evaluate` of both checkpoints with `sears` and `bt-filtered` (and any other `--recipe`) on
   the MR test sentences;
3. a table per checkpoint and recipe: clean accuracy, accuracy under attack, success rate (share of the
   correct predictions flipped), for `sears` the examples flipped by one rule / by a pair and the top rules
   by flip rate (flips / equivalent applications), for `bt-filtered` the share of candidates the
   back-translation filter rejected; all of it, with the commands, in `--json`.

On a GPU host (about 10 minutes on one H100 for 1000 test sentences):
    python benchmarks/sears_benchmark.py --out runs/sears-benchmark --json benchmarks/results/sears_gpu.json
Quick check on a CPU (tiny slices):
    python benchmarks/sears_benchmark.py --train-limit 64 --epochs 1 --limit 8 --out runs/sears-tiny \
        --json runs/sears-tiny/sears.json
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from attacks.constraints.back_translation import FilterCounts
from attacks.sears.outcome import flip_rates
from robust_eval.pipeline.store import read_records

MODELS = {"vanilla": [], "sears-augmented": ["--augment", "sears"]}


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/sears-benchmark"), help="checkpoints and records")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/sears_gpu.json"))
    parser.add_argument("--recipe", action="append", default=[], help="recipes (default: sears and bt-filtered)")
    parser.add_argument("--limit", type=int, default=1000, help="MR test sentences attacked (default 1000)")
    parser.add_argument("--train-limit", type=int, default=0, help="training examples per split (0 = all)")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="evaluation worker processes")
    return parser.parse_args(argv)


def run(command: list[str]) -> float:
    """Run a robust-eval command in this interpreter's environment; its wall time in seconds."""
    started = time.perf_counter()
    print("$", " ".join(command), flush=True)
    subprocess.run([sys.executable, "-m", "robust_eval", *command], check=True)
    return time.perf_counter() - started


def train_commands(args: argparse.Namespace) -> dict[str, list[str]]:
    common = ["--method", "vanilla", "--seed", str(args.seed), "--epochs", str(args.epochs), "--lr", str(args.lr),
              "--no-progress", *(["--limit", str(args.train_limit)] if args.train_limit else [])]
    return {name: ["train", *common, *extra, "--output", str(args.out / name)] for name, extra in MODELS.items()}


def recipe_rows(summary: dict[str, Any], records: list[dict[str, Any]], recipes: list[str]) -> list[dict[str, Any]]:
    """One row per checkpoint and recipe, with the SEARs and filter statistics where the records hold them."""
    rows = []
    for checkpoint, metrics in summary["metrics"]["checkpoints"].items():
        for recipe in recipes:
            values = metrics["recipes"][recipe]
            results = [r["result"] for r in records if r["kind"] == "attack" and r["checkpoint"] == checkpoint
                       and r["recipe"] == recipe]
            row = {"checkpoint": checkpoint, "recipe": recipe, "clean_accuracy": metrics["clean_accuracy"]["value"],
                   "accuracy_under_attack": values["accuracy_under_attack"]["value"],
                   "success_rate": values["success_rate"]["value"], "attacked": len(results)}
            rates = flip_rates(results)
            if rates.rules:
                row["flipped_by_one_rule"] = rates.flipped_by_one_rule
                row["flipped_by_a_pair"] = rates.flipped_by_a_pair
                row["top_rules"] = [
                    {"rule": r.rule, "applications": r.applications, "equivalent": r.equivalent, "flips": r.flips,
                     "flip_rate": r.rate, "example": list(r.example) if r.example else None}
                    for r in rates.rules[:10]
                ]
            counts = [c for r in results if (c := FilterCounts.of_result(r)) is not None]
            if counts:
                checked = sum(c.checked for c in counts)
                row["bt_checked"] = checked
                row["bt_rejected"] = sum(c.rejected for c in counts)
                row["bt_rejected_share"] = row["bt_rejected"] / checked if checked else None
            rows.append(row)
    return rows


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'checkpoint':16} {'recipe':12} {'clean %':>7} {'attacked %':>10} {'success %':>9} {'1 rule':>6} "
          f"{'pair':>5} {'bt rejected %':>13}")
    for row in rows:
        print(f"{row['checkpoint']:16} {row['recipe']:12} {percent(row['clean_accuracy']):>7} "
              f"{percent(row['accuracy_under_attack']):>10} {percent(row['success_rate']):>9} "
              f"{row.get('flipped_by_one_rule', '-'):>6} {row.get('flipped_by_a_pair', '-'):>5} "
              f"{percent(row.get('bt_rejected_share')):>13}")
    for row in rows:
        for rule in row.get("top_rules", [])[:5]:
            print(f"  {row['checkpoint']} {rule['rule']}: {rule['flips']}/{rule['equivalent']} equivalent applications "
                  f"flipped ({percent(rule['flip_rate'])} %)")


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    recipes = args.recipe or ["sears", "bt-filtered"]
    seconds: dict[str, float] = {}
    commands = train_commands(args)
    for name, command in commands.items():
        seconds[f"train {name}"] = run(command)
    evaluate = ["evaluate", *(arg for name in MODELS for arg in ("--model", str(args.out / name))), "--data", "mr:test",
                "--limit", str(args.limit), *(arg for recipe in recipes for arg in ("--recipe", recipe)),
                "--out", str(args.out / "eval"), "--jobs", str(args.jobs), "--no-progress"]
    seconds["evaluate"] = run(evaluate)
    summary = json.loads((args.out / "eval" / "summary.json").read_text(encoding="utf-8"))
    rows = recipe_rows(summary, read_records(args.out / "eval"), recipes)
    print_table(rows)
    cards = {name: json.loads((args.out / name / "training.json").read_text(encoding="utf-8")) for name in MODELS}
    record = {
        "commands": {**{name: " ".join(["robust-eval", *c]) for name, c in commands.items()},
                     "evaluate": " ".join(["robust-eval", *evaluate])},
        "rows": rows,
        "training": {name: {k: card[k] for k in ("dev_accuracy", "test_accuracy", "train_seconds", "device", "data")}
                     for name, card in cards.items()},
        "seconds": seconds,
        "python": platform.python_version(),
        "git_commit": summary.get("git_commit"),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
