"""The evaluation runner: clean predictions, then every recipe on every correctly classified example.

Each finished unit (a clean prediction, one attack) becomes one JSON line in the output directory as soon
as it is done (see `robust_eval.records`); a rerun with the same directory does only what is missing.
Every attack starts from the same state however the run was interrupted: the victim's cache is cleared
and the random generators are seeded from (run seed, checkpoint, recipe, example). Clean predictions are
computed in fixed chunks of the dataset for the same reason, so a resumed run writes the same records as
an uninterrupted one (timings aside).
"""

from __future__ import annotations

import hashlib
import json
import platform
import random
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from robust_eval.core.console import err as console
from robust_eval.core.data import Dataset, Example, align_labels
from robust_eval.core.errors import RobustEvalError
from robust_eval.records import RecordStore, claim_run_dir
from robust_eval.core.versions import library_versions
from robust_eval.core.victim import HFVictim, check_checkpoint, load_victim

RUN_FORMAT = 1
TRAINING_CARD = "training.json"
SEED_IN_NAME = re.compile(r"[-_.]?seed[-_]?(\d+)", re.IGNORECASE)
RUN_ONLY_SETTINGS = {"seed", "output", "progress", "logging_steps", "eval_batch_size"}
CLEAN_CHUNK = 256
HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class RecipeRequest:
    """A recipe name and its parameters (as given on the command line or in an experiment file)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint to evaluate: its short unique name, directory, file digest and training seed group.

    Checkpoints of one `group` differ only by their training `seed`: the report gives their mean +- std.
    """

    name: str
    path: Path
    sha256: str
    seed: int | None
    group: str | None


def describe_checkpoints(paths: Sequence[Path], trust_pickle: bool = False) -> list[Checkpoint]:
    """Check every checkpoint directory and give each a unique name (the shortest distinct path tail)."""
    resolved = [Path(p).resolve() for p in paths]
    if len(set(resolved)) < len(resolved):
        duplicate = next(p for p, n in Counter(resolved).items() if n > 1)
        raise RobustEvalError(f"--model {duplicate} is given twice: pass each checkpoint once")
    for path in resolved:
        check_checkpoint(path, trust_pickle)
    depth = 1
    while True:
        names = ["/".join(p.parts[-depth:]) for p in resolved]
        if len(set(names)) == len(names):
            break
        depth += 1
    seeds = [training_seed(p, n) for p, n in zip(resolved, names)]
    groups = seed_group_names(resolved, names, seeds)
    return [Checkpoint(n, p, checkpoint_digest(p), s, g) for n, p, s, g in zip(names, resolved, seeds, groups)]


def training_card(path: Path) -> dict[str, Any] | None:
    """The training record the trainers save beside the weights (None for other checkpoints)."""
    card = path / TRAINING_CARD
    if not card.is_file():
        return None
    try:
        record = json.loads(card.read_text(encoding="utf-8"))
    except ValueError:
        raise RobustEvalError(f"{card} is not valid JSON: restore or delete it") from None
    return record if isinstance(record, dict) else None


def training_seed(path: Path, name: str) -> int | None:
    """The training seed: from the training card, else from a `seed<N>` part of the checkpoint name."""
    card = training_card(path)
    if card is not None and isinstance(card.get("seed"), int):
        return card["seed"]
    found = SEED_IN_NAME.findall(name)
    return int(found[-1]) if found else None


def seed_group_names(paths: Sequence[Path], names: Sequence[str], seeds: Sequence[int | None]) -> list[str | None]:
    """Name the groups of checkpoints that differ only by seed (same training settings, or same name
    apart from `seed<N>`); checkpoints without a partner get None."""
    keys: list[str | None] = []
    for path, name, seed in zip(paths, names, seeds):
        card = training_card(path)
        if seed is None:
            keys.append(None)
        elif card is not None and isinstance(card.get("hyperparameters"), dict):
            settings = {k: v for k, v in card["hyperparameters"].items() if k not in RUN_ONLY_SETTINGS}
            keys.append(json.dumps(settings, sort_keys=True))
        else:
            keys.append(SEED_IN_NAME.sub("", name))
    counts = Counter(k for k in keys if k is not None)
    labels: dict[str, str] = {}
    for key, name in zip(keys, names):
        if key is not None and counts[key] > 1 and key not in labels:
            labels[key] = SEED_IN_NAME.sub("", name) or name
    return [labels.get(k) if k is not None else None for k in keys]


