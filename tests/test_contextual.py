"""The word-sense check of the strict profile (ContextualWordSimilarity) on a tiny random encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attacks.constraints.contextual import ContextualWordSimilarity, WordInContextEncoder, word_key
from attacks.constraints.part_of_speech import PartOfSpeech
from attacks.constraints.similarity import SentenceEncoder
from attacks.text import AttackedText
from conftest import build_tiny_checkpoint
from robust_eval.core.errors import RobustEvalError

ORIGINAL = "the movie was good and the actors were fun to watch in every scene"


@pytest.fixture(scope="module")
def word_encoder(tmp_path_factory: pytest.TempPathFactory) -> WordInContextEncoder:
    path = build_tiny_checkpoint(tmp_path_factory.mktemp("encoder"))
    return WordInContextEncoder(SentenceEncoder(path, device="cpu"))


def swapped(text: str, index: int, word: str) -> AttackedText:
    original = AttackedText.from_text(text)
    return original.replace_words({index: word})


def test_vector_is_the_last_layer_at_the_word_in_its_context(word_encoder: WordInContextEncoder) -> None:
    words = ORIGINAL.split()
    row = word_encoder.vectors([word_key(words, 3)])[0]
    encoded = word_encoder.tokenizer(words, is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        hidden = word_encoder.model(**encoded).last_hidden_state[0]
    token = encoded.word_ids(0).index(3)
    expected = torch.nn.functional.normalize(hidden[token], dim=0).numpy()
    assert np.allclose(row, expected, atol=1e-5)
    other_context = word_encoder.vectors([word_key(["a", "bad", "plot", "but", "good"], 4)])[0]
    assert not np.allclose(row, other_context, atol=1e-3)  # the same word reads differently elsewhere


def test_threshold_decides_and_unchanged_or_resized_texts_pass(word_encoder: WordInContextEncoder) -> None:
    original = AttackedText.from_text(ORIGINAL)
    candidate = swapped(ORIGINAL, 3, "great")
    [cosine] = ContextualWordSimilarity(0.0, encoder=word_encoder).cosines([candidate], original)
    assert -1 <= cosine < 1
    assert ContextualWordSimilarity(cosine - 1e-4, encoder=word_encoder).filter([candidate], original) == [True]
    assert ContextualWordSimilarity(cosine + 1e-4, encoder=word_encoder).filter([candidate], original) == [False]
    longer = AttackedText.from_text(ORIGINAL + " again")
    assert ContextualWordSimilarity(0.99, encoder=word_encoder).filter([original, longer], original) == [True, True]


def test_the_lowest_swap_counts_and_only_the_window_is_read(word_encoder: WordInContextEncoder) -> None:
    original = AttackedText.from_text(ORIGINAL)
    check = ContextualWordSimilarity(0.0, window=5, encoder=word_encoder)
    one, other = swapped(ORIGINAL, 3, "great"), swapped(ORIGINAL, 8, "bad")
    both = one.replace_words({8: "bad"})
    lone, lother, lboth = check.cosines([one, other, both], original)
    assert lboth <= min(lone, lother) + 1e-6
    far = AttackedText.from_text(ORIGINAL.replace("every scene", "one scene"))
    far_one = far.replace_words({3: "great"})
    assert check.cosines([far_one], far)[0] == pytest.approx(lone, abs=1e-6)  # word 14 lies outside the window


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(RobustEvalError, match="contextual word threshold"):
        ContextualWordSimilarity(1.5)


def test_fine_part_of_speech_compares_penn_tags() -> None:
    fine = PartOfSpeech(fine=True, allow_noun_verb=True)
    assert fine.agrees("VBZ", "VBZ") and not fine.agrees("VBZ", "VBP") and not fine.agrees("NN", "VB")
    assert PartOfSpeech().agrees("VBZ", "VBP")
