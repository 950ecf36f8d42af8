"""The training configuration: one dataclass schema shared by the CLI flags and JSON / TOML files.

Every field is a flag (`adv_lr` -> `--adv-lr`) and a key of a config file (either spelling). Unknown
keys, wrong types and out-of-range values raise a one-line `RobustEvalError`.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from robust_eval.core.errors import RobustEvalError
from trainers.augment import AUGMENTATIONS
from trainers.perturbation import NORMS, EmbeddingPerturbation
from trainers.strategies import INNER_LR, STRATEGIES, FreeAT, Strategy, make_strategy


@dataclass
class TrainConfig:
    """Everything a training run depends on (recorded in the checkpoint's training card)."""

    method: str = field(default="vanilla", metadata={"help": f"training strategy: {', '.join(STRATEGIES)}"})
    model: str = field(default="minilm", metadata={"help": "base model: 'minilm' or 'mpnet' (cached) or a checkpoint dir"})
    data: str = field(default="mr", metadata={"help": "dataset with train/dev/test splits (DATA:train ...)"})
    train_data: str = field(default="", metadata={"help": "training set spec (default DATA:train)"})
    dev_data: str = field(default="", metadata={"help": "dev set spec, for model selection (default DATA:dev)"})
    test_data: str = field(default="", metadata={"help": "test set spec, reported only (default DATA:test)"})
    output: str = field(default="", metadata={"help": "directory for the best-on-dev checkpoint (required)"})
    seed: int = field(default=0, metadata={"help": "random seed (head init, shuffling, dropout, delta)"})
    epochs: float = field(default=3.0, metadata={"help": "training epochs (FreeAT: ceil(epochs / m) passes over the data)"})
    batch_size: int = field(default=32, metadata={"help": "training batch size per device"})
    eval_batch_size: int = field(default=128, metadata={"help": "evaluation batch size per device"})
    grad_accum: int = field(default=1, metadata={"help": "gradient accumulation steps"})
    lr: float = field(default=2e-5, metadata={"help": "peak learning rate (AdamW, linear schedule)"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "fraction of optimizer steps for warm-up"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping norm (0 = off)"})
    max_length: int = field(default=64, metadata={"help": "maximum tokens per text (truncation)"})
    limit: int = field(default=0, metadata={"help": "use only the first N examples of each split (0 = all)"})
    augment: str = field(default="", metadata={"help": "'sears': add SEAR-rewritten copies of the training sentences"})
    augment_rules: str = field(default="mined", metadata={"help": "rule set (mined, hand-written) or rules file for --augment"})
    bf16: bool = field(default=True, metadata={"help": "bf16 autocast on CUDA (ignored on CPU)"})
    deterministic: bool = field(
        default=False, metadata={"help": "deterministic kernels: a rerun on the same hardware and software gives the same weights"}
    )
    adv_steps: int = field(
        default=3, metadata={"help": "pgd: K ascent steps; freelb: K passes in total; freeat / yopo: m"}
    )
    adv_inner_steps: int = field(default=3, metadata={"help": "yopo: n delta updates per pass"})
    adv_inner_lr: str = field(
        default="divided", metadata={"help": "yopo: each inner step is adv_lr / n ('divided') or adv_lr ('full')"}
    )
    adv_lr: float = field(default=0.03, metadata={"help": "delta ascent step size"})
    adv_init_mag: float = field(default=0.05, metadata={"help": "initial delta magnitude (0 = start at 0)"})
    adv_max_norm: float = field(default=0.0, metadata={"help": "delta norm bound epsilon (0 = unbounded)"})
    adv_norm: str = field(default="l2", metadata={"help": f"delta norm: {', '.join(NORMS)}"})
    adv_sign_step: bool = field(default=False, metadata={"help": "linf: ascend by sign(g) instead of g/|g|inf"})
    logging_steps: int = field(default=50, metadata={"help": "log the training loss every N optimizer steps"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise a one-line error for out-of-range values."""
        if self.method not in STRATEGIES:
            raise RobustEvalError(f"unknown method '{self.method}': choose one of {', '.join(STRATEGIES)}")
        if self.augment not in AUGMENTATIONS:
            raise RobustEvalError(f"unknown --augment '{self.augment}': choose one of {', '.join(repr(a) for a in AUGMENTATIONS)}")
        if self.adv_norm not in NORMS:
            raise RobustEvalError(f"unknown --adv-norm '{self.adv_norm}': choose one of {', '.join(NORMS)}")
        if self.adv_inner_lr not in INNER_LR:
            raise RobustEvalError(f"unknown --adv-inner-lr '{self.adv_inner_lr}': choose one of {', '.join(INNER_LR)}")
        positive = ("epochs", "batch_size", "eval_batch_size", "grad_accum", "lr", "max_length",
                    "adv_steps", "adv_inner_steps", "logging_steps")
        for name in positive:
            if getattr(self, name) <= 0:
                raise RobustEvalError(f"--{flag(name)} must be > 0, got {getattr(self, name)}")
        for name in ("weight_decay", "warmup_ratio", "max_grad_norm", "limit", "adv_lr", "adv_init_mag",
                     "adv_max_norm"):
            if getattr(self, name) < 0:
                raise RobustEvalError(f"--{flag(name)} must be >= 0, got {getattr(self, name)}")
        if self.warmup_ratio >= 1:
            raise RobustEvalError(f"--warmup-ratio is a fraction of the steps and must be < 1, got {self.warmup_ratio}")
        if issubclass(STRATEGIES[self.method], FreeAT) and self.grad_accum != 1:
            raise RobustEvalError(
                f"{self.method} takes an optimizer step per replay, which gradient accumulation would merge: "
                "use --grad-accum 1 (raise --batch-size instead)"
            )

    def split_spec(self, split: str) -> str:
        """The dataset spec of 'train', 'dev' or 'test'."""
        return getattr(self, f"{split}_data") or f"{self.data}:{split}"

    def perturbation(self) -> EmbeddingPerturbation:
        return EmbeddingPerturbation(
            self.adv_norm, self.adv_lr, self.adv_init_mag, self.adv_max_norm, self.adv_sign_step
        )

    def strategy(self) -> Strategy:
        return make_strategy(self.method, self.perturbation(), self.adv_steps, self.adv_inner_steps, self.adv_inner_lr)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def flag(name: str) -> str:
    """The CLI spelling of a field name."""
    return name.replace("_", "-")


FIELDS = {f.name: f for f in fields(TrainConfig)}


def coerce(name: str, value: Any, origin: str) -> Any:
    """`value` checked against the type of field `name`; `origin` names where it came from."""
    kind = FIELDS[name].type
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, str),
    }[kind]
    if not ok:
        raise RobustEvalError(f"{origin}: '{name}' must be {kind}, got {value!r}")
    return float(value) if kind == "float" else value


def from_mapping(values: Mapping[str, Any], origin: str = "config") -> TrainConfig:
    """A config from keys in either spelling (`adv_lr` or `adv-lr`)."""
    checked = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in FIELDS:
            raise RobustEvalError(
                f"{origin}: unknown key '{key}'; valid keys: {', '.join(FIELDS)}"
            )
        checked[name] = coerce(name, value, origin)
    return TrainConfig(**checked)


def read_config_file(path: Path) -> dict[str, Any]:
    """The key / value pairs of a .json or .toml config file (validated by `from_mapping`)."""
    if not path.is_file():
        raise RobustEvalError(f"config file '{path}' does not exist: check the path")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            values = tomllib.loads(text)
        elif path.suffix.lower() == ".json":
            values = json.loads(text)
        else:
            raise RobustEvalError(f"config file '{path}' must end in .json or .toml")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise RobustEvalError(f"config file '{path}' is not valid {path.suffix[1:].upper()}: {error}") from None
    if not isinstance(values, dict):
        raise RobustEvalError(f"config file '{path}' must hold one table / object of keys")
    return values


def load_config(path: Path | None = None, **overrides: Any) -> TrainConfig:
    """File values (if any) overridden by the non-None `overrides` (the CLI flags)."""
    values = read_config_file(path) if path is not None else {}
    values = {key.replace("-", "_"): value for key, value in values.items()}
    values.update({key: value for key, value in overrides.items() if value is not None})
    return from_mapping(values, origin=str(path) if path is not None else "flags")
