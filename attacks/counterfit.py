"""Counter-fitted word vectors (Mrksic et al., NAACL 2016), built from GloVe-50d and WordNet.

Raw distributional neighbours mix synonyms with antonyms (good ~ bad). Counter-fitting moves vectors
so that antonyms repel, synonyms attract, and the rest of the space keeps its shape:
- antonym repel: for antonyms (u, w), penalise max(0, delta - d(u, w)), delta = 1.0;
- synonym attract: for synonyms, penalise max(0, d(u, w) - gamma), gamma = 0;
- vector-space preservation: for each constrained word and its original neighbours within rho = 0.2,
  penalise max(0, d'(u, w) - d(u, w));
with d the cosine distance, weights k1 = k2 = k3 = 0.1 and 20 full-batch gradient epochs on unit vectors.
Constraints come from WordNet: synonyms are lemmas sharing a synset; antonyms are lemma antonyms,
widened to the lemmas of both synsets and, for adjectives, their satellite (similar-to) synsets.
The vocabulary is the `vocab_size` most frequent alphabetic GloVe words (TextFooler used ~65k words).
The result, with a table of the 50 nearest neighbours of every word, is cached under the resources home.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import torch

from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError

VERSION = 1
WORD = re.compile(r"^[a-z]+(?:['-][a-z]+)*$")
NEIGHBOURS = 50
DEFAULT_VOCAB_SIZE = 65_000  # the recipes' vocabulary: the most frequent GloVe words
NO_NEIGHBOUR_U16 = 65535


@dataclass(frozen=True)
class Settings:
    """Counter-fitting hyperparameters (the paper's values)."""

    delta: float = 1.0
    gamma: float = 0.0
    rho: float = 0.2
    k_antonym: float = 0.1
    k_synonym: float = 0.1
    k_preserve: float = 0.1
    epochs: int = 20
    max_preserve_neighbours: int = 20


class CounterFittedVectors:
    """Unit vectors, vocabulary and a precomputed table of each word's nearest neighbours."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.words: list[str] = (directory / "words.txt").read_text(encoding="utf-8").split("\n")
        self.neighbour_ids: np.ndarray = np.load(directory / "neighbours.npy").astype(np.int64)
        if self.neighbour_ids.max(initial=0) == NO_NEIGHBOUR_U16:
            self.neighbour_ids[self.neighbour_ids == NO_NEIGHBOUR_U16] = -1
        self.neighbour_cos: np.ndarray = np.load(directory / "neighbour_cos.npy").astype(np.float32)
        self.info = json.loads((directory / "info.json").read_text(encoding="utf-8"))
        self.index = {w: i for i, w in enumerate(self.words)}

    @cached_property
    def vectors(self) -> np.ndarray:
        """The unit vectors."""
        path = self.directory / "vectors.npy"
        if not path.is_file():
            raise RobustEvalError(
                f"{self.directory} has no vectors.npy: "
                "run `robust-eval resources fetch glove wordnet` and let the vectors be rebuilt"
            )
        return np.load(path)

    def cosine(self, a: str, b: str) -> float:
        """Cosine similarity of two vocabulary words."""
        return float(self.vectors[self.index[a]] @ self.vectors[self.index[b]])

    def neighbours(self, word: str, k: int = NEIGHBOURS, min_cos: float = 0.5) -> list[str]:
        """Up to `k` nearest words with cosine >= `min_cos`, nearest first (empty for unknown words)."""
        row = self.index.get(word)
        if row is None:
            return []
        ids, cos = self.neighbour_ids[row, :k], self.neighbour_cos[row, :k]
        return [self.words[i] for i, c in zip(ids, cos) if i >= 0 and c >= min_cos]


def glove_vocabulary(vocab_size: int) -> tuple[list[str], np.ndarray]:
    """The `vocab_size` most frequent alphabetic GloVe words and their unit vectors."""
    glove = resources.require("glove")
    words = (glove / "words.txt").read_text(encoding="utf-8").split("\n")
    rows = [i for i, w in enumerate(words) if WORD.match(w)][:vocab_size]
    vectors = np.load(glove / "vectors.npy", mmap_mode="r")[rows].astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-8)
    return [words[i] for i in rows], vectors


def wordnet_constraints(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(synonym pairs, antonym pairs) as index arrays of shape (n, 2) over `words`."""
    wordnet = resources.wordnet()
    index = {w: i for i, w in enumerate(words)}

    def members(synsets) -> set[int]:
        return {index[n.lower()] for s in synsets for n in s.lemma_names() if n.lower() in index}

    synonyms: set[tuple[int, int]] = set()
    antonyms: set[tuple[int, int]] = set()
    for word, i in index.items():
        for lemma in wordnet.lemmas(word):
            synset = lemma.synset()
            synonyms.update((min(i, j), max(i, j)) for j in members([synset]) if j != i)
            for opposite in lemma.antonyms():
                side = [synset] + (synset.similar_tos() if synset.pos() in "as" else [])
                other = [opposite.synset()] + (opposite.synset().similar_tos() if opposite.synset().pos() in "as" else [])
                antonyms.update((min(a, b), max(a, b)) for a in members(side) for b in members(other) if a != b)
    synonyms -= antonyms
    return _pair_array(synonyms), _pair_array(antonyms)


def _pair_array(pairs: set[tuple[int, int]]) -> np.ndarray:
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def nearest(vectors: np.ndarray, rows: np.ndarray, k: int, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """For each of `rows`, the `k` most similar other rows of `vectors` (ids, cosines), nearest first."""
    matrix = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    ids, cos = [], []
    for start in range(0, len(rows), chunk):
        block = torch.from_numpy(np.asarray(rows[start:start + chunk], dtype=np.int64))
        sims = matrix[block] @ matrix.T
        sims[torch.arange(len(block)), block] = -float("inf")
        top = sims.topk(k, dim=1)
        ids.append(top.indices.to(torch.int32))
        cos.append(top.values)
    return torch.cat(ids).numpy(), torch.cat(cos).numpy()


def counter_fit(vectors: np.ndarray, synonyms: np.ndarray, antonyms: np.ndarray, settings: Settings) -> np.ndarray:
    """Counter-fitted copy of unit `vectors` (see the module docstring for the objective)."""
    moving = np.unique(np.concatenate([synonyms.ravel(), antonyms.ravel()]))
    preserve = np.zeros((0, 2), dtype=np.int64)
    original_distance = np.zeros(0, dtype=np.float32)
    if len(moving):
        ids, cos = nearest(vectors, moving, settings.max_preserve_neighbours)
        keep = cos >= 1 - settings.rho
        preserve = np.stack([np.repeat(moving, keep.sum(1)), ids[keep]], axis=1)
        original_distance = 1 - cos[keep]
    pairs = {name: torch.from_numpy(p.astype(np.int64)) for name, p in
             (("antonyms", antonyms), ("synonyms", synonyms), ("preserve", preserve))}
    current = torch.from_numpy(vectors.astype(np.float32))
    baseline = torch.from_numpy(original_distance.astype(np.float32))
    for _ in range(settings.epochs):
        update = torch.zeros_like(current)
        count = torch.zeros(len(current))
        for a, b, weight, on in _active_terms(current, pairs, baseline, settings):
            a, b = a[on], b[on]
            update.index_add_(0, a, weight * (current[b] - current[a]))
            count.index_add_(0, a, torch.ones(len(a)))
        current = current + update / count.clamp(min=1)[:, None]
        current = torch.nn.functional.normalize(current, dim=1)
    return current.numpy()


def _active_terms(current: torch.Tensor, pairs: dict[str, torch.Tensor], baseline: torch.Tensor, settings: Settings):
    """(word ids, partner ids, weight, violated mask) per term; each term moves its first word.

    A positive weight pulls a word towards its partner, a negative one pushes it away; every word then
    moves by the mean of its terms' steps (as in the authors' implementation).
    """
    def distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return 1 - (current[a] * current[b]).sum(1)

    for name, weight, limit, repel in (("antonyms", -settings.k_antonym, settings.delta, True),
                                       ("synonyms", settings.k_synonym, settings.gamma, False)):
        if len(pairs[name]):
            for a, b in ((pairs[name][:, 0], pairs[name][:, 1]), (pairs[name][:, 1], pairs[name][:, 0])):
                d = distance(a, b)
                yield a, b, weight, (d < limit) if repel else (d > limit)
    if len(pairs["preserve"]):
        a, b = pairs["preserve"][:, 0], pairs["preserve"][:, 1]
        yield a, b, settings.k_preserve, distance(a, b) > baseline


def build(directory: Path, vocab_size: int, settings: Settings = Settings()) -> Path:
    """Build counter-fitted vectors and their neighbour table into `directory` (atomically)."""
    words, vectors = glove_vocabulary(vocab_size)
    synonyms, antonyms = wordnet_constraints(words)
    fitted = counter_fit(vectors, synonyms, antonyms, settings)
    neighbour_ids, neighbour_cos = nearest(fitted, np.arange(len(words)), NEIGHBOURS)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=directory.parent))
    (staging / "words.txt").write_text("\n".join(words), encoding="utf-8")
    np.save(staging / "vectors.npy", fitted)
    np.save(staging / "neighbours.npy", neighbour_ids)
    np.save(staging / "neighbour_cos.npy", neighbour_cos.astype(np.float16))
    info = {"version": VERSION, "vocab_size": len(words), "synonym_pairs": len(synonyms),
            "antonym_pairs": len(antonyms), "source": "GloVe 6B 50d + WordNet 3.0", **settings.__dict__}
    (staging / "info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    try:
        os.replace(staging, directory)
    except OSError:  # another process finished first: keep its copy
        shutil.rmtree(staging, ignore_errors=True)
    return directory


def compact_copy(source: Path, target: Path) -> None:
    """What the recipes read and nothing more: vocabulary, info, the unit vectors (the strict profiles' word
    cosine) and the neighbour table with ids as uint16 (65535 = no neighbour) and cosines in float16."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("words.txt", "info.json", "neighbour_cos.npy", "vectors.npy"):
        shutil.copyfile(source / name, target / name)
    ids = np.load(source / "neighbours.npy")
    if len(ids) >= NO_NEIGHBOUR_U16:
        raise RobustEvalError(f"{source} has {len(ids)} words, too many for 16-bit neighbour ids: bundle fewer words")
    np.save(target / "neighbours.npy", np.where(ids < 0, NO_NEIGHBOUR_U16, ids).astype(np.uint16))


def cache_directory(vocab_size: int) -> Path:
    """Where vectors for `vocab_size` words are cached."""
    return resources.home() / "vectors" / "counter-fitted" / f"v{VERSION}-{vocab_size}"


def ensure_built(vocab_size: int = DEFAULT_VOCAB_SIZE) -> Path:
    """The cache directory of vectors for `vocab_size` words, built first when missing (~1 min)."""
    directory = cache_directory(vocab_size)
    if not (directory / "info.json").is_file():
        build(directory, vocab_size)
    return directory


@lru_cache(maxsize=2)
def load(vocab_size: int = DEFAULT_VOCAB_SIZE) -> CounterFittedVectors:
    """Counter-fitted vectors for the `vocab_size` most frequent words, built on first use."""
    return CounterFittedVectors(ensure_built(vocab_size))
