"""Attack throughput: one example at a time (the previous engine's schedule) against many examples in flight.

For each recipe, on the same checkpoint and examples:
- `sequential`: the loop the previous engine ran: per example, the victim's cache cleared, the generators
  seeded, the attack run alone (fp32, batches of 64);
- `interleaved`: the pipeline's attack pass (robust_eval.pipeline.execute.attack_pass) with `--in-flight`
  examples at once, fp32; its records are compared with the sequential ones example by example;
- `interleaved-bf16` (CUDA only): the same in bf16; clean predictions and attack outcomes that differ from fp32
  are counted.
- `--textattack NAME` (CPU or CUDA, needs the `textattack` extra): TextAttack's own recipe on the same
  examples, one at a time through its model wrapper, as its users run it.
Every phase reports the example quality of its successes (attacks.quality, the scorer the reports use).
Only attack time is timed (models and resources are loaded first). On CUDA, GPU utilisation is sampled with
nvidia-smi every 100 ms during each attack phase and the peak GPU memory is read from PyTorch.

    python benchmarks/throughput.py --model DIR --recipe wordnet-swap [--limit 1000] [--in-flight 256] \
        [--skip-sequential] [--textattack pwws] [--output benchmarks/throughput.json]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import platform
import pstats
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from attacks.quality import score_successes
from attacks.registry import build_recipe, parse_params
from robust_eval.core.data import Dataset, load_dataset
from robust_eval.core.victim import HFVictim, load_victim
from robust_eval.pipeline.execute import attack_pass, clean_pass, progress_bar, seed_everything, unit_seed
from robust_eval.pipeline.plan import build_plan, git_commit
from robust_eval.pipeline.store import RecordStore, read_records
from robust_eval.report.quality import cell, recipe_quality

COMPARED = ("status", "perturbed_text", "queries", "modified_indices", "perturbed_prediction")


@dataclass
class GpuSampler:
    """nvidia-smi utilisation samples (percent) taken every 100 ms while running."""

    samples: list[int] = field(default_factory=list)
    process: subprocess.Popen | None = None
    reader: threading.Thread | None = None

    def __enter__(self) -> "GpuSampler":
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
            self.process = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "100"],
                stdout=subprocess.PIPE, text=True)
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip().isdigit():
                self.samples.append(int(line.strip()))

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()

    def summary(self) -> dict[str, Any]:
        if not torch.cuda.is_available():
            return {}
        return {"gpu_busy_mean_pct": float(np.mean(self.samples)) if self.samples else None,
                "gpu_samples": len(self.samples),
                "peak_gpu_memory_mb": torch.cuda.max_memory_allocated() / 2**20}


def sequential(attack: Any, victim: HFVictim, dataset: Dataset, targets: Sequence[int], sha: str, recipe: str,
               seed: int) -> tuple[dict[str, dict], float]:
    """The previous engine's loop (also how TextAttack runs), then the example-quality scoring of the successes
    that the interleaved pass does inside its own timing; results by example id and the seconds of both."""
    results = []
    started = time.perf_counter()
    for index in targets:
        example = dataset.examples[index]
        victim.clear_cache()
        seed_everything(unit_seed(seed, sha, recipe, example.id))
        results.append(attack.attack(victim, example))
    score_successes(results)
    return {r.example_id: r.to_dict() for r in results}, time.perf_counter() - started


def interleaved(attack: Any, victim: HFVictim, plan: Any, recipe: str, in_flight: int, work: Path,
                profile: Path | None = None) -> tuple[dict[str, dict], float]:
    """The pipeline's attack pass into a scratch store; results by example id and the attack seconds
    (with `profile`, the attack pass runs under cProfile and the 30 costliest functions are written there)."""
    checkpoint = plan.checkpoints[0]
    data = plan.aligned[checkpoint.name]
    with RecordStore(work, plan.config()) as store, progress_bar(False) as progress:
        clean_pass(store, victim, checkpoint.name, data, None, progress)
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        attack_pass(store, victim, checkpoint, recipe, attack, data, plan.seed, None, in_flight, progress)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
            with profile.open("w", encoding="utf-8") as handle:
                pstats.Stats(profiler, stream=handle).sort_stats("tottime").print_stats(30)
    results = {r["example_id"]: r["result"] for r in read_records(work) if r["kind"] == "attack"}
    return results, seconds


def compare(reference: dict[str, dict], other: dict[str, dict]) -> dict[str, Any]:
    """Examples whose compared fields differ, and the largest confidence difference."""
    differing = [i for i in reference if any(reference[i][k] != other[i][k] for k in COMPARED)]
    gap = max((abs(reference[i]["perturbed_confidence"] - other[i]["perturbed_confidence"]) for i in reference),
              default=0.0)
    return {"examples": len(reference), "differing": len(differing), "differing_ids": differing[:20],
            "max_confidence_difference": gap}


def recorded(directory: Path, checkpoint: str, recipe: str) -> dict[str, dict]:
    """Attack results of `checkpoint` under `recipe` in an earlier output directory, by example id."""
    return {r["example_id"]: r["result"] for r in read_records(directory)
            if r["kind"] == "attack" and r["checkpoint"] == checkpoint and r["recipe"] == recipe}


def phase(name: str, results: dict[str, dict], seconds: float, sampler: GpuSampler) -> dict[str, Any]:
    done = [r for r in results.values() if r["status"] != "skipped"]
    succeeded = sum(r["status"] == "succeeded" for r in done)
    queries = sum(r["queries"] for r in results.values())
    records = [{"kind": "attack", "checkpoint": "", "recipe": "", "example_id": i, "result": r} for i, r in results.items()]
    return {"phase": name, "attack_seconds": seconds, "examples": len(results), "attacked": len(done),
            "success_rate": succeeded / len(done) if done else None, "queries": queries,
            "queries_per_second": queries / seconds if seconds else None, **sampler.summary(),
            "quality": recipe_quality(records, "", "")}


@dataclass
class Setup:
    """The plan, its one checkpoint's examples, an fp32 victim (batches of 64) and the examples it gets right."""

    plan: Any
    data: Dataset
    victim: HFVictim
    clean: np.ndarray
    targets: list[int]


