"""Plan: everything an evaluation needs, resolved once and frozen, before any work starts.

`build_plan` checks and hashes every checkpoint, reads its label names and aligns the dataset's labels to
them, checks the recipes and the engine settings. The plan's `config()` (what defines the records) and
`environment()` are written once as run.json; the executor, in-process or in worker processes, consumes
the plan as it is and resolves nothing again.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import subprocess
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from attacks.core import ExampleLimits
from robust_eval.core.calibration import Calibration
from robust_eval.core.checkpoints import ResolvedModel, check_checkpoint, training_card
from robust_eval.core.data import Dataset, Example, align_labels
from robust_eval.core.errors import RobustEvalError
from robust_eval.core.gather import DEFAULT_IN_FLIGHT
from robust_eval.core.versions import library_versions
from robust_eval.core.victim import PRECISIONS, SINGLE_LOGIT_LABELS, Precision, checkpoint_max_length

RUN_FORMAT = 1
SEED_IN_NAME = re.compile(r"[-_.]?seed[-_]?(\d+)", re.IGNORECASE)
RUN_ONLY_SETTINGS = {"seed", "output", "progress", "logging_steps", "eval_batch_size"}
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
    label_names: tuple[str, ...] = ()
    calibration: Calibration | None = None  # set on the temperature-scaled variant `NAME@calibrated`
    calibrates: str | None = None

    @property
    def temperature(self) -> float:
        return 1.0 if self.calibration is None else self.calibration.temperature

    def config_entry(self) -> dict[str, Any]:
        """This checkpoint's entry in the run configuration."""
        entry = {"name": self.name, "sha256": self.sha256, "seed": self.seed, "group": self.group,
                 "label_names": list(self.label_names)}
        if self.calibration is not None and self.calibrates is not None:
            entry |= self.calibration.config_fields(self.calibrates)
        return entry


def describe_checkpoints(models: Sequence[Path | ResolvedModel], trust_pickle: bool = False,
                         single_logit: bool = False) -> list[Checkpoint]:
    """Check every checkpoint and give each a unique name: a Hub model its id, a directory the shortest
    path tail that no other checkpoint has (see `unique_names`)."""
    resolved = [m if isinstance(m, ResolvedModel) else ResolvedModel(str(m), Path(m)) for m in models]
    paths = [m.path.resolve() for m in resolved]
    if len(set(paths)) < len(paths):
        duplicate = next(p for p, n in Counter(paths).items() if n > 1)
        raise RobustEvalError(f"--model {duplicate} is given twice: pass each checkpoint once")
    for path in paths:
        check_checkpoint(path, trust_pickle, single_logit)
    names = unique_names([replace(m, path=p) for m, p in zip(resolved, paths)])
    seeds = [training_seed(p, n) for p, n in zip(paths, names)]
    groups = seed_group_names(paths, names, seeds)
    return [Checkpoint(n, p, checkpoint_digest(p), s, g) for n, p, s, g in zip(names, paths, seeds, groups)]


def unique_names(models: Sequence[ResolvedModel]) -> list[str]:
    """Distinct display names: a Hub model's id (with `@COMMIT` when snapshots of one id meet), a directory
    its last path parts, as few as tell it apart from every other name (at most its whole path)."""
    ids = Counter(m.hub_id for m in models if m.hub_id is not None)
    fixed = [None if m.hub_id is None else m.hub_id if ids[m.hub_id] == 1 else f"{m.hub_id}@{m.revision}" for m in models]
    tails = [m.path.relative_to(m.path.anchor).parts for m in models]
    for depth in range(1, max((len(t) for t in tails), default=0) + 1):
        names = [name or "/".join(tail[-depth:]) for name, tail in zip(fixed, tails)]
        if len(set(names)) == len(names):
            return names
    return [name or str(m.path) for name, m in zip(fixed, models)]


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


