"""Engine: batched, cached, budgeted queries; goals; constraints; searches; result records."""

from __future__ import annotations

import json
from typing import Mapping, Sequence

import numpy as np
import pytest

from attack_victims import LexiconVictim
from attacks.constraints import MaxModificationRate, RepeatModification, StopwordModification
from attacks.core import Attack, ModelQueries, Transformation
from attacks.goals import TargetedClassification, UntargetedClassification
from attacks.result import STATUSES, AttackResult
from attacks.search import BeamSearch, GreedyWordImportance
from attacks.text import AttackedText
from attacks.transformations import WordSwap
from robust_eval.core.data import Example
from robust_eval.core.errors import RobustEvalError


class DictionarySwap(WordSwap):
    """Substitutes from a fixed table."""

    def __init__(self, table: Mapping[str, list[str]], max_candidates: int = 50) -> None:
        super().__init__(max_candidates)
        self.table = table

    def substitutes(self, word: str) -> list[str]:
        return list(self.table.get(word, []))


class PhraseRule(Transformation):
    """Replace one word by a phrase (changes the word count)."""

    word_level = False

    def __init__(self, source: str, target: Sequence[str]) -> None:
        self.source, self.target = source, list(target)

    def __call__(self, text: AttackedText, indices: Sequence[int]) -> list[AttackedText]:
        return [text.replace_span(i, i + 1, self.target) for i in indices if text.words[i].lower() == self.source]


TABLE = {"good": ["bad", "fine"], "great": ["awful", "fine"], "fine": ["boring"], "the": ["a"], "movie": ["film"]}
SHARED = [RepeatModification(), StopwordModification()]


def make_attack(search=None, constraints=SHARED, table=TABLE, budget=50.0) -> Attack:
    return Attack(UntargetedClassification(), DictionarySwap(table), list(constraints),
                  search or GreedyWordImportance("delete"), budget_per_word=budget)


def test_queries_are_cached_and_budgeted() -> None:
    victim = LexiconVictim()
    queries = ModelQueries(victim, limit=3)
    first = queries(["good", "bad", "good"])
    assert first.shape == (3, 2) and queries.count == 2 and victim.calls == [2]
    partial = queries(["great", "awful", "fine", "bad"])
    assert len(partial) == 1 and queries.count == 3  # only "great" fits in the budget
    assert np.allclose(partial[0], victim.predict_proba(["great"])[0])


def test_successful_swap_is_recorded() -> None:
    victim = LexiconVictim()
    result = make_attack().attack(victim, Example("e1", "The movie was good .", 1))
    assert result.status == "succeeded"
    assert result.perturbed_text == "The movie was bad ."
    assert result.modified_indices == [3]
    assert result.perturbed_word_ratio == pytest.approx(0.25)
    assert result.original_prediction == 1 and result.perturbed_prediction == 0
    assert result.original_confidence > 0.5 > result.perturbed_confidence
    assert result.details["changes"] == ["good -> bad"]
    assert victim.predict_proba([result.perturbed_text])[0].argmax() != result.label
    assert 1 < result.queries <= 50 * 4


def test_every_step_is_one_batch() -> None:
    victim = LexiconVictim()
    make_attack().attack(victim, Example("e1", "the movie was good and the plot was fine", 1))
    # original, importance ranking, then one call per visited word, then the re-check
    assert victim.calls[0] == 1 and victim.calls[1] == 4
    assert all(size >= 1 for size in victim.calls)


def test_misclassified_examples_are_skipped() -> None:
    victim = LexiconVictim()
    result = make_attack().attack(victim, Example("e2", "a boring movie", 1))
    assert result.status == "skipped"
    assert result.perturbed_text == result.original_text and result.queries == 1


def test_stopwords_are_never_replaced() -> None:
    victim = LexiconVictim(bias=-0.5)
    table = {"the": ["a"], "movie": ["film"]}
    result = make_attack(table=table).attack(victim, Example("e3", "the movie", 0))
    assert result.status == "failed"
    assert "the" in result.perturbed_text.split()


