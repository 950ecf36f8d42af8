"""YOPO through the embedding module against FreeLB, and FreeAT's carried delta against the per-batch restart.

MiniLM-L6 fine-tuned on MR with the headline settings (reports/mr-minilm/experiment.toml: 2 epochs, lr 5e-5,
batch 32, max length 64, adv_lr 0.03, bf16 on CUDA), one seed, methods: vanilla (reference), yopo-3-3 with
each inner-step convention (adv_lr / 3 and adv_lr), freelb-3, freeat (m = 3, delta carried) and freeat-batch
(m = 3, delta restarted per batch). Every checkpoint is attacked with `wordnet-swap` on the MR test sentences
(`robust-eval evaluate`). Before training, one YOPO inner step is timed against one full pass on a training
batch (`trainers.step_cost`). Prints a table and writes benchmarks/methods_gpu.json.

    ROBUST_EVAL_HOME=/path/to/cache python benchmarks/methods_gpu.py               # CUDA host, everything
    python benchmarks/methods_gpu.py --limit 48 --epochs 1 --work runs/methods-smoke # a CPU smoke test

Rerun with the same --work to resume a job cut short: checkpoints with a training card are not retrained and
the evaluation resumes from its records. Training times are per pass over the training set ("s / epoch"; FreeAT
makes ceil(epochs / m) passes, each replaying every batch m times) and for the whole loop.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from robust_eval.core.versions import library_versions
from trainers.config import TrainConfig
from trainers.outcome import TrainingData
from trainers.step_cost import yopo_step_cost
from trainers.train import build_trainer, load_training_data, train

HERE = Path(__file__).resolve().parent
RECIPE = "wordnet-swap"


@dataclass(frozen=True)
class Run:
    """One training run of the comparison: its name and the options that differ from the base config."""

    name: str
    method: str
    adv_steps: int = 1
    adv_inner_steps: int = 1
    adv_inner_lr: str = "divided"


RUNS = (
    Run("vanilla", "vanilla"),
    Run("yopo-3-3-divided", "yopo", 3, 3, "divided"),
    Run("yopo-3-3-full", "yopo", 3, 3, "full"),
    Run("freelb-3", "freelb", 3),
    Run("freeat", "freeat", 3),
    Run("freeat-batch", "freeat-batch", 3),
)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=[r.name for r in RUNS], choices=[r.name for r in RUNS])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--limit", type=int, default=0, help="first N examples of each split, attacked ones too (0 = all)")
    parser.add_argument("--jobs", type=int, default=8 if torch.cuda.is_available() else 1,
                        help="evaluation worker processes")
    parser.add_argument("--timing-repeats", type=int, default=50)
    parser.add_argument("--work", type=Path, default=Path("runs/methods-gpu"), help="checkpoints and evaluation records")
    parser.add_argument("--output", type=Path, default=HERE / "methods_gpu.json")
    return parser.parse_args()


def base_config(args: argparse.Namespace) -> TrainConfig:
    """The headline's training settings (reports/mr-minilm/experiment.toml)."""
    return TrainConfig(model="minilm", data="mr", epochs=args.epochs, lr=5e-5, batch_size=32, max_length=64,
                       adv_lr=0.03, seed=args.seed, limit=args.limit, progress=False, logging_steps=10_000,
                       output="unused")


def run_config(base: TrainConfig, run: Run, work: Path) -> TrainConfig:
    return replace(base, method=run.method, adv_steps=run.adv_steps, adv_inner_steps=run.adv_inner_steps,
                   adv_inner_lr=run.adv_inner_lr, output=str(work / "checkpoints" / f"{run.name}-seed{base.seed}"))


def step_cost(base: TrainConfig, data: TrainingData, repeats: int) -> dict[str, Any]:
    """One YOPO inner step against one full pass, on the first training batch (nothing is trained)."""
    trainer = build_trainer(replace(base, method="yopo", adv_steps=3, adv_inner_steps=3), data)
    batch = next(iter(trainer.get_train_dataloader()))
    cost = yopo_step_cost(trainer, batch, repeats)
    return {"batch_shape": list(batch["input_ids"].shape), "repeats": cost.repeats,
            "full_pass_ms": cost.full_pass_seconds * 1e3, "inner_step_ms": cost.inner_step_seconds * 1e3,
            "ratio": cost.ratio}


