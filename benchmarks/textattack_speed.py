"""Speed against TextAttack: `wordnet-swap` vs TextAttack's PWWS on the same model, examples and device.

Both attacks use the same search (PWWS ordering, WordNet synonyms, stopwords and repeated words
excluded): `wordnet-swap` runs with `min_similarity=none max_rate=1.0`, which is TextAttack's PWWS recipe,
and the same query budget (`--budget-per-word`, default none = unlimited as in TextAttack). TextAttack calls
the model through its own HuggingFaceModelWrapper (`--textattack-wrapper huggingface`, the default: what a
TextAttack user gets) or through our batched victim (`victim`: isolates the search overhead). The victim's
cache of repeated texts is cleared before every example, as the runner does.

Goal: >= 5x examples per second at a success rate within 2 points. Needs the `textattack` extra.

    python benchmarks/textattack_speed.py --model DIR [--limit 100] [--device cuda] [--output benchmarks/textattack_speed.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from attacks.registry import build_recipe
from attacks.textattack_bridge import TextAttackRecipe, textattack
from robust_eval.core.data import load_dataset
from robust_eval.core.victim import load_victim


def run(attack: Any, victim: Any, examples: Sequence[Any]) -> dict:
    """Attack every example; return throughput and the usual attack metrics."""
    results = []
    started = time.perf_counter()
    for example in examples:
        victim.clear_cache()
        results.append(attack.attack(victim, example))
    seconds = time.perf_counter() - started
    done = [r for r in results if r.status != "skipped"]
    succeeded = [r for r in done if r.status == "succeeded"]
    return {
        "examples": len(results),
        "attacked": len(done),
        "succeeded": len(succeeded),
        "seconds": seconds,
        "examples_per_second": len(results) / seconds,
        "attacked_per_second": len(done) / seconds,
        "success_rate": len(succeeded) / len(done) if done else 0.0,
        "mean_queries": float(np.mean([r.queries for r in done])) if done else 0.0,
        "mean_perturbed_ratio": float(np.mean([r.perturbed_word_ratio for r in succeeded])) if succeeded else 0.0,
        "per_example": [{"id": r.example_id, "status": r.status, "queries": r.queries} for r in results],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="checkpoint directory (a vanilla MiniLM MR model)")
    parser.add_argument("--data", default="mr:test")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--budget-per-word", type=float, default=None)
    parser.add_argument("--textattack-wrapper", choices=["huggingface", "victim"], default="huggingface")
    parser.add_argument("--output", default=str(Path(__file__).with_name("textattack_speed.json")))
    args = parser.parse_args()

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    textattack.shared.utils.device = torch.device(device)
    victim = load_victim(args.model, device=device, batch_size=args.batch_size)
    examples = load_dataset(args.data).head(args.limit).examples
    budget = "none" if args.budget_per_word is None else str(args.budget_per_word)
    ours = build_recipe("wordnet-swap", {"min_similarity": "none", "max_rate": "1.0", "query_budget": budget})
    theirs = TextAttackRecipe("pwws", budget_per_word=args.budget_per_word, wrapper=args.textattack_wrapper)

    run(ours, victim, examples[:2])  # warm-up: WordNet, model kernels
    measured = {"wordnet-swap": run(ours, victim, examples), "textattack-pwws": run(theirs, victim, examples)}
    speed = measured["wordnet-swap"]["examples_per_second"] / measured["textattack-pwws"]["examples_per_second"]
    gap = 100 * (measured["wordnet-swap"]["success_rate"] - measured["textattack-pwws"]["success_rate"])
    record = {
        "model": args.model, "data": args.data, "examples": len(examples), "device": device,
        "device_name": torch.cuda.get_device_name() if device.startswith("cuda") else platform.processor() or "cpu",
        "cpu_threads": torch.get_num_threads(), "textattack_wrapper": args.textattack_wrapper,
        "budget_per_word": args.budget_per_word, "speedup": speed, "success_rate_gap_points": gap,
        "goal_met": bool(speed >= 5 and abs(gap) <= 2), **measured,
        "command": "python benchmarks/textattack_speed.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None and k != "output"),
    }
    Path(args.output).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"{'attack':16} {'ex/s':>8} {'success':>8} {'queries':>8} {'seconds':>8}   ({len(examples)} examples, {device})")
    for name, row in measured.items():
        print(f"{name:16} {row['examples_per_second']:8.3f} {row['success_rate']:8.1%} {row['mean_queries']:8.1f} {row['seconds']:8.1f}")
    print(f"speed-up {speed:.1f}x, success-rate gap {gap:+.1f} points, goal (>= 5x, within 2 points) {'met' if record['goal_met'] else 'not met'}")


if __name__ == "__main__":
    main()