def checkpoint_label_names(path: Path, single_logit: bool = False) -> list[str]:
    """The label names a checkpoint's configuration declares, in class-index order."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(path, trust_remote_code=False)
    if single_logit and config.num_labels == 1:
        return list(SINGLE_LOGIT_LABELS)
    id2label = getattr(config, "id2label", None) or {}
    return [str(id2label.get(i, f"LABEL_{i}")) for i in range(config.num_labels)]


@dataclass(frozen=True)
class Engine:
    """How the work is executed: device, batch size and precision of the models, examples in flight, workers.

    `batch_size` None picks 512 texts on CUDA and 64 on the CPU.
    """

    device: str | None = None
    batch_size: int | None = None
    precision: Precision = "fp32"
    in_flight: int = DEFAULT_IN_FLIGHT
    jobs: int = 1
    shard: tuple[int, int] | None = None
    trust_pickle: bool = False

    def __post_init__(self) -> None:
        if self.batch_size is not None and self.batch_size < 1:
            raise RobustEvalError(f"--batch-size must be positive, got {self.batch_size}")
        if self.in_flight < 1:
            raise RobustEvalError(f"--in-flight must be a positive number of examples, got {self.in_flight}")
        if self.precision not in PRECISIONS:
            raise RobustEvalError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        check_jobs(self.jobs, self.shard)

    @property
    def resolved_device(self) -> torch.device:
        return torch.device(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    @property
    def resolved_batch_size(self) -> int:
        if self.batch_size is not None:
            return self.batch_size
        return 512 if self.resolved_device.type == "cuda" else 64


@dataclass(frozen=True)
class ModelInputs:
    """How the checkpoints read the data: dataset label -> model label, tokens per text, a one-output head."""

    label_map: Mapping[str, str] | None = None
    max_length: int | None = None
    single_logit: bool = False

    def __post_init__(self) -> None:
        if self.max_length is not None and self.max_length <= 0:
            raise RobustEvalError(f"--max-length must be a positive number of tokens, got {self.max_length}")


@dataclass(frozen=True)
class EvaluationPlan:
    """Checkpoints (resolved), the data aligned to each one's labels, recipes, seed, limits and engine."""

    checkpoints: tuple[Checkpoint, ...]
    dataset: Dataset
    aligned: Mapping[str, Dataset]
    recipes: tuple[RecipeRequest, ...]
    seed: int
    limit: int | None
    engine: Engine = field(default_factory=Engine)
    inputs: ModelInputs = field(default_factory=ModelInputs)
    limits: ExampleLimits = field(default_factory=ExampleLimits)

    def alignment_messages(self) -> list[str]:
        """One line per distinct label mapping that was not the identity (what was mapped to what)."""
        return list(dict.fromkeys(d.alignment.message for d in self.aligned.values() if d.alignment.message))

    def config(self) -> dict[str, Any]:
        """What defines a run's records; an output directory never mixes records of two configurations."""
        checkpoints = []
        for checkpoint in self.checkpoints:
            entry = checkpoint.config_entry()
            alignment = self.aligned[checkpoint.name].alignment
            if alignment.message:
                entry["label_alignment"] = alignment.to_dict()
            checkpoints.append(entry)
        options = {"label_map": dict(self.inputs.label_map or {}) or None, "max_length": self.inputs.max_length,
                   "single_logit": self.inputs.single_logit or None,
                   "limits": asdict(self.limits) if self.limits != ExampleLimits() else None}
        return {
            "format": RUN_FORMAT,
            "checkpoints": checkpoints,
            "data": {
                "name": self.dataset.name,
                "examples": len(self.dataset),
                "limit": self.limit,
                "label_names": list(self.dataset.label_names),
                "sha256": dataset_digest(self.dataset.examples),
            },
            "recipes": [{"name": r.name, "params": dict(r.params)} for r in self.recipes],
            "seed": self.seed,
        } | {key: value for key, value in options.items() if value is not None}

    def environment(self) -> dict[str, Any]:
        """Where and how the run is executed (recorded once, when the run starts)."""
        return environment(self.engine.device) | {
            "checkpoint_paths": {c.name: str(c.path) for c in self.checkpoints},
            "jobs": self.engine.jobs,
            "precision": self.engine.precision,
            "max_length": {c.name: asdict(checkpoint_max_length(c.path, self.inputs.max_length)) for c in self.checkpoints},
        }