def prepare(args: argparse.Namespace, dataset: Dataset) -> Setup:
    plan = build_plan([Path(args.model)], dataset, [], seed=args.seed, limit=args.limit)
    checkpoint = plan.checkpoints[0]
    data = plan.aligned[checkpoint.name]
    victim = load_victim(checkpoint.path, device=args.device, batch_size=64)
    clean = victim.predict_proba([e.text for e in data.examples])
    targets = [i for i, e in enumerate(data.examples) if int(np.argmax(clean[i])) == e.label]
    return Setup(plan, data, victim, clean, targets)


def run_textattack(args: argparse.Namespace, name: str, dataset: Dataset) -> dict[str, Any]:
    """TextAttack's recipe `name`, one example at a time through its own model wrapper, as a TextAttack user
    runs it (its own query budget), on the examples the model gets right."""
    from attacks.textattack_bridge import TextAttackRecipe

    setup = prepare(args, dataset)
    checkpoint = setup.plan.checkpoints[0]
    attack = TextAttackRecipe(name, budget_per_word=None, wrapper="huggingface")
    with GpuSampler() as sampler:
        results, seconds = sequential(attack, setup.victim, setup.data, setup.targets, checkpoint.sha256, name, args.seed)
    return {"recipe": f"textattack:{name}", "params": {}, "correct": len(setup.targets),
            "phases": [phase("TextAttack, one at a time, fp32 batch 64", results, seconds, sampler)], "comparisons": {}}


