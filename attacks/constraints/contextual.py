"""Word sense in context: each swapped word must mean, in its sentence, what the word it replaces meant.

The strict profile's other checks cannot see word sense: a WordNet or counter-fitted synonym of another
sense ("a just documentary", "the missive of Behan's book") passes word cosine, sentence similarity, part of
speech, the parser and the language model (benchmarks/validity/README.md). Contextual token embeddings do
see it, which is why BERTScore (Zhang et al., ICLR 2020) compares texts token by token and BAE / BERT-Attack
draw substitutes from a masked LM. No masked LM can be had offline, so this compares MiniLM's last-layer
vectors (the mean over a word's word pieces) of the new word in the candidate's window and of the original
word in the original's window (the 15-word window of SentenceSimilarity); the lowest cosine over the swapped
words must reach the threshold, calibrated on the labelled pairs (benchmarks/calibrate_strict.py).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np
import torch

from attacks.constraints.similarity import SentenceEncoder, minilm_encoder, window_bounds
from attacks.core import Constraint
from attacks.text import AttackedText
from robust_eval.core.batched import BatchedTextModel
from robust_eval.core.errors import RobustEvalError
from robust_eval.core.gather import gathered

CACHE_SIZE = 100_000
MAX_TOKENS = 128
SEPARATOR = "\x1f"  # between the word index and the words of a key (words never hold it)


def word_key(words: Sequence[str], index: int) -> str:
    """The cache key of `words[index]` read in the context `words`."""
    return f"{index}{SEPARATOR}{' '.join(words)}"


class WordInContextEncoder(BatchedTextModel):
    """Unit vectors of one word in its context: the encoder's last layer averaged over the word's pieces.

    Rows are keyed by `word_key`; a word cut off by truncation gets a zero vector (cosine 0, so rejected).
    """

    def __init__(self, encoder: SentenceEncoder) -> None:
        super().__init__(encoder.device, encoder.batch_size, CACHE_SIZE)
        self.tokenizer = encoder.tokenizer
        self.model = encoder.model

    @property
    def width(self) -> int:
        return int(self.model.config.hidden_size)

    @gathered
    def vectors(self, keys: Sequence[str]) -> np.ndarray:
        """(n, hidden) rows, one per key."""
        return self.rows(keys)

    def _forward(self, keys: list[str]) -> torch.Tensor:
        split = [key.split(SEPARATOR, 1) for key in keys]
        words = [text.split(" ") for _, text in split]
        encoded = self.tokenizer(words, is_split_into_words=True, padding=True, truncation=True,
                                 max_length=MAX_TOKENS, return_tensors="pt")
        pieces = torch.zeros(encoded["input_ids"].shape, dtype=torch.float32)
        for row, (index, _) in enumerate(split):
            for token, word in enumerate(encoded.word_ids(row)):
                pieces[row, token] = float(word == int(index))
        inputs = {k: v.to(self.device, non_blocking=True) for k, v in encoded.items()}
        hidden = self.model(**inputs).last_hidden_state.float()
        weights = pieces.to(self.device).unsqueeze(-1)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=-1)


@lru_cache(maxsize=2)
def minilm_word_encoder(device: str | None = None) -> WordInContextEncoder:
    """Word-in-context vectors from the shared MiniLM encoder (no second copy of the model)."""
    return WordInContextEncoder(minilm_encoder(device))


class ContextualWordSimilarity(Constraint):
    """Every swapped word's in-context vector has cosine >= `threshold` with the original word's (same window).

    Only same-length candidates are checked (rule rewrites pass). `lazy`: checked only on the best candidates.
    """

    lazy = True

    def __init__(self, threshold: float, window: int | None = 15, encoder: WordInContextEncoder | None = None) -> None:
        if not -1 <= threshold <= 1:
            raise RobustEvalError(f"contextual word threshold must be a cosine in [-1, 1], got {threshold}")
        self.threshold = threshold
        self.window = window
        self._encoder = encoder

    @property
    def encoder(self) -> WordInContextEncoder:
        if self._encoder is None:
            self._encoder = minilm_word_encoder()
        return self._encoder

    def cosines(self, candidates: Sequence[AttackedText], original: AttackedText) -> list[float | None]:
        """The lowest cosine over each candidate's swapped words (None: no word swapped one for one)."""
        requests: list[tuple[int, str, str]] = []
        for k, candidate in enumerate(candidates):
            if len(candidate) != len(original):
                continue
            start, end = window_bounds(candidate, original, self.window) or (0, len(original))
            for i in range(start, end):
                if candidate.words[i] != original.words[i]:
                    requests.append((k, word_key(candidate.words[start:end], i - start),
                                     word_key(original.words[start:end], i - start)))
        new = self.encoder.vectors([r[1] for r in requests])
        old = self.encoder.vectors([r[2] for r in requests])
        lowest: list[float | None] = [None] * len(candidates)
        for (k, _, _), cosine in zip(requests, (new * old).sum(axis=1)):
            lowest[k] = float(cosine) if lowest[k] is None else min(lowest[k], float(cosine))
        return lowest

    def filter(self, candidates: Sequence[AttackedText], original: AttackedText) -> list[bool]:
        if not candidates:
            return []
        return [c is None or c >= self.threshold for c in self.cosines(candidates, original)]
