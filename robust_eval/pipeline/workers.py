"""Evaluation split over worker processes of one host, all writing into one output directory.

An attack spends most of its time in Python and in small forward passes, so a single process leaves a
GPU (or the other CPU cores) mostly idle. With `--jobs N`, worker I evaluates shard I/N of the examples
(`execute.run_shard` of the parent's plan, as it is: workers resolve nothing again; its own records
file); the parent shows one progress bar counted from the record files. On a host with several GPUs the
workers are dealt round-robin over them (unless the run names one device). A failed worker stops the others;
whatever they recorded stays, so rerunning the command resumes. Each worker runs on its own share of the
CPU cores, so the Apertium pipelines and parser processes it starts (one per core it has) do not pile up.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from importlib import import_module
from pathlib import Path
from typing import Any, Sequence

from robust_eval.core.errors import RobustEvalError
from robust_eval.pipeline.plan import EvaluationPlan
from robust_eval.pipeline.store import RECORDS_GLOB, RecordKey, parse_lines, record_key

POLL_SECONDS = 2.0


def worker_gpu(index: int, device: str | None, gpus: int) -> int | None:
    """The GPU of worker `index` when several are visible and no particular device was asked for."""
    if gpus > 1 and device in (None, "cuda"):
        return index % gpus
    return None


def worker_cores(index: int, jobs: int) -> set[int] | None:
    """Worker `index`'s share of the cores this process may use: contiguous slices, one core at least
    (None where CPU affinity cannot be set)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    if jobs >= len(cores):
        return {cores[index % len(cores)]}
    size, extra = divmod(len(cores), jobs)
    start = index * size + min(index, extra)
    return set(cores[start:start + size + (index < extra)])


def _worker(plan: EvaluationPlan, out_dir: Path, modules: list[str], index: int, jobs: int, errors: Any) -> None:
    """Evaluate shard `index` of `jobs` (runs in a spawned process, after importing the modules that
    registered the requested recipes, so recipes registered outside the package are found too)."""
    import torch

    from robust_eval.pipeline.execute import for_worker, progress_bar, run_shard

    cores = worker_cores(index, jobs)
    if cores is not None:
        os.sched_setaffinity(0, cores)  # MT pipelines and parser processes are sized to (and inherit) this share
    torch.set_num_threads(len(cores) if cores else max(1, (os.cpu_count() or 1) // jobs))
    gpu = worker_gpu(index, plan.engine.device, torch.cuda.device_count())
    device = plan.engine.device
    if gpu is not None:
        torch.cuda.set_device(gpu)  # "cuda" now means this GPU, for the victim and the sentence encoder
        device = f"cuda:{gpu}"
    try:
        for module in modules:
            import_module(module)
        with progress_bar(False) as progress:
            run_shard(for_worker(plan, device), out_dir, (index, jobs), progress)
    except Exception as error:  # reported to the parent as one line, whatever its type
        errors.put((index, str(error) if isinstance(error, RobustEvalError) else f"{type(error).__name__}: {error}"))
        raise SystemExit(1) from None


class UnitCounter:
    """Finished units in an output directory, read incrementally (only bytes appended since the last call):
    clean predictions, attacks, and the attacks a wrong clean prediction makes unnecessary."""

    def __init__(self, out_dir: Path, recipes: int) -> None:
        self.out_dir = out_dir
        self.recipes = recipes
        self.offsets: dict[Path, int] = {}
        self.seen: set[RecordKey] = set()
        self.done = 0

    def __call__(self) -> int:
        for path in sorted(self.out_dir.glob(RECORDS_GLOB)):
            with path.open("rb") as handle:
                handle.seek(self.offsets.get(path, 0))
                records, intact = parse_lines(path, handle.read())
            self.offsets[path] = self.offsets.get(path, 0) + intact
            for record in records:
                key = record_key(record)
                if key in self.seen:
                    continue
                self.seen.add(key)
                self.done += 1
                if record["kind"] == "clean" and record["prediction"] != record["label"]:
                    self.done += self.recipes
        return self.done


def evaluate_in_workers(plan: EvaluationPlan, out_dir: Path, progress: Any) -> None:
    """Run `plan.engine.jobs` workers over the shards of the plan; raise if any of them fails."""
    from attacks.registry import get_recipe

    jobs = plan.engine.jobs
    modules = sorted({get_recipe(r.name).origin for r in plan.recipes})
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    workers = [
        context.Process(target=_worker, args=(plan, out_dir, modules, i, jobs, errors), daemon=True)
        for i in range(jobs)
    ]
    total = len(plan.checkpoints) * len(plan.dataset) * (1 + len(plan.recipes))
    task = progress.add_task(f"{jobs} workers: clean + attacks", total=total)
    units_done = UnitCounter(out_dir, len(plan.recipes))
    try:
        for worker in workers:
            worker.start()
        while any(worker.is_alive() for worker in workers):
            time.sleep(POLL_SECONDS)
            progress.update(task, completed=units_done())
            if any(worker.exitcode not in (None, 0) for worker in workers):
                break
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
    progress.update(task, completed=units_done())
    failed = _failures(workers, errors)
    if failed:
        raise RobustEvalError(f"{failed}; finished work is kept: rerun the same command to resume")


def _failures(workers: Sequence[Any], errors: Any) -> str:
    """One line naming the first failed worker and its error ('' when all succeeded)."""
    messages = {}
    while not errors.empty():
        index, message = errors.get()
        messages[index] = message
    for index, worker in enumerate(workers):
        if worker.exitcode != 0:
            reason = messages.get(index, f"exit code {worker.exitcode}")
            return f"evaluation worker {index + 1} of {len(workers)} failed ({reason})"
    return ""