def checkpoint_digest(path: Path) -> str:
    """SHA-256 over the configuration and weight files, so a retrained checkpoint is never mistaken."""
    digest = hashlib.sha256()
    files = [path / "config.json"] + sorted(path.glob("*.safetensors")) + sorted(path.glob("pytorch_model*.bin"))
    for file in files:
        digest.update(file.name.encode())
        with file.open("rb") as handle:
            while block := handle.read(HASH_BLOCK):
                digest.update(block)
    return digest.hexdigest()


def dataset_digest(examples: Sequence[Example]) -> str:
    """SHA-256 over the ids, texts and labels of the evaluated examples."""
    payload = json.dumps([[e.id, e.text, e.label] for e in examples], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def checkpoint_label_names(path: Path) -> list[str]:
    """The label names a checkpoint's configuration declares, in class-index order."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(path, trust_remote_code=False)
    id2label = getattr(config, "id2label", None) or {}
    return [str(id2label.get(i, f"LABEL_{i}")) for i in range(config.num_labels)]


def run_config(
    checkpoints: Sequence[Checkpoint], label_names: Mapping[str, list[str]], dataset: Dataset,
    recipes: Sequence[RecipeRequest], seed: int, limit: int | None,
) -> dict[str, Any]:
    """What defines a run's records; an output directory never mixes records of two configurations."""
    return {
        "format": RUN_FORMAT,
        "checkpoints": [
            {"name": c.name, "sha256": c.sha256, "seed": c.seed, "group": c.group, "label_names": label_names[c.name]}
            for c in checkpoints
        ],
        "data": {
            "name": dataset.name,
            "examples": len(dataset),
            "limit": limit,
            "label_names": list(dataset.label_names),
            "sha256": dataset_digest(dataset.examples),
        },
        "recipes": [{"name": r.name, "params": dict(r.params)} for r in recipes],
        "seed": seed,
    }


def git_commit() -> str | None:
    """The source tree's git commit (None outside a git checkout)."""
    source = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def environment(device: str | None) -> dict[str, Any]:
    """Library versions, git commit and device of this run (recorded once, when the run starts)."""
    resolved = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    device_name = torch.cuda.get_device_name(resolved) if resolved.type == "cuda" else platform.processor() or "cpu"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": library_versions(),
        "git_commit": git_commit(),
        "device": {"type": resolved.type, "name": device_name, "torch_threads": torch.get_num_threads()},
    }


def unit_seed(seed: int, *parts: str) -> int:
    """A 32-bit seed for one unit of work, independent of the order units are run in."""
    text = "\x1f".join([str(seed), *parts])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def in_shard(index: int, shard: tuple[int, int] | None) -> bool:
    """Examples are dealt to shards round-robin by their position in the dataset."""
    return shard is None or index % shard[1] == shard[0]


