"""Language-model perplexity of a text, and a constraint bounding how much a perturbation may raise it.

A word swap that breaks fluency ("might drive you crazy" -> "might drive you fun") makes the text less
likely under a language model. Morris et al. (2020, "Reevaluating Adversarial Examples in Natural
Language") use a language model to reject such swaps; here the model is SmolLM2-135M (resource `smollm2`),
and the score is the ratio perplexity(perturbed) / perplexity(original) of the whole texts, so a text that
was already unusual is not penalised for it. Perplexity = exp(mean negative log-likelihood of every token
after the start-of-text token); batches are right-padded and padding is masked out of the mean.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from attacks.core import Constraint
from attacks.text import AttackedText
from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError
from robust_eval.core.gather import gathered

CACHE_SIZE = 100_000
MAX_TOKENS = 256


class CausalLanguageModel:
    """Perplexities from a Hugging Face causal LM, many texts per forward pass, cached per text."""

    def __init__(self, path: Path | None = None, device: str | None = None, batch_size: int = 32,
                 model: torch.nn.Module | None = None, tokenizer=None) -> None:
        """Load from `path`, or use an already built `model` and `tokenizer` (tests build tiny ones)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if model is None:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, use_safetensors=True, dtype=torch.float32)
        self.tokenizer = tokenizer
        self.model = model.to(self.device).eval()
        self.batch_size = batch_size
        self._cache: OrderedDict[str, float] = OrderedDict()

    @gathered
    def perplexities(self, texts: Sequence[str]) -> np.ndarray:
        """One perplexity per text (float64; gathered across the attacks in flight)."""
        pending = sorted({t for t in texts if t not in self._cache}, key=len)
        for start in range(0, len(pending), self.batch_size):
            batch = pending[start:start + self.batch_size]
            for text, value in zip(batch, self._forward(batch)):
                self._cache[text] = value
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return np.asarray([self._cache[t] for t in texts], dtype=np.float64)

    def _encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids (each text starting with a start-of-text token) right-padded, and the attention mask."""
        start = self.tokenizer.bos_token_id
        if start is None:
            start = self.tokenizer.cls_token_id
        rows = []
        for text in texts:
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"][: MAX_TOKENS - 1]
            rows.append([start, *ids])
        width = max(len(r) for r in rows)
        ids = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        return ids.to(self.device), mask.to(self.device)

    def _forward(self, texts: list[str]) -> list[float]:
        ids, mask = self._encode(texts)
        with torch.inference_mode():
            logits = self.model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
        targets, target_mask = ids[:, 1:], mask[:, 1:].float()
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        mean = (nll * target_mask).sum(1) / target_mask.sum(1).clamp(min=1)
        return [float(v) for v in torch.exp(mean).cpu()]


@lru_cache(maxsize=2)
def smollm2(device: str | None = None) -> CausalLanguageModel:
    """The shared SmolLM2-135M model (loaded once per process)."""
    return CausalLanguageModel(resources.require("smollm2"), device)


class PerplexityRatio(Constraint):
    """Keep candidates with perplexity(candidate) / perplexity(original) <= `max_ratio` (whole texts).

    Lazy by default: the language model runs only on the best-scoring candidates.
    """

    def __init__(self, max_ratio: float, model: CausalLanguageModel | None = None, lazy: bool = True) -> None:
        if not max_ratio > 0:
            raise RobustEvalError(f"max perplexity ratio must be positive, got {max_ratio}")
        self.max_ratio = max_ratio
        self.lazy = lazy
        self._model = model

    @property
    def model(self) -> CausalLanguageModel:
        if self._model is None:
            self._model = smollm2()
        return self._model

    def ratios(self, candidates: Sequence[AttackedText], original: AttackedText) -> np.ndarray:
        """perplexity(candidate) / perplexity(original) per candidate."""
        values = self.model.perplexities([original.text, *(c.text for c in candidates)])
        return values[1:] / values[0]

    def filter(self, candidates: Sequence[AttackedText], original: AttackedText) -> list[bool]:
        if not candidates:
            return []
        return [bool(r <= self.max_ratio) for r in self.ratios(candidates, original)]
