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
