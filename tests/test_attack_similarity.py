"""Sentence-encoder constraint: windows around the changes; real MiniLM cosines (integration)."""

from __future__ import annotations

import pytest

from attacks.constraints import SentenceSimilarity, minilm_encoder
from attacks.text import AttackedText
from robust_eval.core.errors import RobustEvalError

LONG = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"


def test_window_covers_the_changes() -> None:
    original = AttackedText.from_text(LONG)
    constraint = SentenceSimilarity(window=5)
    changed = original.replace_words({10: "X"})
    assert constraint.pair(changed, original) == (
        "nine ten X twelve thirteen", "nine ten eleven twelve thirteen")
    spread = original.replace_words({1: "A", 12: "B"})
    left, right = constraint.pair(spread, original)
    assert left.split()[0] == "A" and left.split()[-1] == "B" and len(right.split()) == 12
    at_end = original.replace_words({19: "Z"})
    assert constraint.pair(at_end, original)[0].split() == ["sixteen", "seventeen", "eighteen", "nineteen", "Z"]


def test_whole_texts_when_word_count_changes_or_no_window() -> None:
    original = AttackedText.from_text(LONG)
    longer = original.replace_span(3, 4, ["x", "y"])
    assert SentenceSimilarity(window=5).pair(longer, original) == (longer.text, original.text)
    swapped = original.replace_words({3: "x"})
    assert SentenceSimilarity(window=None).pair(swapped, original) == (swapped.text, original.text)


def test_threshold_must_be_a_cosine() -> None:
    with pytest.raises(RobustEvalError, match="cosine"):
        SentenceSimilarity(threshold=2)


@pytest.mark.integration
def test_minilm_separates_paraphrases_from_unrelated_text() -> None:
    original = AttackedText.from_text("the movie was great")
    paraphrase = original.replace_words({1: "film", 3: "excellent"})
    unrelated = original.rewrite("stock prices fell sharply on monday", note="unrelated")
    constraint = SentenceSimilarity(threshold=0.84, window=None)
    cosines = constraint.similarities([paraphrase, unrelated], original)
    assert cosines[0] > 0.84 > 0.3 > cosines[1]
    assert constraint.filter([paraphrase, unrelated], original) == [True, False]
    assert minilm_encoder() is minilm_encoder()