def progress_bar(show: bool) -> Progress:
    """A progress display with a bar, counts, elapsed time and ETA, on stderr."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("ETA"), TimeRemainingColumn(), console=console, disable=not show,
    )


def build_attacks(recipes: Sequence[RecipeRequest]) -> dict[str, Any]:
    """Build every recipe before any work starts, so a bad name or parameter fails at once."""
    from attacks.registry import build_recipe

    names = [r.name for r in recipes]
    if len(set(names)) < len(names):
        raise RobustEvalError("a --recipe is given twice: pass each recipe once")
    return {r.name: build_recipe(r.name, dict(r.params)) for r in recipes}


def clean_pass(
    store: RecordStore, victim: HFVictim, checkpoint: str, dataset: Dataset, shard: tuple[int, int] | None,
    progress: Progress,
) -> None:
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
        for offset, (example, row) in enumerate(zip(chunk, probabilities)):
            index = first + offset
            if not in_shard(index, shard) or ("clean", checkpoint, "", example.id) in store:
                continue
            store.append({
                "kind": "clean", "checkpoint": checkpoint, "recipe": "", "example_id": example.id,
                "index": index, "label": example.label, "prediction": int(np.argmax(row)),
                "confidence": float(row[example.label]), "probabilities": [float(p) for p in row],
            })
            progress.advance(task)


def attack_pass(
    store: RecordStore, victim: HFVictim, checkpoint: Checkpoint, recipe: str, attack: Any, dataset: Dataset,
    seed: int, shard: tuple[int, int] | None, progress: Progress,
) -> None:
    """Attack every correctly classified example of the shard with one recipe, recording each result."""
    correct = {
        r["example_id"] for r in store
        if r["kind"] == "clean" and r["checkpoint"] == checkpoint.name and r["prediction"] == r["label"]
    }
    targets = [(i, e) for i, e in enumerate(dataset.examples) if in_shard(i, shard) and e.id in correct]
    todo = [(i, e) for i, e in targets if ("attack", checkpoint.name, recipe, e.id) not in store]
    task = progress.add_task(f"{checkpoint.name}: {recipe}", total=len(targets), completed=len(targets) - len(todo))
    for index, example in todo:
        victim.clear_cache()
        seed_everything(unit_seed(seed, checkpoint.sha256, recipe, example.id))
        result = attack.attack(victim, example)
        if result.status == "succeeded":
            from attacks.quality import score_successes

            score_successes([result])
        store.append({
            "kind": "attack", "checkpoint": checkpoint.name, "recipe": recipe, "example_id": example.id,
            "index": index, "result": result.to_dict(),
        })
        progress.advance(task)


def check_jobs(jobs: int, shard: tuple[int, int] | None = None) -> None:
    """A one-line error for a worker count that cannot run (checked before any training or loading)."""
    if jobs < 1:
        raise RobustEvalError(f"--jobs must be a positive number of worker processes, got {jobs}")
    if jobs > 1 and shard is not None:
        raise RobustEvalError("--jobs and --shard do not combine: give one of them")


def evaluate(
    checkpoint_dirs: Sequence[Path],
    dataset: Dataset,
    recipes: Sequence[RecipeRequest],
    out_dir: Path,
    seed: int = 0,
    *,
    limit: int | None = None,
    trust_pickle: bool = False,
    device: str | None = None,
    batch_size: int = 64,
    shard: tuple[int, int] | None = None,
    jobs: int = 1,
    show_progress: bool = True,
    render_report: bool = True,
) -> Path:
    """Evaluate checkpoints on `dataset` (already cut to `limit`) into `out_dir`; return `out_dir`.

    With no recipes only clean accuracy is measured. Resumable: whatever `out_dir` already records for the
    same configuration is skipped; a directory holding another configuration is refused. `jobs` > 1 splits
    the examples among that many worker processes (`robust_eval.workers`). The report is rendered from the
    records at the end.
    """
    if not checkpoint_dirs:
        raise RobustEvalError("no checkpoint given: pass --model DIR")
    if not dataset.examples:
        raise RobustEvalError(f"dataset {dataset.name} has no examples: check --data and --limit")
    check_jobs(jobs, shard)
    checkpoints = describe_checkpoints(checkpoint_dirs, trust_pickle)
    aligned = {c.name: align_labels(dataset, checkpoint_label_names(c.path)) for c in checkpoints}
    attacks = build_attacks(recipes)
    config = run_config(checkpoints, {c.name: aligned[c.name].label_names for c in checkpoints}, dataset, recipes,
                        seed, limit)
    paths = {c.name: str(c.path) for c in checkpoints}
    run_environment = environment(device) | {"checkpoint_paths": paths, "jobs": jobs}
    if jobs > 1:
        from robust_eval.workers import evaluate_in_workers

        claim_run_dir(Path(out_dir), config, run_environment)
        arguments = {
            "checkpoint_dirs": list(checkpoint_dirs), "dataset": dataset, "recipes": list(recipes), "out_dir": out_dir,
            "seed": seed, "limit": limit, "trust_pickle": trust_pickle, "device": device, "batch_size": batch_size,
        }
        with progress_bar(show_progress) as progress:
            evaluate_in_workers(arguments, jobs, Path(out_dir), len(checkpoints), len(dataset), len(recipes), progress)
    else:
        _evaluate_here(checkpoints, aligned, attacks, recipes, config, run_environment, out_dir, seed, trust_pickle,
                       device, batch_size, shard, show_progress)
    if render_report:
        from robust_eval.report import render

        render(out_dir)
    return Path(out_dir)


def _evaluate_here(
    checkpoints: Sequence[Checkpoint], aligned: Mapping[str, Dataset], attacks: Mapping[str, Any],
    recipes: Sequence[RecipeRequest], config: Mapping[str, Any], run_environment: Mapping[str, Any],
    out_dir: Path, seed: int, trust_pickle: bool, device: str | None, batch_size: int,
    shard: tuple[int, int] | None, show_progress: bool,
) -> None:
    """Evaluate in this process: per checkpoint, the clean pass, then each recipe's attacks."""
    with RecordStore(out_dir, config, run_environment, shard) as store:
        with progress_bar(show_progress) as progress:
            for checkpoint in checkpoints:
                victim = load_victim(checkpoint.path, trust_pickle, device, batch_size)
                data = aligned[checkpoint.name]
                clean_pass(store, victim, checkpoint.name, data, shard, progress)
                for recipe in recipes:
                    attack_pass(store, victim, checkpoint, recipe.name, attacks[recipe.name], data, seed, shard,
                                progress)
                del victim