def run_recipe(args: argparse.Namespace, recipe: str, dataset: Dataset) -> dict[str, Any]:
    params = parse_params(args.param)
    setup = prepare(args, dataset)
    plan, data, fp32, clean, targets = setup.plan, setup.data, setup.victim, setup.clean, setup.targets
    checkpoint = plan.checkpoints[0]
    attack = build_recipe(recipe, params)
    phases, compared = [], {}
    reference = None
    if not args.skip_sequential:
        with GpuSampler() as sampler:
            reference, seconds = sequential(attack, fp32, data, targets, checkpoint.sha256, recipe, args.seed)
        phases.append(phase("sequential fp32 batch 64", reference, seconds, sampler))
    precisions = [] if args.skip_interleaved else [p for p in args.precision if p == "fp32" or torch.cuda.is_available()]
    fp32_results = None
    for precision in precisions:
        victim = load_victim(checkpoint.path, device=args.device, batch_size=args.batch_size, precision=precision)
        with tempfile.TemporaryDirectory() as work, GpuSampler() as sampler:
            profile = args.profile / f"profile-{recipe}-{precision}.txt" if args.profile else None
            results, seconds = interleaved(attack, victim, plan, recipe, args.in_flight, Path(work), profile)
        phases.append(phase(f"interleaved {precision} in-flight {args.in_flight} batch {args.batch_size}",
                            results, seconds, sampler))
        if precision == "fp32":
            fp32_results = results
            if reference is not None:
                compared["interleaved fp32 vs sequential"] = compare(reference, results)
            earlier = recorded(args.reference, checkpoint.name, recipe) if args.reference else {}
            if earlier:
                compared["interleaved fp32 vs the reference run"] = compare(earlier, results)
        else:
            probabilities = victim.predict_proba([e.text for e in data.examples])
            compared[f"{precision} vs fp32"] = compare(fp32_results, {i: results[i] for i in fp32_results}) | {
                "clean_predictions_differing": int((probabilities.argmax(1) != clean.argmax(1)).sum())}
        del victim
    return {"recipe": recipe, "params": params, "correct": len(targets), "phases": phases, "comparisons": compared}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default="mr:test")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--recipe", action="append", default=[])
    parser.add_argument("--param", action="append", default=[], help="key=value for every recipe")
    parser.add_argument("--in-flight", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--device", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-sequential", action="store_true")
    parser.add_argument("--skip-interleaved", action="store_true",
                        help="only the one-at-a-time phase (run each schedule in its own process to keep the shared "
                             "tagger, language-model and parser caches of one phase from serving another)")
    parser.add_argument("--precision", action="append", choices=["fp32", "bf16", "fp16"], default=None,
                        help="interleaved phases to run (default fp32, and bf16 on CUDA); fp32 comes first")
    parser.add_argument("--reference", type=Path, default=None,
                        help="an earlier output directory with records of this checkpoint (same name) and recipes")
    parser.add_argument("--output", default=None)
    parser.add_argument("--profile", type=Path, default=None, help="directory for cProfile summaries of the interleaved phases")
    parser.add_argument("--textattack", action="append", default=[],
                        help="also run this TextAttack recipe (e.g. pwws) on the same examples (needs the textattack extra)")
    args = parser.parse_args(argv)
    args.precision = ["fp32"] + [p for p in (args.precision or ["bf16"]) if p != "fp32"]
    dataset = load_dataset(args.data).head(args.limit)
    rows = [run_recipe(args, recipe, dataset) for recipe in args.recipe or ["wordnet-swap"]]
    rows += [run_textattack(args, name, dataset) for name in args.textattack]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu"
    report = {"model": args.model, "data": args.data, "examples": len(dataset), "device": device,
              "torch_threads": torch.get_num_threads(), "commit": git_commit(), "recipes": rows}
    for row in rows:
        for p in row["phases"]:
            busy = p.get("gpu_busy_mean_pct")
            print(f"{row['recipe']:>14} | {p['phase']:<42} | {p['attack_seconds']:7.1f} s | "
                  f"{p['examples'] / p['attack_seconds']:7.1f} ex/s | ASR {100 * (p['success_rate'] or 0):5.1f} % | "
                  f"{p['queries']:7d} q | busy {'-' if busy is None else f'{busy:.0f} %'} | "
                  f"peak {p.get('peak_gpu_memory_mb', 0):.0f} MB")
            q = p["quality"]
            print(f"{'':>14} | quality of {q['scored']} successes: similarity median {cell(q['similarity_median'])}, "
                  f"perplexity ratio median {cell(q['perplexity_ratio_median'])}, POS match {cell(q['pos_match'])}, "
                  f"grammar errors added {cell(q['grammar_errors_added_mean'])}")
        for name, c in row["comparisons"].items():
            print(f"{row['recipe']:>14} | {name}: {c['differing']} of {c['examples']} differ, "
                  f"max confidence gap {c['max_confidence_difference']:.2e}"
                  + (f", clean predictions differing {c['clean_predictions_differing']}" if "clean_predictions_differing" in c else ""))
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
