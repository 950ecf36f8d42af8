"""Hostile and long texts in reports: bidirectional overrides, NUL and zero-width characters shown as
visible escapes; long texts shortened to the words around the changes."""

from __future__ import annotations

import json
from pathlib import Path

from robust_eval.pipeline.store import RecordStore
from robust_eval.report import render
from robust_eval.report.pairs import Segment, diff_segments, shorten, visible

RLO = "\u202e"


def test_visible_escapes_hidden_characters_only() -> None:
    assert visible(f"an {RLO}live\u202c film") == "an \\u202elive\\u202c film"
    assert visible("a\x00b\tc\u200bd\u2028e\ufeff\n") == "a\\x00b\tc\\u200bd\\u2028e\\ufeff\n"
    assert visible("café 😀 naïve — «ok»") == "café 😀 naïve — «ok»"


def test_an_invisible_insertion_shows_as_a_change() -> None:
    before, after = diff_segments("a good film", "a go\u200bod film")
    assert after == [Segment("a", False), Segment("go\\u200bod", True), Segment("film", False)]
    assert before[1] == Segment("good", True)


def test_long_texts_keep_the_words_around_the_changes() -> None:
    words = [f"w{i}" for i in range(300)]
    changed = list(words)
    changed[100], changed[250] = "X", "Y"
    before, after = diff_segments(" ".join(words), " ".join(changed))
    shown = shorten(after)
    assert [s.text for s in shown] == [
        "… 88 words …", " ".join(words[88:100]), "X", " ".join(words[101:113]), "… 125 words …",
        " ".join(words[238:250]), "Y", " ".join(words[251:263]), "… 37 words …",
    ]
    assert [s.gap for s in shown] == [88, 0, 0, 0, 125, 0, 0, 0, 37] and sum(s.words for s in shown) == 300
    short = diff_segments("a very good movie", "a very bad movie")[1]
    assert shorten(short) == short
    capped = shorten(after, limit=20)
    assert capped[-1] == Segment("… 199 words …", False, gap=199) and sum(s.words for s in capped) == 300


def write_run(out: Path, original: str, perturbed: str) -> Path:
    config = {
        "format": 1, "seed": 0, "recipes": [{"name": "swap", "params": {}}],
        "checkpoints": [{"name": f"m{RLO}x", "sha256": "0", "seed": None, "group": None, "label_names": ["neg", f"p{RLO}os"]}],
        "data": {"name": "d", "examples": 1, "limit": None, "label_names": ["neg", "pos"], "sha256": "0"},
    }
    words = len(original.split())
    with RecordStore(out, config, {}) as store:
        store.append({"kind": "clean", "checkpoint": f"m{RLO}x", "recipe": "", "example_id": "e\x000", "index": 0, "label": 1,
                      "prediction": 1, "confidence": 0.9, "probabilities": [0.1, 0.9]})
        store.append({"kind": "attack", "checkpoint": f"m{RLO}x", "recipe": "swap", "example_id": "e\x000", "index": 0, "result": {
            "example_id": "e\x000", "original_text": original, "perturbed_text": perturbed, "label": 1, "original_prediction": 1,
            "perturbed_prediction": 0, "original_confidence": 0.9, "perturbed_confidence": 0.2, "queries": 7,
            "modified_indices": [1], "num_words": words, "perturbed_word_ratio": 1 / words, "status": "succeeded",
            "seconds": 0.1, "details": {}}})
    return out


def test_reports_never_show_raw_hidden_characters(tmp_path: Path) -> None:
    filler = " ".join(["plain"] * 500)
    original = f"{filler} an {RLO}live\x00 film {filler}"
    perturbed = f"{filler} an {RLO}evil\x00 film {filler}"
    files = render(write_run(tmp_path / "out", original, perturbed))
    for path, shown in ((files.html, "\\u202elive\\x00"), (files.markdown, "\\\\u202elive\\\\x00")):  # Markdown escapes \\
        text = path.read_text(encoding="utf-8")
        assert RLO not in text and "\x00" not in text, path.name
        assert shown in text and "489 words" in text
        assert text.count("plain") < 150  # 1,000 filler words shortened to the context of the change
    assert "m\\u202ex" in files.html.read_text() and json.loads(files.summary.read_text())  # names too
