"""Victims: the classifiers under attack, loaded safely from Hugging Face checkpoint directories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, Protocol, Sequence

import numpy as np
import torch

from robust_eval.core.batched import BatchedTextModel
from robust_eval.core.errors import RobustEvalError
from robust_eval.core.gather import gathered

SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model")
CACHE_SIZE = 200_000
Precision = Literal["fp32", "bf16", "fp16"]
PRECISIONS: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class Victim(Protocol):
    """What an attack needs from a classifier: label names and batched class probabilities."""

    label_names: list[str]
    queries: int

    @property
    def num_labels(self) -> int: ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


class HFVictim(BatchedTextModel):
    """A sequence classifier with its tokenizer: batched, padded to the longest text, cached, counted.

    `predict_proba` is gathered (robust_eval.core.gather): inside an interleaved run the texts of every
    attack in flight arrive in one call, answered in length-sorted batches (robust_eval.core.batched).
    `precision` "bf16" or "fp16" runs the model in that type on CUDA (probabilities stay float32).
    `temperature` divides the logits before the softmax (temperature scaling, `robust_eval.core.calibration`);
    the default 1.0 leaves the probabilities exactly as the model gives them.
    """

    def __init__(self, model, tokenizer, batch_size: int = 64, device: str | torch.device | None = None,
                 max_length: int = 256, precision: Precision = "fp32", temperature: float = 1.0) -> None:
        self.temperature = float(temperature)
        if not 0.0 < self.temperature < float("inf"):
            raise RobustEvalError(f"temperature must be a positive finite number, got {temperature!r}: fit one with "
                                  "robust_eval.core.calibration.fit_temperature")
        super().__init__(torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu")), batch_size, CACHE_SIZE)
        if precision not in PRECISIONS:
            raise RobustEvalError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if precision != "fp32" and self.device.type != "cuda":
            raise RobustEvalError(f"precision {precision} needs a CUDA device: use --precision fp32 on {self.device}")
        self.precision = precision
        self.model = model.to(self.device, dtype=PRECISIONS[precision]).eval()
        self.tokenizer = tokenizer
        self.max_length = min(max_length, getattr(tokenizer, "model_max_length", max_length) or max_length)
        id2label = getattr(model.config, "id2label", None) or {}
        self.label_names = [str(id2label.get(i, f"LABEL_{i}")) for i in range(model.config.num_labels)]
        self.queries = 0

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    @property
    def width(self) -> int:
        return self.num_labels

    @gathered
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities for each text; repeated texts are served from the cache."""
        self.queries += len(texts)
        return self.rows(texts)

    def _forward(self, texts: list[str]) -> torch.Tensor:
        encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        logits = self.model(**encoded.to(self.device, non_blocking=True)).logits
        return torch.softmax(logits.float() / self.temperature, dim=-1)

    @gathered
    def predict_proba_uncached(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities from a fresh forward pass that neither reads nor fills the cache (re-checks;
        gathered, so the re-checks of the examples in flight share one pass)."""
        self.queries += len(texts)
        with torch.inference_mode():
            rows = [self._forward(list(texts[i:i + self.batch_size])) for i in range(0, len(texts), self.batch_size)]
            return torch.cat(rows).cpu().numpy() if rows else np.zeros((0, self.num_labels), dtype=np.float32)


def check_checkpoint(path: Path, trust_pickle: bool = False) -> None:
    """Refuse directories that are not safe, complete sequence-classification checkpoints."""
    if not path.is_dir():
        raise RobustEvalError(f"checkpoint directory '{path}' does not exist: pass a directory saved by save_pretrained")
    config_file = path / "config.json"
    if not config_file.is_file():
        raise RobustEvalError(f"'{path}' has no config.json: pass a Hugging Face checkpoint directory")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RobustEvalError(f"'{config_file}' is not valid JSON: re-save the checkpoint") from None
    if "auto_map" in config:
        raise RobustEvalError(f"'{path}' needs custom code (auto_map), which is never run: use a standard architecture")
    safe = [name for name in SAFE_WEIGHTS if (path / name).is_file()]
    pickled = [name for name in PICKLE_WEIGHTS if (path / name).is_file()]
    if not safe and not pickled:
        raise RobustEvalError(f"'{path}' has no model weights (model.safetensors): re-save with save_pretrained")
    if not safe and not trust_pickle:
        raise RobustEvalError(
            f"'{path}' holds only pickle weights ({pickled[0]}), which can run code when loaded: convert them "
            "to safetensors, or pass --trust-pickle if you trust the file"
        )
    if safe:
        _check_safetensors(path)
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise RobustEvalError(f"'{path}' has no tokenizer files: save the tokenizer beside the model (tokenizer.save_pretrained)")


def _check_safetensors(path: Path) -> None:
    from safetensors import safe_open

    index = path / "model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.is_file() else ["model.safetensors"]
    for name in files:
        try:
            with safe_open(str(path / name), framework="pt") as handle:
                handle.keys()
        except Exception:  # safetensors raises its own error types for every kind of damage
            raise RobustEvalError(f"'{path / name}' is corrupt or truncated: re-save or re-download the checkpoint") from None


def load_victim(path: str | Path, trust_pickle: bool = False, device: str | None = None,
                batch_size: int = 64, precision: Precision = "fp32", checked: bool = False,
                temperature: float = 1.0) -> HFVictim:
    """Load a sequence-classification checkpoint directory as a victim (safetensors unless trusted).

    `checked`: the directory already passed `check_checkpoint` (e.g. when an evaluation plan was built).
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    directory = Path(path)
    if not checked:
        check_checkpoint(directory, trust_pickle)
    use_safetensors = any((directory / name).is_file() for name in SAFE_WEIGHTS)
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory, trust_remote_code=False)
    except (OSError, ValueError, TypeError, ImportError):
        raise RobustEvalError(f"'{directory}' has unusable tokenizer files: save the tokenizer again beside the model") from None
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            directory, use_safetensors=use_safetensors, trust_remote_code=False
        )
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        detail = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise RobustEvalError(f"cannot load the model in '{directory}' ({detail}): check the checkpoint") from None
    return HFVictim(model, tokenizer, batch_size=batch_size, device=device, precision=precision, temperature=temperature)
