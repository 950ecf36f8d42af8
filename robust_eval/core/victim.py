"""Victims: the classifiers under attack, loaded safely from Hugging Face checkpoint directories.

Truncation: a victim reads at most `max_length` tokens of a text, chosen by `load_victim` as `--max-length`
when given, else the length the checkpoint was fine-tuned with (its training card), else the model's own
limit. `cut` says which texts lose tokens to it.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Literal, Protocol, Sequence

import numpy as np
import torch

from robust_eval.core.batched import BatchedTextModel, tokenize
from robust_eval.core.checkpoints import SAFE_WEIGHTS, check_checkpoint, raise_missing_head, training_max_length
from robust_eval.core.errors import RobustEvalError
from robust_eval.core.gather import gathered

CACHE_SIZE = 200_000
FALLBACK_MAX_LENGTH = 512
# Texts longer than this many words per token of `max_length` are cut to that many words before tokenising
# (every word gives at least one token, so the cut never reaches the tokens the model reads); this keeps a
# multi-megabyte text from being tokenised whole.
WORDS_PER_TOKEN_KEPT = 16
WORD = re.compile(r"\S+")
POSITION_OFFSET_TYPES = ("roberta", "xlm-roberta", "camembert", "mpnet", "data2vec-text", "ibert", "longformer")
SINGLE_LOGIT_LABELS = ["0", "1"]
Precision = Literal["fp32", "bf16", "fp16"]
PRECISIONS: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class MaxLength:
    """The number of tokens a victim reads, and where the number came from."""

    tokens: int
    source: Literal["--max-length", "training card", "model limit"]


def resolve_device(device: str | None) -> torch.device:
    """`--device` as a torch device (default: CUDA when present); a one-line error for one that cannot run."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise RobustEvalError(f"--device '{device}' is not a device: use cpu, cuda or cuda:N") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise RobustEvalError(
                f"--device {device}: CUDA is not available here (torch {torch.__version__}): use --device cpu"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise RobustEvalError(
                f"--device {device}: this host has {torch.cuda.device_count()} CUDA device(s): use cuda:0 .. "
                f"cuda:{torch.cuda.device_count() - 1}"
            )
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise RobustEvalError(f"--device {device}: MPS is not available here: use --device cpu")
    elif resolved.type not in ("cpu", "mps"):
        raise RobustEvalError(f"--device '{device}' is not supported: use cpu, cuda or cuda:N")
    return resolved


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
    `max_length`: tokens read per text (`MaxLength`, or a number: given explicitly). `single_logit`: the model
    has one output, read as the logit of class 1 of a binary classifier (labels "0" and "1").
    `precision` "bf16" or "fp16" runs the model in that type on CUDA (probabilities stay float32).
    `temperature` divides the logits before the softmax (temperature scaling, `robust_eval.core.calibration`);
    the default 1.0 leaves the probabilities exactly as the model gives them.
    """

    def __init__(self, model, tokenizer, batch_size: int = 64, device: str | torch.device | None = None,
                 max_length: MaxLength | int | None = None, single_logit: bool = False, precision: Precision = "fp32",
                 temperature: float = 1.0) -> None:
        super().__init__(device if isinstance(device, torch.device) else resolve_device(device), batch_size, CACHE_SIZE)
        self.temperature = float(temperature)
        if not 0.0 < self.temperature < float("inf"):
            raise RobustEvalError(f"temperature must be a positive finite number, got {temperature!r}: fit one with "
                                  "robust_eval.core.calibration.fit_temperature")
        if precision not in PRECISIONS:
            raise RobustEvalError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if precision != "fp32" and self.device.type != "cuda":
            raise RobustEvalError(f"precision {precision} needs a CUDA device: use --precision fp32 on {self.device}")
        self.precision = precision
        self.model = model.to(self.device, dtype=PRECISIONS[precision]).eval()
        self.tokenizer = tokenizer
        if max_length is None:
            max_length = model_max_length(model.config, tokenizer)
        self.max_length = max_length if isinstance(max_length, MaxLength) else MaxLength(max_length, "--max-length")
        self.single_logit = single_logit and model.config.num_labels == 1
        id2label = getattr(model.config, "id2label", None) or {}
        self.label_names = (list(SINGLE_LOGIT_LABELS) if self.single_logit else
                            [str(id2label.get(i, f"LABEL_{i}")) for i in range(model.config.num_labels)])
        accepted = inspect.signature(model.forward).parameters
        self._inputs = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in accepted]
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

    @gathered
    def predict_proba_uncached(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities from a fresh forward pass that neither reads nor fills the cache (re-checks;
        gathered, so the re-checks of the examples in flight share one pass)."""
        self.queries += len(texts)
        with torch.inference_mode():
            rows = [self._forward(list(texts[i:i + self.batch_size])) for i in range(0, len(texts), self.batch_size)]
            return torch.cat(rows).cpu().numpy() if rows else np.zeros((0, self.num_labels), dtype=np.float32)

    def cut(self, texts: Sequence[str]) -> list[bool]:
        """Which of `texts` are longer than `max_length` tokens (the model reads only their start)."""
        if not texts:
            return []
        limit = self.max_length.tokens
        encoded = self.tokenizer([self._head(t) for t in texts], truncation=True, max_length=limit + 1)
        return [len(ids) > limit for ids in encoded["input_ids"]]

    def _head(self, text: str) -> str:
        """`text`, or for a very long text its first words (see WORDS_PER_TOKEN_KEPT)."""
        kept = WORDS_PER_TOKEN_KEPT * self.max_length.tokens
        words = list(islice(WORD.finditer(text), kept + 1))
        return text if len(words) <= kept else text[: words[kept - 1].end()]

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """The model's raw logits (before any temperature), in batches; the cache and query count are left alone."""
        with torch.inference_mode():
            rows = [self._logits(list(texts[i:i + self.batch_size])) for i in range(0, len(texts), self.batch_size)]
            return torch.cat(rows).cpu().numpy() if rows else np.zeros((0, self.model.config.num_labels), dtype=np.float32)

    def _logits(self, texts: list[str]) -> torch.Tensor:
        encoded = tokenize(self.tokenizer, [self._head(t) for t in texts], self.max_length.tokens)
        inputs = {name: encoded[name].to(self.device, non_blocking=True) for name in self._inputs if name in encoded}
        return self.model(**inputs).logits.float()

    def _forward(self, texts: list[str]) -> torch.Tensor:
        logits = self._logits(texts) / self.temperature
        if self.single_logit:
            positive = torch.sigmoid(logits[:, 0])
            return torch.stack([1 - positive, positive], dim=-1)
        return torch.softmax(logits, dim=-1)


