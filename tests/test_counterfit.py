"""Counter-fitting (Mrksic et al. 2016): antonyms stop being neighbours, synonyms stay close."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from attacks import counterfit
from robust_eval.core import resources

pytestmark = pytest.mark.skipif(
    not (resources.is_present("glove") and resources.is_present("wordnet")),
    reason="needs GloVe and WordNet: run `robust-eval resources fetch glove wordnet`",
)

ANTONYMS = [("good", "bad"), ("love", "hate")]
SYNONYMS = [("movie", "film"), ("terrible", "awful")]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> counterfit.CounterFittedVectors:
    """Counter-fitted vectors over the 10,000 most frequent words (enough to hold every test word)."""
    return counterfit.CounterFittedVectors(counterfit.build(tmp_path_factory.mktemp("cf") / "v", 10_000))


@pytest.fixture(scope="module")
def raw() -> dict[str, np.ndarray]:
    words, vectors = counterfit.glove_vocabulary(10_000)
    return dict(zip(words, vectors))


@pytest.mark.parametrize("a, b", ANTONYMS)
def test_antonyms_are_pushed_apart(fitted, raw, a: str, b: str) -> None:
    assert float(raw[a] @ raw[b]) >= 0.5, "raw GloVe would offer the antonym as a substitute at cosine >= 0.5"
    assert fitted.cosine(a, b) < 0.5
    assert b not in fitted.neighbours(a) and a not in fitted.neighbours(b)


@pytest.mark.parametrize("a, b", SYNONYMS)
def test_synonyms_stay_neighbours(fitted, a: str, b: str) -> None:
    assert fitted.cosine(a, b) > 0.8
    assert b in fitted.neighbours(a, k=10)


def test_neighbour_table_is_sorted_and_cached(fitted) -> None:
    row = fitted.index["movie"]
    cos = fitted.neighbour_cos[row]
    assert np.all(np.diff(cos) <= 1e-3) and fitted.neighbour_ids[row, 0] != row
    assert fitted.info["antonym_pairs"] > 1000 and fitted.info["synonym_pairs"] > 1000
    assert fitted.neighbours("notaword") == []
    reloaded = counterfit.CounterFittedVectors(Path(fitted.directory))
    assert reloaded.neighbours("movie") == fitted.neighbours("movie")



def test_compact_copy_keeps_every_neighbour_list(fitted, tmp_path: Path) -> None:
    counterfit.compact_copy(Path(fitted.directory), tmp_path / "compact")
    compact = counterfit.CounterFittedVectors(tmp_path / "compact")
    assert np.load(tmp_path / "compact" / "neighbours.npy").dtype == np.uint16
    assert all(compact.neighbours(w) == fitted.neighbours(w) for w in fitted.words[::97])
    assert compact.cosine("good", "bad") == fitted.cosine("good", "bad")  # the strict profiles' word cosine
