"""`pwws` and `textfooler` on the real MiniLM and resources: every swap they report obeys their papers' rules."""

from __future__ import annotations

import pytest

from attacks.constraints import STOPWORDS, TEXTFOOLER_STOPWORDS, PartOfSpeech
from attacks.registry import build_recipe
from attacks.text import AttackedText
from robust_eval.core import resources
from robust_eval.core.data import Example, load_dataset

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not all(resources.is_present(r) for r in ("minilm", "wordnet", "tagger", "glove", "mr")),
        reason="run `robust-eval resources fetch minilm wordnet tagger glove mr`",
    ),
]


@pytest.fixture(scope="module")
def victim_and_examples():
    """MiniLM with a classification head (seeded) and the two short MR test sentences it is least sure about,
    labelled as it predicts them."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from robust_eval.core.victim import HFVictim

    torch.manual_seed(0)
    path = resources.require("minilm")
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2, use_safetensors=True)
    victim = HFVictim(model, AutoTokenizer.from_pretrained(path), device="cpu")
    texts = [e.text for e in load_dataset("mr:test").examples if 6 <= len(e.text.split()) <= 12][:40]
    probs = victim.predict_proba(texts)
    chosen = abs(probs[:, 0] - probs[:, 1]).argsort()[:2]
    return victim, [Example(f"t{i}", texts[i], int(probs[i].argmax())) for i in chosen]


def swaps(result) -> list[tuple[int, str, str]]:
    original = AttackedText.from_text(result.original_text)
    perturbed = AttackedText.from_text(result.perturbed_text)
    return [(i, original.words[i], perturbed.words[i]) for i in result.modified_indices]


def test_pwws_swaps_are_inflected_synonyms_of_the_same_part_of_speech(victim_and_examples) -> None:
    from attacks.transformations.wordnet import PosWordNetSwap

    victim, examples = victim_and_examples
    attack = build_recipe("pwws")
    results = [attack.attack(victim, example) for example in examples]
    assert any(r.status == "succeeded" for r in results)
    wordnet_swap = PosWordNetSwap()
    for result in results:
        original = AttackedText.from_text(result.original_text)
        assert len(set(result.modified_indices)) == len(result.modified_indices)
        for index, old, new in swaps(result):
            assert old.lower() not in STOPWORDS
            assert new.lower() in wordnet_swap.substitutes_in(original, [index])[0]


def test_textfooler_swaps_are_close_neighbours_of_the_same_part_of_speech(victim_and_examples) -> None:
    from attacks import counterfit
    from attacks.recipes.textfooler import CALIBRATED_MIN_COS

    victim, examples = victim_and_examples
    attack = build_recipe("textfooler")
    results = [attack.attack(victim, example) for example in examples]
    assert any(r.status == "succeeded" for r in results)
    vectors = counterfit.load()
    for result in results:
        original = AttackedText.from_text(result.original_text)
        for index, old, new in swaps(result):
            assert old.lower() not in TEXTFOOLER_STOPWORDS
            assert new.lower() in vectors.neighbours(old.lower(), 50, CALIBRATED_MIN_COS)
            single = original.replace_words({index: new})
            assert PartOfSpeech().filter([single], original) == [True]
