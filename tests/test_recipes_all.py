"""Every registered recipe (built-in or plug-in) on a tiny model: valid records, real flips.

New recipes are picked up automatically; a recipe whose offline resources are missing is skipped with
the fetch command in the reason.
"""

from __future__ import annotations

import json

import pytest

from attacks.registry import available_recipes, build_recipe
from attacks.result import STATUSES, AttackResult
from attacks.text import AttackedText
from robust_eval.core import resources
from robust_eval.core.data import Example

POOL = [
    "the story was good and the acting was great",
    "a boring film with a dull plot and bad actors",
    "i really loved this charming and funny movie",
    "the director made a slow , weak and bland film",
    "this wonderful cast is fun",
    "what a terrible script , i hated it",
    "the characters are nice but the plot is a mess",
    "an excellent , moving and brilliant story",
]


@pytest.fixture(scope="module")
def victim_and_examples(tmp_path_factory: pytest.TempPathFactory):
    """A tiny classifier and the two pool sentences it is least sure about (labelled as predicted)."""
    from conftest import build_tiny_checkpoint
    from robust_eval.core.victim import load_victim

    victim = load_victim(build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "bert", seed=1))
    probs = victim.predict_proba(POOL)
    margin = abs(probs[:, 0] - probs[:, 1])
    chosen = margin.argsort()[:2]
    return victim, [Example(f"x{i}", POOL[i], int(probs[i].argmax())) for i in chosen]


@pytest.mark.parametrize("name", sorted(available_recipes()))
def test_recipe_produces_valid_results(name: str, victim_and_examples) -> None:
    spec = available_recipes()[name]
    missing = [r for r in spec.resources if not resources.is_present(r)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}: run `robust-eval resources fetch {' '.join(missing)}`")
    victim, examples = victim_and_examples
    attack = build_recipe(name, {})
    for example in examples:
        result = attack.attack(victim, example)
        check_result(result, example, attack.query_limit(result.num_words))
        assert result.status != "skipped", "examples are labelled with the model's own prediction"
        perturbed = victim.predict_proba([result.perturbed_text])[0]
        assert int(perturbed.argmax()) == result.perturbed_prediction
        if result.status == "succeeded":
            assert result.perturbed_prediction != example.label
            assert result.perturbed_text != example.text
        else:
            assert result.perturbed_prediction == example.label


def check_result(result: AttackResult, example: Example, query_limit: int | None) -> None:
    """Fields are consistent with each other and survive a JSON round trip."""
    assert result.status in STATUSES
    assert result.example_id == example.id and result.original_text == example.text and result.label == example.label
    assert result.num_words == len(AttackedText.from_text(example.text))
    perturbed_words = len(AttackedText.from_text(result.perturbed_text))
    assert all(0 <= i < perturbed_words for i in result.modified_indices)
    assert result.perturbed_word_ratio == pytest.approx(len(result.modified_indices) / result.num_words)
    assert 0 <= result.original_confidence <= 1 and 0 <= result.perturbed_confidence <= 1
    assert result.queries >= 1 and result.seconds > 0
    if query_limit is not None:
        assert result.queries <= query_limit
    assert AttackResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
