"""Victims: the classifiers under attack, loaded safely from Hugging Face checkpoint directories."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import torch

from robust_eval.core.errors import RobustEvalError

SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model")
CACHE_SIZE = 200_000


class Victim(Protocol):
    """What an attack needs from a classifier: label names and batched class probabilities."""

    label_names: list[str]
    queries: int

    @property
    def num_labels(self) -> int: ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


class HFVictim:
    """A sequence classifier with its tokenizer: batched, padded to the longest text, cached, counted."""

    def __init__(self, model, tokenizer, batch_size: int = 64, device: str | torch.device | None = None,
                 max_length: int = 256) -> None:
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = min(max_length, getattr(tokenizer, "model_max_length", max_length) or max_length)
        id2label = getattr(model.config, "id2label", None) or {}
        self.label_names = [str(id2label.get(i, f"LABEL_{i}")) for i in range(model.config.num_labels)]
        self.queries = 0
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities for each text; repeated texts are served from the cache."""
        self.queries += len(texts)
        pending = sorted(dict.fromkeys(t for t in texts if t not in self._cache), key=len)
        start = 0
        while start < len(pending):
            batch = pending[start:start + self.batch_size]
            try:
                probabilities = self._forward(batch)
            except torch.cuda.OutOfMemoryError:
                if self.batch_size == 1:
                    raise RobustEvalError("CUDA ran out of memory at batch size 1: free GPU memory or use --device cpu") from None
                torch.cuda.empty_cache()
                self.batch_size = max(1, self.batch_size // 2)
                continue
            for text, row in zip(batch, probabilities):
                self._remember(text, row)
            start += len(batch)
        if not texts:
            return np.zeros((0, self.num_labels), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def predict_proba_uncached(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities from a fresh forward pass that neither reads nor fills the cache (re-checks)."""
        self.queries += len(texts)
        batches = [self._forward(list(texts[i:i + self.batch_size])) for i in range(0, len(texts), self.batch_size)]
        return np.concatenate(batches) if batches else np.zeros((0, self.num_labels), dtype=np.float32)

    def clear_cache(self) -> None:
        """Forget cached answers, so later batches (and their padding) do not depend on earlier calls."""
        self._cache.clear()

    def _forward(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                                 return_tensors="pt").to(self.device)
        with torch.inference_mode():
            logits = self.model(**encoded).logits
        return torch.softmax(logits.float(), dim=-1).cpu().numpy()

    def _remember(self, text: str, probabilities: np.ndarray) -> None:
        self._cache[text] = probabilities
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)


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
                batch_size: int = 64) -> HFVictim:
    """Load a sequence-classification checkpoint directory as a victim (safetensors unless trusted)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    directory = Path(path)
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
    return HFVictim(model, tokenizer, batch_size=batch_size, device=device)