def build_plan(
    checkpoint_dirs: Sequence[Path | ResolvedModel], dataset: Dataset, recipes: Sequence[RecipeRequest], seed: int = 0,
    limit: int | None = None, engine: Engine | None = None, calibration_data: Dataset | None = None,
    inputs: ModelInputs | None = None, limits: ExampleLimits | None = None,
) -> EvaluationPlan:
    """Resolve checkpoints (directories, or Hub models from `resolve_model`, named by their id), labels and
    recipes once; every problem is a one-line error before any work.

    With `calibration_data` (a dev split), every checkpoint also gets a temperature-scaled variant
    `NAME@calibrated` (temperature fitted on that data by negative log-likelihood) that is attacked too
    (Raina et al., "Extreme Miscalibration and the Illusion of Adversarial Robustness").
    """
    engine, inputs, limits = engine or Engine(), inputs or ModelInputs(), limits or ExampleLimits()
    if not checkpoint_dirs:
        raise RobustEvalError("no checkpoint given: pass --model DIR")
    if not dataset.examples:
        raise RobustEvalError(f"dataset {dataset.name} has no examples: check --data and --limit")
    check_recipes(recipes)
    described = describe_checkpoints(checkpoint_dirs, engine.trust_pickle, inputs.single_logit)
    aligned = {c.name: align_labels(dataset, checkpoint_label_names(c.path, inputs.single_logit), inputs.label_map)
               for c in described}
    checkpoints = [
        Checkpoint(c.name, c.path, c.sha256, c.seed, c.group, tuple(aligned[c.name].label_names)) for c in described
    ]
    if calibration_data is not None:
        variants = [calibrated(c, calibration_data, engine, inputs) for c in checkpoints]
        aligned |= {v.name: aligned[v.calibrates] for v in variants if v.calibrates}
        checkpoints += variants
    return EvaluationPlan(tuple(checkpoints), dataset, aligned, tuple(recipes), seed, limit, engine, inputs, limits)


def calibrated(checkpoint: Checkpoint, dev: Dataset, engine: Engine, inputs: ModelInputs) -> Checkpoint:
    """The temperature-scaled variant of `checkpoint`, its temperature fitted on `dev`."""
    from robust_eval.core.calibration import calibrate, calibrated_name
    from robust_eval.core.victim import load_victim

    if not dev.examples:
        raise RobustEvalError(f"calibration data {dev.name} has no examples: pass a dev split, e.g. --calibrate mr:dev")
    data = align_labels(dev, list(checkpoint.label_names), inputs.label_map)
    victim = load_victim(checkpoint.path, engine.trust_pickle, engine.device, engine.resolved_batch_size,
                         inputs.max_length, inputs.single_logit, checked=True)
    fitted = calibrate(victim.logits([e.text for e in data.examples]), np.array([e.label for e in data.examples]))
    return replace(checkpoint, name=calibrated_name(checkpoint.name), group=None, calibration=fitted,
                   calibrates=checkpoint.name)


def check_recipes(recipes: Sequence[RecipeRequest]) -> None:
    """Every recipe exists, is named once, and its parameters exist and convert to their types."""
    from attacks.registry import check_params

    names = [r.name for r in recipes]
    if len(set(names)) < len(names):
        raise RobustEvalError("a --recipe is given twice: pass each recipe once")
    for request in recipes:
        check_params(request.name, request.params)


def check_jobs(jobs: int, shard: tuple[int, int] | None = None) -> None:
    """A one-line error for a worker count that cannot run (checked before any training or loading)."""
    if jobs < 1:
        raise RobustEvalError(f"--jobs must be a positive number of worker processes, got {jobs}")
    if jobs > 1 and shard is not None:
        raise RobustEvalError("--jobs and --shard do not combine: give one of them")


def git_commit() -> str | None:
    """The source tree's git commit (None outside a git checkout)."""
    source = Path(__file__).resolve().parents[2]
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
