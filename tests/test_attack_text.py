"""AttackedText: exact reconstruction, word swaps, span rewrites that change the word count, alignment."""

from __future__ import annotations

import pytest

from attacks.text import AttackedText, split_words
from attacks.transformations import match_case

TEXTS = [
    "the movie was good .",
    "It's a very good movie, isn't it? Really!",
    "  leading and trailing spaces  ",
    "a film -- with dashes -- and   tabs\tand\nnewlines",
    "café au lait , naïve and well-made",
    "",
    "...",
]


@pytest.mark.parametrize("text", TEXTS)
def test_reconstructs_exactly(text: str) -> None:
    parsed = AttackedText.from_text(text)
    assert parsed.text == text
    assert len(parsed.separators) == len(parsed.words) + 1
    assert parsed.modified == frozenset()


def test_words_keep_contractions_and_hyphens() -> None:
    words, _ = split_words("It's a well-made film, isn't it?")
    assert words == ("It's", "a", "well-made", "film", "isn't", "it")


def test_replace_words_tracks_modifications_and_history() -> None:
    text = AttackedText.from_text("the movie was good .")
    swapped = text.replace_words({3: "fine"})
    assert swapped.text == "the movie was fine ."
    assert swapped.modified == {3}
    assert swapped.history == ("good -> fine",)
    assert swapped.perturbed_ratio == pytest.approx(1 / 4)
    assert text.text == "the movie was good ."  # immutable


def test_replace_span_changes_word_count_and_shifts_modified() -> None:
    text = AttackedText.from_text("the movie was good , really good").replace_words({5: "fine"})
    longer = text.replace_span(1, 2, ["motion", "picture"])
    assert longer.text == "the motion picture was good , really fine"
    assert longer.modified == {1, 2, 6}
    shorter = longer.replace_span(1, 3, ["film"], note="motion picture -> film")
    assert shorter.text == "the film was good , really fine"
    assert shorter.modified == {1, 5}
    assert shorter.history[-1] == "motion picture -> film"
    assert shorter.original_length == 6


@pytest.mark.parametrize("index, expected", [
    (0, "movie , isn't it?"),
    (1, "It , isn't it?"),
    (3, "It movie , isn't?"),
])
def test_delete_word_keeps_punctuation(index: int, expected: str) -> None:
    assert AttackedText.from_text("It movie , isn't it?").delete_word(index).text == expected


def test_rewrite_aligns_words() -> None:
    text = AttackedText.from_text("what is the best movie")
    rewritten = text.rewrite("what's the best film ?", note="what is -> what's; movie -> film; add ?")
    assert rewritten.words == ("what's", "the", "best", "film")
    assert rewritten.modified == {0, 3}
    assert rewritten.text.endswith("film ?")


def test_replace_span_rejects_bad_span() -> None:
    with pytest.raises(IndexError):
        AttackedText.from_text("a b").replace_span(1, 5, ["c"])


@pytest.mark.parametrize("word, template, expected", [
    ("great", "good", "great"), ("great", "Good", "Great"), ("great", "GOOD", "GREAT"), ("great", "I", "Great"),
])
def test_match_case(word: str, template: str, expected: str) -> None:
    assert match_case(word, template) == expected