def test_query_budget_is_enforced() -> None:
    victim = LexiconVictim()
    attack = make_attack(budget=0.5)
    result = attack.attack(victim, Example("e4", "a good movie with a good plot", 1))
    assert result.queries <= attack.query_limit(result.num_words)
    assert result.status == "failed" and result.details.get("budget_exhausted")


@pytest.mark.parametrize("ranking", ["delete", "unk", "pwws"])
def test_word_importance_visits_the_most_important_word_first(ranking: str) -> None:
    # One swap allowed: only replacing "great" (weight 3) can flip; replacing "good" first would use the budget.
    constraints = SHARED + [MaxModificationRate(0.2)]
    attack = make_attack(GreedyWordImportance(ranking), constraints)
    result = attack.attack(LexiconVictim(), Example("e5", "good and great movie here", 1))
    assert result.status == "succeeded", result
    assert result.perturbed_text == "good and awful movie here"


def test_max_modification_rate_limits_the_attack() -> None:
    # Flipping needs both positive words changed: 30 % of 5 words rounds up to two (TextAttack's rounding),
    # 30 % of 3 words to one.
    constraints = SHARED + [MaxModificationRate(0.3)]
    victim = LexiconVictim(bias=0.5)
    result = make_attack(constraints=constraints).attack(victim, Example("e6", "good film , fine plot twist", 1))
    assert result.status == "succeeded" and len(result.modified_indices) == 2
    assert make_attack().attack(victim, Example("e6", "good good film", 1)).status == "succeeded"
    result = make_attack(constraints=constraints).attack(victim, Example("e6", "good good film", 1))
    assert result.status == "failed" and len(result.modified_indices) == 1


def test_modification_cap_rounds_up() -> None:
    cap = MaxModificationRate(0.3)
    assert [cap.limit(n) for n in (1, 3, 4, 5, 10, 11, 20)] == [1, 1, 2, 2, 3, 4, 6]
    assert MaxModificationRate(0.3, minimum=2).limit(3) == 2


def test_beam_search_handles_rules_that_change_word_count() -> None:
    attack = Attack(UntargetedClassification(), PhraseRule("movie", ["moving", "picture"]), [], BeamSearch(width=2))
    result = attack.attack(LexiconVictim(), Example("e7", "a fine movie .", 1))
    assert result.status == "succeeded"
    assert result.perturbed_text == "a fine moving picture ."
    assert result.modified_indices == [2, 3]
    assert result.details["changes"] == ["movie -> moving picture"]


def test_word_importance_refuses_rules_that_change_word_count() -> None:
    with pytest.raises(RobustEvalError, match="use BeamSearch"):
        Attack(UntargetedClassification(), PhraseRule("movie", ["moving", "picture"]), [], GreedyWordImportance())


def test_targeted_goal() -> None:
    goal = TargetedClassification(target=0)
    probs = np.array([[0.2, 0.8], [0.7, 0.3]])
    assert goal.succeeded(probs, label=1).tolist() == [False, True]
    assert goal.scores(probs, label=1).tolist() == [0.2, 0.7]
    with pytest.raises(RobustEvalError, match="target class 5"):
        TargetedClassification(5).check(num_labels=2)


def test_targeted_attack_reaches_the_target() -> None:
    attack = Attack(TargetedClassification(0), DictionarySwap(TABLE), SHARED, GreedyWordImportance())
    result = attack.attack(LexiconVictim(), Example("e8", "a good movie", 1))
    assert result.status == "succeeded" and result.perturbed_prediction == 0


def test_result_round_trips_through_json() -> None:
    result = make_attack().attack(LexiconVictim(), Example("e9", "The movie was good .", 1))
    restored = AttackResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert restored == result
    assert restored.status in STATUSES


def test_invalid_settings_are_one_line_errors() -> None:
    with pytest.raises(RobustEvalError, match="max modification rate"):
        MaxModificationRate(1.5)
    with pytest.raises(RobustEvalError, match="max_candidates"):
        DictionarySwap({}, max_candidates=0)
