"""Data parallelism on one host with several GPUs: FreeLB training (K passes per batch, Zhu et al., ICLR 2020)
through torchrun on 1 and N GPUs at the same global batch, and one recipe evaluated with `--jobs` workers on 1
and N GPUs. Writes a JSON file after every step and prints one table.

    python benchmarks/ddp_scaling.py --gpus 2 --output benchmarks/ddp_scaling.json

Training speed is the last epoch's (the first one also pays for CUDA start-up); evaluation speed is the wall
time of the whole command, start-up included.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def gpu_environment(gpus: int) -> dict[str, str]:
    return {**os.environ, "CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in range(gpus))}


def train(gpus: int, global_batch: int, args: argparse.Namespace) -> dict:
    """One FreeLB training through torchrun; its card's timings and accuracies."""
    output = args.work / f"freelb-{gpus}gpu-batch{global_batch}"
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={gpus}", "-m", "robust_eval",
               "train", "--model", "minilm", "--data", "mr", "--method", "freelb", "--adv-steps", "3",
               "--adv-lr", "0.03", "--epochs", str(args.epochs), "--limit", str(args.train_limit),
               "--batch-size", str(global_batch // gpus), "--output", str(output), "--no-progress"]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=gpu_environment(gpus), timeout=args.step_timeout)
    card = json.loads((output / "training.json").read_text(encoding="utf-8"))
    return {"gpus": gpus, "global_batch": global_batch, "wall_seconds": time.perf_counter() - started,
            "epoch_seconds": card["epoch_seconds"], "examples_per_second": args.train_limit / card["epoch_seconds"][-1],
            "dev_accuracy": card["dev_accuracy"], "test_accuracy": card["test_accuracy"], "checkpoint": str(output)}


def evaluate(gpus: int, checkpoint: str, args: argparse.Namespace) -> dict:
    """One evaluation with `jobs_per_gpu` workers per GPU; wall time and accuracy under attack."""
    output = args.work / f"eval-{gpus}gpu"
    command = [sys.executable, "-m", "robust_eval", "evaluate", "--model", checkpoint, "--data", "mr:test",
               "--limit", str(args.eval_limit), "--recipe", args.recipe, "--jobs", str(args.jobs_per_gpu * gpus),
               "--out", str(output), "--no-progress"]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=gpu_environment(gpus), timeout=args.step_timeout, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    summary = json.loads((output / "summary.json").read_text(encoding="utf-8"))
    result = next(iter(summary["metrics"]["checkpoints"].values()))
    return {"gpus": gpus, "jobs": args.jobs_per_gpu * gpus, "wall_seconds": seconds,
            "examples_per_second": args.eval_limit / seconds, "clean_accuracy": result["clean_accuracy"]["value"],
            "accuracy_under_attack": result["recipes"][args.recipe]["accuracy_under_attack"]["value"]}


def speedups(runs: list[dict], key: str, group: str | None = None) -> dict[str, float]:
    """Throughput of N GPUs over 1 GPU, per value of `group` (or overall)."""
    ratios = {}
    for run in runs:
        if run["gpus"] == 1:
            continue
        single = next(r for r in runs if r["gpus"] == 1 and (group is None or r[group] == run[group]))
        label = f"{run['gpus']} gpus" + (f", {group} {run[group]}" if group else "")
        ratios[label] = run[key] / single[key]
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpus", type=int, default=2)
    parser.add_argument("--global-batch", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-limit", type=int, default=4096, help="MR training sentences used")
    parser.add_argument("--eval-limit", type=int, default=1000)
    parser.add_argument("--recipe", default="wordnet-swap")
    parser.add_argument("--jobs-per-gpu", type=int, default=14)
    parser.add_argument("--step-timeout", type=int, default=240, help="seconds one training or evaluation may take")
    parser.add_argument("--work", type=Path, default=Path("runs/ddp"))
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "output"}
    result: dict = {"settings": settings, "training": [], "evaluation": []}

    def save() -> None:
        result["training_speedup"] = speedups(result["training"], "examples_per_second", "global_batch")
        result["evaluation_speedup"] = speedups(result["evaluation"], "examples_per_second")
        args.output.write_text(json.dumps(result, indent=1), encoding="utf-8")

    counts = sorted({1, args.gpus})  # --gpus 1: the single-GPU runs alone
    for global_batch in args.global_batch:
        for gpus in counts:
            result["training"].append(train(gpus, global_batch, args))
            save()
    checkpoint = result["training"][0]["checkpoint"]
    for gpus in counts:
        result["evaluation"].append(evaluate(gpus, checkpoint, args))
        save()
    print("| step | gpus | batch / jobs | last epoch or wall (s) | examples/s | accuracy |")
    print("|---|---|---|---|---|---|")
    for run in result["training"]:
        print(f"| train freelb | {run['gpus']} | {run['global_batch']} | {run['epoch_seconds'][-1]:.1f} | "
              f"{run['examples_per_second']:.0f} | dev {run['dev_accuracy']:.4f}, test {run['test_accuracy']:.4f} |")
    for run in result["evaluation"]:
        print(f"| evaluate {args.recipe} | {run['gpus']} | {run['jobs']} | {run['wall_seconds']:.1f} | "
              f"{run['examples_per_second']:.1f} | clean {run['clean_accuracy']:.3f}, "
              f"under attack {run['accuracy_under_attack']:.3f} |")
    print(json.dumps({"training": result["training_speedup"], "evaluation": result["evaluation_speedup"]}))


if __name__ == "__main__":
    main()
