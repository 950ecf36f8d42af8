"""The TextAttack bridge (optional `textattack` extra): TextAttack recipes on our victims, our recipes in TextAttack."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from attack_victims import LexiconVictim
from robust_eval.core import resources
from robust_eval.core.data import Example
from robust_eval.core.errors import RobustEvalError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("textattack") is None,
    reason="textattack is not installed (pip install robust-eval[textattack], needs transformers < 5)",
)
needs_wordnet = pytest.mark.skipif(not resources.is_present("wordnet"), reason="needs WordNet (robust-eval resources fetch wordnet)")

EXAMPLES = [Example("a", "A good movie with great acting.", 1), Example("b", "An awful and boring film.", 0)]


def check(results, victim) -> None:
    for example, result in zip(EXAMPLES, results):
        assert result.status in ("succeeded", "failed", "skipped")
        assert result.original_text == example.text and result.label == example.label
        assert result.queries >= 1 and result.num_words == len(example.text.split())
        if result.status == "succeeded":
            assert np.asarray(victim.predict_proba([result.perturbed_text]))[0].argmax() != example.label
            assert result.modified_indices


def test_deepwordbug_by_name_on_a_hugging_face_victim(tiny_checkpoint) -> None:
    from attacks.textattack_bridge import TextAttackRecipe
    from robust_eval.core.victim import load_victim

    victim = load_victim(tiny_checkpoint())
    recipe = TextAttackRecipe("deepwordbug")
    results = [recipe.attack(victim, e) for e in EXAMPLES]
    check(results, victim)
    assert all(r.details["textattack_recipe"] == "deepwordbug" for r in results)
    # The lexicon victim's prediction hinges on two words, which character edits destroy.
    lexicon = LexiconVictim()
    first = recipe.attack(lexicon, EXAMPLES[0])
    assert first.status == "succeeded" and first.perturbed_text != EXAMPLES[0].text
    assert first.queries <= 50 * first.num_words


@needs_wordnet
def test_pwws_by_name_uses_the_offline_wordnet() -> None:
    from attacks.textattack_bridge import TextAttackRecipe

    victim = LexiconVictim()
    results = [TextAttackRecipe("pwws").attack(victim, e) for e in EXAMPLES]
    check(results, victim)
    assert results[0].status == "succeeded"
    changed = set(results[0].perturbed_text.rstrip(".").split()) - set(EXAMPLES[0].text.rstrip(".").split())
    wordnet = resources.wordnet()
    synonyms = {name.lower() for o in ("good", "movie", "great", "acting") for s in wordnet.synsets(o) for name in s.lemma_names()}
    assert changed and all(w in synonyms or w.replace("-", "_") in synonyms for w in changed)


@needs_wordnet
def test_our_recipe_exported_as_a_textattack_attack() -> None:
    import textattack

    from attacks.registry import build_recipe
    from attacks.textattack_bridge import TextAttackRecipe, to_textattack

    victim = LexiconVictim()
    exported = to_textattack(build_recipe("wordnet-swap", {"min_similarity": "none", "max_rate": "1.0"}), victim)
    assert isinstance(exported, textattack.Attack)
    direct = exported.attack(EXAMPLES[0].text, 1)
    assert type(direct).__name__ == "SuccessfulAttackResult"
    assert victim.predict_proba([direct.perturbed_result.attacked_text.text])[0].argmax() == 0
    results = [TextAttackRecipe(exported, name="wordnet-swap/textattack").attack(victim, e) for e in EXAMPLES]
    check(results, victim)
    assert results[0].status == "succeeded"


def test_a_textattack_attack_object_is_rebound_to_our_victim(tiny_checkpoint) -> None:
    import textattack

    from attacks.textattack_bridge import TextAttackRecipe, VictimWrapper

    built_for = LexiconVictim()
    attack = textattack.Attack(
        textattack.goal_functions.UntargetedClassification(VictimWrapper(built_for)), [],
        textattack.transformations.WordSwapRandomCharacterDeletion(), textattack.search_methods.GreedySearch(),
    )
    victim = LexiconVictim({"good": 2.0, "great": 2.0})
    result = TextAttackRecipe(attack).attack(victim, EXAMPLES[0])
    assert victim.queries > 0 and built_for.queries == 0
    check([result], victim)


def test_unusable_recipes_are_one_line_errors() -> None:
    from attacks.registry import build_recipe
    from attacks.textattack_bridge import TextAttackRecipe, to_textattack

    with pytest.raises(RobustEvalError, match="cannot be built offline.*choose from deepwordbug"):
        TextAttackRecipe("textfooler").attack(LexiconVictim(), EXAMPLES[0])
    with pytest.raises(RobustEvalError, match="no TextAttack counterpart"):
        to_textattack(build_recipe("sears", {"equivalence": "none"}), LexiconVictim())
