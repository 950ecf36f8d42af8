"""Adversarial fine-tuning of MiniLM-L6 on MR: accuracy and training cost of every method, in one process.

For each seed, every method is trained from the same base with the same data order; the training-loop
time (evaluation excluded, CUDA synchronised at epoch edges) is divided by vanilla's of the same seed.
Cost goals: FreeLB-K <= 1.05 K, K-PGD <= 1.05 (K + 1), YOPO-m <= 1.05 m passes, FreeAT-m (either
variant) <= 1.10 x its replayed epochs / epochs (it makes ceil(epochs / m) passes, each replaying every batch m times). Checkpoints go to a temporary directory and are deleted: only numbers come back.

    ROBUST_EVAL_HOME=/path/to/cache python benchmarks/train_cost.py            # 5 methods x 3 seeds
    python benchmarks/train_cost.py --sweep                                     # first a dev-only sweep
    python benchmarks/train_cost.py --limit 256 --epochs 1 --seeds 0           # smoke test
    python benchmarks/train_cost.py --resume                                    # finish a job cut short

`--sweep` trains FreeLB on seed 0 over adv-lr x adv-max-norm, picks the best dev accuracy (never test)
and uses that pair for every adversarial method. Writes benchmarks/train_results.json and .md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Iterator

import torch

from robust_eval.core.versions import library_versions
from trainers.config import TrainConfig
from trainers.strategies import STRATEGIES
from trainers.outcome import TrainingData
from trainers.train import load_training_data, train

SWEEP_ADV_LR = (0.03, 0.1, 0.3)
SWEEP_MAX_NORM = (0.0, 1.0)
HERE = Path(__file__).resolve().parent


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--limit", type=int, default=0, help="first N examples of each split (0 = all)")
    parser.add_argument("--pgd-steps", type=int, default=2, help="K-PGD ascent steps K (K + 1 passes)")
    parser.add_argument("--freelb-steps", type=int, default=3, help="FreeLB K (passes in total)")
    parser.add_argument("--freeat-replays", type=int, default=3, help="FreeAT m (ceil(epochs / m) passes over the data)")
    parser.add_argument("--yopo-steps", type=int, nargs=2, default=[3, 3], metavar=("M", "N"))
    parser.add_argument("--adv-lr", type=float, default=0.1)
    parser.add_argument("--adv-init-mag", type=float, default=0.05)
    parser.add_argument("--adv-max-norm", type=float, default=0.0)
    parser.add_argument("--sweep", action="store_true", help="choose adv-lr / max-norm on dev first")
    parser.add_argument("--sweep-adv-lr", type=float, nargs="+", default=list(SWEEP_ADV_LR))
    parser.add_argument("--sweep-max-norm", type=float, nargs="+", default=list(SWEEP_MAX_NORM))
    parser.add_argument("--output", type=Path, default=HERE / "train_results.json")
    parser.add_argument("--resume", action="store_true", help="keep the runs already in --output and do the rest")
    return parser.parse_args()


def method_config(base: TrainConfig, method: str, args: argparse.Namespace) -> TrainConfig:
    steps = {"vanilla": (1, 1), "pgd": (args.pgd_steps, 1), "freelb": (args.freelb_steps, 1),
             "freeat": (args.freeat_replays, 1), "freeat-batch": (args.freeat_replays, 1),
             "yopo": tuple(args.yopo_steps)}[method]
    return replace(base, method=method, adv_steps=steps[0], adv_inner_steps=steps[1])


def cost_goal(config: TrainConfig) -> float:
    """The allowed training-time ratio to vanilla (same nominal epochs)."""
    strategy = config.strategy()
    if strategy.optimizer_steps_per_batch > 1:  # FreeAT: m replays per batch over fewer passes
        return 1.10 * strategy.data_epochs(config.epochs) * config.adv_steps / config.epochs
    if config.method == "vanilla":
        return 1.0
    return 1.05 * strategy.passes_per_batch


def run(config: TrainConfig, data: TrainingData, workdir: Path) -> dict[str, Any]:
    config = replace(config, output=str(workdir / f"{config.method}-{config.seed}-{time.monotonic_ns()}"))
    outcome = train(config, data)
    return {
        "method": config.method, "seed": config.seed, "adv_steps": config.adv_steps,
        "adv_inner_steps": config.adv_inner_steps, "adv_lr": config.adv_lr, "adv_max_norm": config.adv_max_norm,
        "dev_accuracy": outcome.dev_accuracy, "test_accuracy": outcome.test_accuracy,
        "best_epoch": outcome.best_epoch, "epoch_seconds": outcome.epoch_seconds,
        "loop_seconds": sum(outcome.epoch_seconds), "train_seconds": outcome.train_seconds,
        "batches": outcome.batches, "optimizer_steps": outcome.optimizer_steps, "cost_goal": cost_goal(config),
    }


def sweep(base: TrainConfig, data: TrainingData, args: argparse.Namespace, workdir: Path) -> Iterator[dict]:
    """FreeLB on the first seed over adv-lr x adv-max-norm, one trial at a time (scored on dev only)."""
    for adv_lr, max_norm in itertools.product(args.sweep_adv_lr, args.sweep_max_norm):
        config = method_config(replace(base, adv_lr=adv_lr, adv_max_norm=max_norm, seed=args.seeds[0]), "freelb", args)
        trial = run(config, data, workdir)
        print(f"sweep adv_lr={adv_lr} max_norm={max_norm}: dev {trial['dev_accuracy']:.4f}", flush=True)
        yield trial


def best_setting(trials: list[dict[str, Any]]) -> dict[str, float]:
    """The (adv_lr, adv_max_norm) with the best dev accuracy; test accuracy is never looked at."""
    best = max(trials, key=lambda t: t["dev_accuracy"])
    return {"adv_lr": best["adv_lr"], "adv_max_norm": best["adv_max_norm"]}


def mean_std(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    vanilla = {r["seed"]: r["loop_seconds"] for r in runs if r["method"] == "vanilla"}
    rows = []
    for method in dict.fromkeys(r["method"] for r in runs):
        group = [r for r in runs if r["method"] == method]
        for r in group:
            r["cost_ratio"] = r["loop_seconds"] / vanilla[r["seed"]] if r["seed"] in vanilla else None
        ratios = [r["cost_ratio"] for r in group if r["cost_ratio"] is not None]
        rows.append({
            "method": method, "runs": len(group), "adv_steps": group[0]["adv_steps"],
            "dev_accuracy": mean_std([r["dev_accuracy"] for r in group]),
            "test_accuracy": mean_std([r["test_accuracy"] for r in group]),
            "cost_ratio": mean_std(ratios) if ratios else None, "cost_goal": group[0]["cost_goal"],
            "goal_met": bool(ratios) and statistics.fmean(ratios) <= group[0]["cost_goal"],
            "epoch_seconds": statistics.fmean(s for r in group for s in r["epoch_seconds"]),
        })
    return rows


def markdown(rows: list[dict[str, Any]], header: str) -> str:
    lines = [header, "", "| method | steps | dev acc | test acc | s / epoch | cost vs vanilla | goal |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        cost = row["cost_ratio"]
        cost_text = f"{cost['mean']:.2f} +- {cost['std']:.2f}" if cost else "-"
        goal = f"<= {row['cost_goal']:.2f} {'met' if row['goal_met'] else 'MISSED'}"
        lines.append(
            f"| {row['method']} | {row['adv_steps']} | {row['dev_accuracy']['mean']:.4f} +- {row['dev_accuracy']['std']:.4f} "
            f"| {row['test_accuracy']['mean']:.4f} +- {row['test_accuracy']['std']:.4f} | {row['epoch_seconds']:.1f} "
            f"| {cost_text} | {goal} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    args = arguments()
    base = TrainConfig(model="minilm", data="mr", epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       max_length=args.max_length, limit=args.limit, adv_lr=args.adv_lr,
                       adv_init_mag=args.adv_init_mag, adv_max_norm=args.adv_max_norm, progress=False,
                       logging_steps=10_000, output="unused")
    data = load_training_data(base)
    started = time.perf_counter()
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    chosen: dict[str, float] = {}
    trials: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    commands = ["python benchmarks/train_cost.py " + " ".join(sys.argv[1:])]
    if args.resume and args.output.is_file():  # continue a job that an earlier call could not finish
        earlier = json.loads(args.output.read_text(encoding="utf-8"))
        chosen, trials, runs = earlier["sweep"]["chosen"], earlier["sweep"]["trials"], earlier["runs"]
        base = replace(base, **chosen)
        commands = earlier["commands"] + commands

    def save() -> str:
        """Write the results so far (a job cut short still leaves every finished run on disk)."""
        rows = summarise(runs) if any(r["method"] == "vanilla" for r in runs) else []
        header = (f"MiniLM-L6 on MR ({len(data.train.examples)} train / {len(data.dev.examples)} dev / "
                  f"{len(data.test.examples)} test), {args.epochs:g} epochs, batch {args.batch_size}, max length "
                  f"{args.max_length}, seeds {args.seeds}, {device}, adv_lr {base.adv_lr}, max_norm {base.adv_max_norm}")
        record = {"commands": commands, "device": device,
                  "versions": library_versions(), "base_config": asdict(base),
                  "sweep": {"chosen": chosen, "trials": trials}, "summary": rows, "runs": runs,
                  "total_seconds": time.perf_counter() - started}
        args.output.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        table = markdown(rows, header)
        args.output.with_suffix(".md").write_text(table, encoding="utf-8")
        return table

    with tempfile.TemporaryDirectory(prefix="train-cost-") as scratch:
        workdir = Path(scratch)
        run(replace(base, epochs=1, limit=min(256, len(data.train.examples))), TrainingData(
            replace(data.train, examples=data.train.examples[:256]), data.dev, data.test), workdir)  # warm-up
        if args.sweep and not chosen:
            for trial in sweep(base, data, args, workdir):
                trials.append(trial)
                save()
            chosen.update(best_setting(trials))
            base = replace(base, **chosen)
        for seed in args.seeds:
            for method in ["vanilla", *[m for m in args.methods if m != "vanilla"]]:
                if any(r["method"] == method and r["seed"] == seed for r in runs):
                    continue
                runs.append(run(method_config(replace(base, seed=seed), method, args), data, workdir))
                print(f"seed {seed} {method}: dev {runs[-1]['dev_accuracy']:.4f} test {runs[-1]['test_accuracy']:.4f} "
                      f"loop {runs[-1]['loop_seconds']:.1f} s", flush=True)
                save()
    print(save())

if __name__ == "__main__":
    main()
