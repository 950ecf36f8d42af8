"""The strict profiles and the example-quality scorer on the real models and resources."""

from __future__ import annotations

import pytest

from attacks.constraints.strict import STRICT_RESOURCES, strict_constraints
from attacks.registry import build_recipe
from attacks.text import AttackedText
from minilm_support import seeded_victim_and_examples
from robust_eval.core import resources

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not all(resources.is_present(r) for r in (*STRICT_RESOURCES, "mr")),
        reason=f"run `robust-eval resources fetch {' '.join(STRICT_RESOURCES)} mr`",
    ),
]
STRICT_RECIPES = ("wordnet-swap-strict", "embedding-swap-strict", "pwws-strict", "textfooler-strict")


@pytest.fixture(scope="module")
def victim_and_examples():
    """MiniLM with a seeded random classification head (easy to flip) and three short MR test sentences."""
    return seeded_victim_and_examples(3)


@pytest.mark.parametrize("name", STRICT_RECIPES)
def test_strict_recipe_results_pass_every_strict_constraint(name: str, victim_and_examples) -> None:
    victim, examples = victim_and_examples
    attack = build_recipe(name)
    results = [attack.attack(victim, example) for example in examples]
    assert all(r.status in ("succeeded", "failed") for r in results)
    checks = strict_constraints()
    for result in results:
        original = AttackedText.from_text(result.original_text)
        perturbed = AttackedText.from_text(result.perturbed_text)
        final = AttackedText(perturbed.words, perturbed.separators, frozenset(result.modified_indices))
        for check in checks:
            assert check.filter([final], original) == [True], (name, type(check).__name__, result.perturbed_text)


def test_real_scorer_measures_similarity_fluency_pos_and_grammar() -> None:
    from attacks.quality import default_scorer

    default_scorer.cache_clear()
    scorer = default_scorer()
    assert scorer.language_model and scorer.tagger and scorer.grammar
    same, synonym, broken = scorer.score([
        ("The movie was great.", "The movie was great."),
        ("The movie was great.", "The film was great."),
        ("He goes to the store.", "He quickly to the store."),
    ])
    assert same.similarity == pytest.approx(1, abs=1e-4) and same.perplexity_ratio == pytest.approx(1)
    assert synonym.similarity > 0.8 and synonym.pos_match == 1.0 and synonym.grammar_errors_added == 0
    assert broken.pos_match == 0.0 and broken.grammar_errors_added > 0 and broken.perplexity_ratio > 1
