"""Join output directories evaluated apart (other hosts, other recipes, other checkpoints) into one.

The parts must agree on what makes their numbers comparable: the same examples (dataset digest), attack
seed and record format; a checkpoint or recipe that appears in several parts must be the same weights
(SHA-256) or the same parameters. The joined `run.json` lists every checkpoint and recipe, groups
checkpoints that differ only by training seed, and keeps each part's environment; records are copied once
(a unit recorded by several parts is taken from the first).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from robust_eval.core.errors import RobustEvalError
from robust_eval.experiment import EXPERIMENT_COPY
from robust_eval.pipeline.store import RUN_FILE, RecordStore, comparable_config, read_records, read_run, record_key
from robust_eval.pipeline.plan import SEED_IN_NAME

SHARED_KEYS = ("format", "data", "seed")


def _union(parts: Sequence[tuple[str, dict[str, Any]]], key: str, identity: str) -> list[dict[str, Any]]:
    """Entries of `config[key]` from every part, once each by name; the same name must agree on `identity`."""
    merged: dict[str, dict[str, Any]] = {}
    first_seen: dict[str, str] = {}
    for part, config in parts:
        for entry in config[key]:
            known = merged.setdefault(entry["name"], entry)
            first_seen.setdefault(entry["name"], part)
            if known[identity] != entry[identity]:
                raise RobustEvalError(
                    f"{key[:-1]} '{entry['name']}' differs between {first_seen[entry['name']]} and {part} "
                    f"({identity}): these parts cannot be joined"
                )
    return list(merged.values())


def _regroup(checkpoints: list[dict[str, Any]]) -> None:
    """Group checkpoints whose names differ only by `seed<N>` (their group label is the name without it)."""
    keys = [SEED_IN_NAME.sub("", c["name"]) if c["seed"] is not None else None for c in checkpoints]
    counts = Counter(k for k in keys if k is not None)
    for checkpoint, key in zip(checkpoints, keys):
        checkpoint["group"] = (key or checkpoint["name"]) if key is not None and counts[key] > 1 else None


def portable(environment: dict[str, Any]) -> dict[str, Any]:
    """A part's environment without host paths (checkpoint directories of another machine mean nothing here)."""
    return {k: v for k, v in environment.items() if k != "checkpoint_paths"}


def _keep(entries: list[dict[str, Any]], chosen: Sequence[str], kind: str) -> list[dict[str, Any]]:
    """The entries named in `chosen` (all when it is empty); a name not among them is a one-line error."""
    names = [e["name"] for e in entries]
    unknown = [c for c in chosen if c not in names]
    if unknown:
        raise RobustEvalError(f"no {kind} '{unknown[0]}' in these runs: choose from {', '.join(names)}")
    return [e for e in entries if not chosen or e["name"] in chosen]


def merge_runs(
    sources: Sequence[Path], out_dir: Path, checkpoints: Sequence[str] = (), recipes: Sequence[str] = (),
) -> Path:
    """Join the output directories `sources` into `out_dir` (new or empty); the caller renders its report.

    `checkpoints` / `recipes` keep only those (e.g. to carry unfinished work of one run to another host and
    resume it there); with either, a single source is enough.
    """
    if len(sources) < (1 if checkpoints or recipes else 2):
        raise RobustEvalError("merge needs at least two output directories (or one with --checkpoint / --recipe)")
    runs = []
    for source in sources:
        run = read_run(Path(source))
        if run is None:
            raise RobustEvalError(f"{source} holds no {RUN_FILE}: pass output directories of evaluate or run")
        runs.append((Path(source).name, run))
    first_name, first = runs[0]
    first_comparable = comparable_config(first["config"])
    for name, run in runs[1:]:
        comparable = comparable_config(run["config"])
        for key in SHARED_KEYS:
            if comparable[key] != first_comparable[key]:
                raise RobustEvalError(f"{name} and {first_name} differ in '{key}': only runs on the same examples and seed join")
    configs = [(name, run["config"]) for name, run in runs]
    kept = _keep(_union(configs, "checkpoints", "sha256"), checkpoints, "checkpoint")
    _regroup(kept)
    chosen = _keep(_union(configs, "recipes", "params"), recipes, "recipe")
    config = {**first["config"], "checkpoints": kept, "recipes": chosen}
    kept_names, chosen_names = {c["name"] for c in kept}, {r["name"] for r in chosen} | {""}  # "": clean records
    environment = {"merged_from": [{"part": name, **portable(run["environment"])} for name, run in runs]}
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise RobustEvalError(f"--out {out_dir} is not empty: merge into a new directory")
    with RecordStore(out_dir, config, environment) as store:
        for source in sources:
            for record in read_records(Path(source)):
                _, checkpoint, recipe, _ = record_key(record)
                if checkpoint in kept_names and recipe in chosen_names and record_key(record) not in store:
                    store.append(record)
    copy_experiment_file(sources, out_dir)
    return out_dir


def copy_experiment_file(sources: Sequence[Path], out_dir: Path) -> None:
    """Keep the parts' experiment file when they have one (they must agree)."""
    copies = [Path(s) / EXPERIMENT_COPY for s in sources]
    texts = {copy.read_text(encoding="utf-8") for copy in copies if copy.is_file()}
    if len(texts) > 1:
        raise RobustEvalError(f"the parts hold different {EXPERIMENT_COPY} files: join runs of one experiment only")
    if texts:
        (out_dir / EXPERIMENT_COPY).write_text(texts.pop(), encoding="utf-8")