def trained(config: TrainConfig, data: TrainingData) -> dict[str, Any]:
    """Train unless the checkpoint's card is there; the card's numbers."""
    card = Path(config.output) / "training.json"
    if not card.is_file():
        train(config, data)
    record = json.loads(card.read_text(encoding="utf-8"))
    seconds = record["epoch_seconds"]
    return {"dev_accuracy": record["dev_accuracy"], "test_accuracy": record["test_accuracy"],
            "passes_over_data": len(seconds), "epoch_seconds": statistics.fmean(seconds),
            "loop_seconds": sum(seconds), "optimizer_steps": record["optimizer_steps"],
            "checkpoint": config.output}


def attack(checkpoints: list[str], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """`robust-eval evaluate` with wordnet-swap on the MR test sentences; per checkpoint directory name,
    clean accuracy and accuracy under attack."""
    out = args.work / "evaluation"
    command = [sys.executable, "-m", "robust_eval", "evaluate", "--data", "mr:test", "--recipe", RECIPE,
               "--jobs", str(args.jobs), "--out", str(out), "--no-progress"]
    command += [item for path in checkpoints for item in ("--model", path)]
    if args.limit:
        command += ["--limit", str(args.limit)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {name: {"clean_accuracy": result["clean_accuracy"]["value"],
                   "accuracy_under_attack": result["recipes"][RECIPE]["accuracy_under_attack"]["value"],
                   "interval": result["recipes"][RECIPE]["accuracy_under_attack"]["ci95"]}
            for name, result in summary["metrics"]["checkpoints"].items()}


def table(rows: list[dict[str, Any]], cost: dict[str, Any], header: str) -> str:
    lines = [header, "", "| run | method | passes over data | dev acc | test acc | s / epoch | loop s | "
             f"clean (eval) | {RECIPE} [95 % interval] |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        under = row.get("attack")
        attacked = (f"{under['accuracy_under_attack']:.3f} [{under['interval'][0]:.3f}, {under['interval'][1]:.3f}]"
                    if under else "-")
        clean = f"{under['clean_accuracy']:.3f}" if under else "-"
        lines.append(f"| {row['run']} | {row['method']} | {row['passes_over_data']} | {row['dev_accuracy']:.4f} | "
                     f"{row['test_accuracy']:.4f} | {row['epoch_seconds']:.1f} | {row['loop_seconds']:.1f} | {clean} | "
                     f"{attacked} |")
    lines += ["", f"YOPO inner step {cost['inner_step_ms']:.2f} ms vs full pass {cost['full_pass_ms']:.2f} ms "
              f"(ratio {cost['ratio']:.3f}; batch {cost['batch_shape']}, median of {cost['repeats']})"]
    return "\n".join(lines)


def main() -> None:
    args = arguments()
    started = time.perf_counter()
    base = base_config(args)
    data = load_training_data(base)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    cost = step_cost(base, data, args.timing_repeats)
    print(f"step cost: {cost}", flush=True)
    runs = [run for run in RUNS if run.name in args.runs]
    rows = []
    for run in runs:
        config = run_config(base, run, args.work)
        rows.append({"run": run.name, **asdict(run), **trained(config, data)})
        print(f"{run.name}: dev {rows[-1]['dev_accuracy']:.4f} test {rows[-1]['test_accuracy']:.4f} "
              f"loop {rows[-1]['loop_seconds']:.1f} s", flush=True)
    results = attack([row["checkpoint"] for row in rows], args)
    for row in rows:
        row["attack"] = results.get(Path(row["checkpoint"]).name)
    header = (f"MiniLM-L6 on MR ({len(data.train.examples)} train / {len(data.dev.examples)} dev / "
              f"{len(data.test.examples)} test, {RECIPE} on the test sentences), {args.epochs:g} epochs, batch 32, "
              f"max length 64, adv_lr 0.03, seed {args.seed}, {device}")
    record = {"command": "python benchmarks/methods_gpu.py " + " ".join(sys.argv[1:]), "device": device,
              "versions": library_versions(), "base_config": asdict(base), "step_cost": cost, "runs": rows,
              "total_seconds": time.perf_counter() - started}
    args.output.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(table(rows, cost, header))


if __name__ == "__main__":
    main()
