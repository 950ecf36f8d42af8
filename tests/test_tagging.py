"""Part-of-speech tagging: the `tagger` resource, tag mappings, tokens of a span, window tagging and its cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from attacks.tagging import PosTagger, span_tokens, universal_pos, wordnet_pos
from attacks.text import AttackedText
from robust_eval import bundle
from robust_eval.core import resources
from robust_eval.core.errors import MissingResourceError

needs_tagger = pytest.mark.skipif(not resources.is_present("tagger"), reason="run `robust-eval resources fetch tagger`")


@pytest.mark.parametrize("tag, wordnet, universal", [
    ("NNS", "n", "NOUN"), ("NNP", "n", "NOUN"), ("VBD", "v", "VERB"), ("MD", None, "VERB"), ("JJR", "a", "ADJ"),
    ("RB", "r", "ADV"), ("RP", None, "PRT"), ("WRB", None, "ADV"), ("DT", None, "DET"), ("IN", None, "ADP"),
    ("CC", None, "CONJ"), (",", None, "."), ("FW", None, "X"),
])
def test_penn_tags_map_to_wordnet_and_universal_tags(tag: str, wordnet: str | None, universal: str) -> None:
    assert wordnet_pos(tag) == wordnet
    assert universal_pos(tag) == universal


def test_span_tokens_keep_punctuation_and_clitics() -> None:
    text = AttackedText.from_text("it 's a charming , funny movie .")
    tokens, positions = span_tokens(text, 0, len(text))
    assert tokens == ("it", "'s", "a", "charming", ",", "funny", "movie", ".")
    assert [tokens[p] for p in positions] == ["it", "'s", "a", "charming", "funny", "movie"]
    window, inner = span_tokens(text, 2, 5)
    assert window == ("a", "charming", ",", "funny") and inner == (0, 1, 3)


def test_missing_tagger_names_the_fetch_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBUST_EVAL_HOME", str(tmp_path))
    with pytest.raises(MissingResourceError, match=r"resource 'tagger' is missing .*robust-eval resources fetch tagger"):
        PosTagger().word_tags([AttackedText.from_text("a fine film")])


@needs_tagger
def test_tags_follow_context() -> None:
    tagger = PosTagger()
    noun, verb = AttackedText.from_text("a brilliant play ."), AttackedText.from_text("they play well .")
    assert tagger.word_tags([noun, verb]) == [("DT", "JJ", "NN"), ("PRP", "VBP", "RB")]


@needs_tagger
def test_window_tags_are_batched_and_cached() -> None:
    tagger = PosTagger()
    text = AttackedText.from_text("the actors played their roles brilliantly in a dull film")
    calls = []
    real_pipe = tagger.nlp.pipe
    tagger.nlp.pipe = lambda docs, batch_size: calls.append(1) or real_pipe(docs, batch_size=batch_size)
    tags = tagger.window_tags([(text, 1), (text, 2), (text, 5)], radius=2)
    assert tags == ["NNS", "VBD", "RB"] and len(calls) == 1
    assert tagger.window_tags([(text, 2)], radius=2) == ["VBD"] and len(calls) == 1  # served from the cache


@pytest.mark.integration
@needs_tagger
def test_tagger_bundle_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = bundle.create(tmp_path / "b", ["tagger"], [])
    assert manifest["size_bytes"] < 8e6
    monkeypatch.setenv("ROBUST_EVAL_HOME", str(tmp_path / "home"))
    assert bundle.install([tmp_path / "b"]) == ["tagger"]
    from robust_eval.fetch import verify_tagger

    assert "ok" in verify_tagger(resources.location("tagger"))
