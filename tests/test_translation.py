"""Apertium back-translation: real MT, batched lines, normalisation, caching, missing-binary error."""

from __future__ import annotations


import pytest

from attacks.translation import ApertiumTranslator, Translator, normalise
from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError

needs_apertium = pytest.mark.skipif(
    resources.apertium_modes_dir() is None, reason="Apertium eng-spa is not installed (robust-eval resources fetch apertium)"
)


def test_normalise_makes_one_line() -> None:
    assert normalise("  a\nb\r\n c\u2028d\t e ") == "a b c d e"


@needs_apertium
def test_round_trip_keeps_alignment_and_meaning() -> None:
    translator = ApertiumTranslator()
    assert isinstance(translator, Translator)
    texts = ["I really hated this boring film.", "", "The movie\nis great.", "What is this?"]
    spanish = translator.translate(texts)
    assert spanish[0] == "Realmente odié esta película aburrida."
    assert spanish[1] == "" and "película" in spanish[2].lower()
    back = translator.back_translate(texts)
    assert len(back) == len(texts)
    assert "hated this boring film" in back[0]
    assert back[1] == ""
    assert "film" in back[2] and "\n" not in back[2]
    assert back[3] == "What is this?"


@needs_apertium
def test_many_sentences_one_call_and_cache() -> None:
    translator = ApertiumTranslator()
    texts = [f"Scene {i} of the film was good." for i in range(200)]
    back = translator.back_translate(texts)
    assert [[w for w in b.split() if w.strip(".").isdigit()] for b in back] == [[f"{i}"] for i in range(200)]
    translator.close()  # cached results need no MT call
    assert translator.back_translate(texts[:5]) == back[:5] and not translator.pids


def test_missing_apertium_names_the_fetch_command(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("ROBUST_EVAL_HOME", str(tmp_path))
    monkeypatch.setattr(resources, "apertium_modes_dir", lambda: None)
    with pytest.raises(RobustEvalError, match="robust-eval resources fetch apertium"):
        ApertiumTranslator().back_translate(["hello"])


@needs_apertium
def test_unknown_pair_is_a_one_line_error() -> None:
    with pytest.raises(RobustEvalError, match="no 'eng-xyz' mode"):
        ApertiumTranslator(pivot="xyz").translate(["hello"])
    with pytest.raises(RobustEvalError, match="not valid"):
        ApertiumTranslator(pivot="spa; rm")


@needs_apertium
def test_round_trips_are_independent_of_history() -> None:
    from robust_eval.core.data import load_dataset

    texts = [e.text for e in load_dataset("mr:test").examples]
    expected = ApertiumTranslator(pipelines=1).translate(texts[:400])
    used = ApertiumTranslator(pipelines=2)
    used.translate(texts[800:1000])
    assert used.translate(texts[:400]) == expected  # a pipeline's history never changes a translation
    used.reset()
    assert used.translate(texts[:400][::-1]) == expected[::-1]
