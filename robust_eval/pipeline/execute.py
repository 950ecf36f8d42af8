"""Execute: consume a plan in this process, one shard of the examples, writing each finished unit at once.

Per checkpoint: the clean pass (fixed chunks of the dataset), then every recipe on every correctly
classified example. Attacks run interleaved (robust_eval.core.gather): up to `engine.in_flight` examples at
once, their victim and encoder queries merged into large batches, each example with its own query budget
and cache and its random generators seeded from (run seed, checkpoint, recipe, example), so a unit's
record does not depend on which other units ran beside it or before it (up to floating-point rounding
of the padded batches). Attacks whose constraints must be reset between examples run one at a time.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from attacks.core import Attack, ExampleLimits
from attacks.quality import score_successes
from attacks.result import AttackResult
from robust_eval.core.console import err as console
from robust_eval.core.data import Dataset, Example
from robust_eval.core.gather import Interleaver
from robust_eval.core.victim import HFVictim, load_victim
from robust_eval.pipeline.plan import Checkpoint, EvaluationPlan, RecipeRequest
from robust_eval.pipeline.store import AttackRecord, CleanRecord, RecordStore

CLEAN_CHUNK = 256
Shard = tuple[int, int] | None


def unit_seed(seed: int, *parts: str) -> int:
    """A 32-bit seed for one unit of work, independent of the order units are run in."""
    text = "\x1f".join([str(seed), *parts])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def in_shard(index: int, shard: Shard) -> bool:
    """Examples are dealt to shards round-robin by their position in the dataset."""
    return shard is None or index % shard[1] == shard[0]


def progress_bar(show: bool) -> Progress:
    """A progress display with a bar, counts, elapsed time and ETA, on stderr."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("ETA"), TimeRemainingColumn(), console=console, disable=not show,
    )


def build_attacks(recipes: Sequence[RecipeRequest]) -> dict[str, Attack]:
    """Build every recipe of the plan (their resources are loaded here, once per process)."""
    from attacks.registry import build_recipe

    return {r.name: build_recipe(r.name, dict(r.params)) for r in recipes}


def clean_pass(store: RecordStore, victim: HFVictim, checkpoint: str, dataset: Dataset, shard: Shard,
               progress: Progress) -> None:
    """Record the clean prediction of every example of the shard, in fixed chunks of the dataset."""
    pending = [
        i for i, e in enumerate(dataset.examples)
        if in_shard(i, shard) and ("clean", checkpoint, "", e.id) not in store
    ]
    task = progress.add_task(f"{checkpoint}: clean", total=len(pending))
    for first in sorted({i - i % CLEAN_CHUNK for i in pending}):
        chunk = dataset.examples[first:first + CLEAN_CHUNK]
        victim.clear_cache()
        probabilities = victim.predict_proba([e.text for e in chunk])
        cut = victim.cut([e.text for e in chunk])
        for offset, (example, row, truncated) in enumerate(zip(chunk, probabilities, cut)):
            index = first + offset
            if not in_shard(index, shard) or ("clean", checkpoint, "", example.id) in store:
                continue
            store.append(CleanRecord(checkpoint, example.id, index, example.label, int(np.argmax(row)),
                                     float(row[example.label]), [float(p) for p in row], truncated))
            progress.advance(task)


def attack_pass(store: RecordStore, victim: HFVictim, checkpoint: Checkpoint, recipe: str, attack: Attack,
                dataset: Dataset, seed: int, shard: Shard, in_flight: int, progress: Progress,
                limits: ExampleLimits = ExampleLimits()) -> None:
    """Attack every correctly classified example of the shard with one recipe, recording each result."""
    correct = store.correct_examples(checkpoint.name)
    targets = [(i, e) for i, e in enumerate(dataset.examples) if in_shard(i, shard) and e.id in correct]
    todo = [(i, e) for i, e in targets if ("attack", checkpoint.name, recipe, e.id) not in store]
    task = progress.add_task(f"{checkpoint.name}: {recipe}", total=len(targets), completed=len(targets) - len(todo))

    def attack_one(example: Example) -> Callable[[], AttackResult]:
        def run() -> AttackResult:
            result = attack.attack(victim, example, limits)
            if result.status == "succeeded":
                score_successes([result])  # example quality, with whatever scoring resources are present
            return result
        return run

    def seeded(example: Example) -> Callable[[], None]:
        return lambda: seed_everything(unit_seed(seed, checkpoint.sha256, recipe, example.id))

    def record(position: int, result: AttackResult) -> None:
        index, example = todo[position]
        store.append(AttackRecord(checkpoint.name, recipe, example.id, index, result))
        progress.advance(task)

    interleaver = Interleaver(in_flight if attack.interleavable else 1)
    interleaver.run([attack_one(e) for _, e in todo], record, [seeded(e) for _, e in todo])


def run_shard(plan: EvaluationPlan, out_dir: Path, shard: Shard, progress: Progress,
              attacks: Mapping[str, Attack] | None = None) -> None:
    """Evaluate shard `shard` of the plan in this process into `out_dir` (already claimed)."""
    engine = plan.engine
    attacks = attacks if attacks is not None else build_attacks(plan.recipes)
    with RecordStore(out_dir, plan.config(), None, shard) as store:
        for checkpoint in plan.checkpoints:
            victim = load_victim(checkpoint.path, engine.trust_pickle, engine.device, engine.resolved_batch_size,
                                 plan.inputs.max_length, plan.inputs.single_logit, engine.precision,
                                 checkpoint.temperature, checked=True)
            data = plan.aligned[checkpoint.name]
            clean_pass(store, victim, checkpoint.name, data, shard, progress)
            for request in plan.recipes:
                attack_pass(store, victim, checkpoint, request.name, attacks[request.name], data, plan.seed, shard,
                            engine.in_flight, progress, plan.limits)
            del victim


def for_worker(plan: EvaluationPlan, device: str | None) -> EvaluationPlan:
    """The plan as one worker process executes it: on its own device, one process."""
    return replace(plan, engine=replace(plan.engine, device=device, jobs=1, shard=None))

