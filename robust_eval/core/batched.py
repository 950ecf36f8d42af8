"""A text model answered in large, length-sorted batches with a per-text cache.

Shared by the victim (class probabilities) and the sentence encoder (embeddings): texts not in the cache
are sorted by length and cut into batches of `batch_size` (each padded to its longest text); on CUDA the
batches of a chunk are queued without waiting for each other and their rows copied back once; a CUDA
out-of-memory error halves the batch size and the work continues.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch

from robust_eval.core.errors import RobustEvalError

QUEUED_BATCHES = 16  # batches queued on the device before their rows are copied back
FIELDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}


def tokenize(tokenizer, texts: Sequence[str], max_length: int) -> dict[str, torch.Tensor]:
    """`tokenizer(texts, padding=True, truncation=True, max_length=..., return_tensors="pt")`, the same ids.

    A fast tokenizer's own backend is called directly and its ids become tensors through NumPy: the
    transformers wrapper around it spends most of its time converting nested lists (several times the
    tokenisation itself on batches of hundreds).
    """
    backend = getattr(tokenizer, "_tokenizer", None)
    if not getattr(tokenizer, "is_fast", False) or backend is None or tokenizer.pad_token_id is None:
        return dict(tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt"))
    backend.enable_truncation(max_length)
    backend.enable_padding(pad_id=tokenizer.pad_token_id, pad_token=tokenizer.pad_token,
                           pad_type_id=tokenizer.pad_token_type_id, direction=tokenizer.padding_side)
    encodings = backend.encode_batch(list(texts))
    return {name: torch.from_numpy(np.array([getattr(e, field) for e in encodings], dtype=np.int64))
            for name, field in FIELDS.items() if name in tokenizer.model_input_names}


class BatchedTextModel(ABC):
    """Rows (one vector per text) of a model, computed in sorted batches and cached by text."""

    def __init__(self, device: torch.device, batch_size: int, cache_size: int) -> None:
        if batch_size < 1:
            raise RobustEvalError(f"batch size must be positive, got {batch_size}")
        self.device = device
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    @abstractmethod
    def width(self) -> int:
        """Length of one row (for an empty answer)."""

    @abstractmethod
    def _forward(self, texts: list[str]) -> torch.Tensor:
        """Rows of one batch, left on the device (float32)."""

    def rows(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text; texts seen before come from the cache."""
        if not len(texts):
            return np.zeros((0, self.width), dtype=np.float32)
        answer = {t: self._cache[t] for t in dict.fromkeys(texts) if t in self._cache}
        pending = sorted((t for t in dict.fromkeys(texts) if t not in answer), key=len)
        start = 0
        while start < len(pending):
            chunk = pending[start:start + self.batch_size * QUEUED_BATCHES]
            try:
                with torch.inference_mode():
                    parts = [self._forward(chunk[i:i + self.batch_size]) for i in range(0, len(chunk), self.batch_size)]
                    values = torch.cat(parts).cpu().numpy()
            except torch.cuda.OutOfMemoryError:
                if self.batch_size == 1:
                    raise RobustEvalError("CUDA ran out of memory at batch size 1: free GPU memory or use --device cpu") from None
                torch.cuda.empty_cache()
                self.batch_size = max(1, self.batch_size // 2)
                continue
            answer.update(zip(chunk, values))
            start += len(chunk)
        self._remember(answer)
        return np.stack([answer[t] for t in texts])

    def clear_cache(self) -> None:
        """Forget cached rows, so later batches (and their padding) do not depend on earlier calls."""
        self._cache.clear()

    def _remember(self, rows: dict[str, np.ndarray]) -> None:
        """Keep `rows` as the most recently used entries, dropping the least recently used beyond the size."""
        for text, row in rows.items():
            self._cache[text] = row
            self._cache.move_to_end(text)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
