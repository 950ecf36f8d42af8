"""The back-translation filter against real Apertium and the real MiniLM encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attacks.constraints.back_translation import DEFAULT_THRESHOLD, BackTranslationFilter, BackTranslationScore
from attacks.text import AttackedText
from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError

pytestmark = pytest.mark.skipif(
    resources.apertium_modes_dir() is None or not resources.is_present("minilm"),
    reason="needs Apertium and MiniLM (robust-eval resources fetch apertium minilm)",
)


def test_threshold_is_the_recorded_calibration() -> None:
    record = json.loads((Path(__file__).parents[1] / "benchmarks" / "bt_calibration.json").read_text())
    assert record["threshold"] == DEFAULT_THRESHOLD
    assert record["bt_score"]["roc_auc"] > 0.5


def test_score_separates_paraphrases_from_changed_meaning() -> None:
    score = BackTranslationScore()
    original = "The movie is a great story."
    values = score([original] * 3, ["The film is a great story.", "The movie is a terrible story.", "I ate two apples today."])
    assert values[0] >= DEFAULT_THRESHOLD
    assert values[1] < DEFAULT_THRESHOLD
    assert values[2] < 0.5
    with pytest.raises(RobustEvalError, match="as many originals"):
        score(["a"], [])


def test_filter_keeps_only_equivalent_candidates() -> None:
    original = AttackedText.from_text("I loved this movie.")
    candidates = [original.replace_words({3: "film"}), original.replace_words({1: "hated"})]
    assert BackTranslationFilter().filter(candidates, original) == [True, False]
    assert BackTranslationFilter(threshold=-1.0).filter(candidates, original) == [True, True]
    with pytest.raises(RobustEvalError, match="cosine"):
        BackTranslationFilter(threshold=2.0)
