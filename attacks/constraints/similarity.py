"""Sentence-encoder similarity between the original and the perturbed text.

TextFooler (Jin et al. 2020) and TextDefender keep a candidate only if the Universal Sentence Encoder
cosine of a 15-word window around the changes stays above ~0.84. USE is not available offline; this
uses all-MiniLM-L6-v2 with mean pooling (Reimers & Gurevych 2019) and the same window and threshold.
By default the check runs before the victim is queried, so query counts compare with TextAttack's;
`lazy=True` checks only the best-scoring candidates (same winner, fewer encoder calls, more queries).
Calibration on 400 MR dev sentences, one random non-stopword swapped, windowed cosine >= 0.84 kept:
82 % of counter-fitted top-5 swaps, 82 % of WordNet swaps, 54 % of random-word swaps, and 95 % of
antonym swaps (good -> bad): the encoder barely sees polarity, which is why substitutes come from
counter-fitted vectors or WordNet.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from attacks.core import Constraint
from attacks.text import AttackedText
from robust_eval.core import resources
from robust_eval.core.batched import BatchedTextModel, tokenize
from robust_eval.core.gather import gathered
from robust_eval.core.errors import RobustEvalError

CACHE_SIZE = 100_000


class SentenceEncoder(BatchedTextModel):
    """Mean-pooled, L2-normalised sentence embeddings from a Hugging Face encoder, cached per text.

    `encode` is gathered: inside an interleaved run the texts of every attack in flight are encoded together.
    """

    def __init__(self, path: Path, device: str | None = None, batch_size: int = 128) -> None:
        from transformers import AutoModel, AutoTokenizer

        super().__init__(torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu")), batch_size, CACHE_SIZE)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path, use_safetensors=True).to(self.device).eval()

    @property
    def width(self) -> int:
        return int(self.model.config.hidden_size)

    @gathered
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n, hidden) unit vectors."""
        return self.rows(texts)

    def _forward(self, texts: list[str]) -> torch.Tensor:
        encoded = {k: v.to(self.device, non_blocking=True) for k, v in tokenize(self.tokenizer, texts, 256).items()}
        hidden = self.model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled.float(), dim=-1)


@lru_cache(maxsize=2)
def minilm_encoder(device: str | None = None) -> SentenceEncoder:
    """The shared MiniLM encoder (loaded once per process)."""
    return SentenceEncoder(resources.require("minilm"), device)


def window_bounds(candidate: AttackedText, reference: AttackedText, window: int | None) -> tuple[int, int] | None:
    """Word span [start, end) covering every word that differs, widened to `window` words (None: compare whole)."""
    if window is None or len(candidate) != len(reference):
        return None
    changed = [i for i, (new, old) in enumerate(zip(candidate.words, reference.words)) if new != old]
    if not changed:
        return None
    low, high = changed[0], changed[-1] + 1
    extra = max(window - (high - low), 0)
    start = max(0, min(low - extra // 2, len(reference) - max(window, high - low)))
    return start, min(len(reference), max(high, start + window))


class SentenceSimilarity(Constraint):
    """Cosine of the encoder embeddings of the reference text and the candidate >= `threshold`.

    The reference is the original text, or with `compare_against_original=False` the text the candidate was
    made from (TextFooler: the similarity of each swap is judged against the text before it). With `window`,
    both texts are cut to the same words: the span covering every word that differs, widened to `window`
    words (TextFooler's local check); texts whose word count changed are compared whole.
    `skip_short_texts`: texts shorter than `window` words always pass (TextFooler's code sets its threshold
    to 0.1 for them, TextAttack skips them).
    """

    def __init__(self, threshold: float = 0.84, window: int | None = 15, encoder: SentenceEncoder | None = None,
                 lazy: bool = False, compare_against_original: bool = True, skip_short_texts: bool = False) -> None:
        if not -1 <= threshold <= 1:
            raise RobustEvalError(f"similarity threshold must be a cosine in [-1, 1], got {threshold}")
        self.threshold = threshold
        self.window = window
        self.lazy = lazy
        self.compare_against_original = compare_against_original
        self.skip_short_texts = skip_short_texts and window is not None
        self._encoder = encoder

    @property
    def encoder(self) -> SentenceEncoder:
        if self._encoder is None:
            self._encoder = minilm_encoder()
        return self._encoder

    def pair(self, candidate: AttackedText, reference: AttackedText) -> tuple[str, str]:
        """The two strings to compare."""
        bounds = window_bounds(candidate, reference, self.window)
        if bounds is None:
            return candidate.text, reference.text
        start, end = bounds
        return " ".join(candidate.words[start:end]), " ".join(reference.words[start:end])

    def similarities(self, candidates: Sequence[AttackedText], reference: AttackedText) -> np.ndarray:
        """Cosine per candidate."""
        pairs = [self.pair(c, reference) for c in candidates]
        left = self.encoder.encode([p[0] for p in pairs])
        right = self.encoder.encode([p[1] for p in pairs])
        return (left * right).sum(axis=1)

    def filter(self, candidates: Sequence[AttackedText], reference: AttackedText) -> list[bool]:
        if not candidates:
            return []
        if self.skip_short_texts and len(reference) < self.window:
            return [True] * len(candidates)
        return [bool(s >= self.threshold) for s in self.similarities(candidates, reference)]