def model_max_length(config, tokenizer) -> MaxLength:
    """The model's own token limit: the tokenizer's, else the position embeddings' (else 512)."""
    limit = getattr(tokenizer, "model_max_length", None)
    positions = getattr(config, "max_position_embeddings", None)
    padding = getattr(config, "pad_token_id", None)
    if isinstance(positions, int) and isinstance(padding, int) and config.model_type in POSITION_OFFSET_TYPES:
        positions -= padding + 1  # position ids start after the padding index
    candidates = [n for n in (limit, positions) if isinstance(n, int) and 0 < n < 1_000_000]
    return MaxLength(min(candidates) if candidates else FALLBACK_MAX_LENGTH, "model limit")


def load_victim(path: str | Path, trust_pickle: bool = False, device: str | None = None, batch_size: int = 64,
                max_length: int | None = None, single_logit: bool = False, precision: Precision = "fp32",
                temperature: float = 1.0, checked: bool = False) -> HFVictim:
    """Load a sequence-classification checkpoint directory as a victim (safetensors unless trusted).

    `max_length` None: the training card's length, else the model's limit (see the module docstring).
    `checked`: the directory already passed `check_checkpoint` (e.g. when an evaluation plan was built).
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    directory = Path(path)
    if not checked:
        check_checkpoint(directory, trust_pickle, single_logit)
    resolved_device = resolve_device(device)
    use_safetensors = any((directory / name).is_file() for name in SAFE_WEIGHTS)
    tokenizer = AutoTokenizer.from_pretrained(directory, trust_remote_code=False)
    try:
        model, loading = AutoModelForSequenceClassification.from_pretrained(
            directory, use_safetensors=use_safetensors, trust_remote_code=False, output_loading_info=True
        )
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        detail = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise RobustEvalError(f"cannot load the model in '{directory}' ({detail}): check the checkpoint") from None
    if loading["missing_keys"]:
        raise_missing_head(directory, sorted(loading["missing_keys"]))
    return HFVictim(model, tokenizer, batch_size=batch_size, device=resolved_device,
                    max_length=choose_max_length(directory, model.config, tokenizer, max_length), single_logit=single_logit,
                    precision=precision, temperature=temperature)


def choose_max_length(directory: Path, config, tokenizer, requested: int | None = None) -> MaxLength:
    """`requested` (--max-length) when given, else the training card's length, else the model's limit."""
    if requested is not None:
        if requested <= 0:
            raise RobustEvalError(f"--max-length must be a positive number of tokens, got {requested}")
        return MaxLength(requested, "--max-length")
    trained = training_max_length(directory)
    return MaxLength(trained, "training card") if trained is not None else model_max_length(config, tokenizer)


def checkpoint_max_length(path: Path, requested: int | None = None) -> MaxLength:
    """The tokens a victim of the checkpoint in `path` reads (configuration and tokenizer only, no weights)."""
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(path, trust_remote_code=False)
    return choose_max_length(Path(path), config, AutoTokenizer.from_pretrained(path, trust_remote_code=False), requested)
