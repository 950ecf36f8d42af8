"""Per-example limits of an attack: too many words (skipped, counted), a query cap, a time limit."""

from __future__ import annotations

import time

import numpy as np
import pytest

from attack_victims import LexiconVictim
from attacks.constraints import RepeatModification, StopwordModification
from attacks.core import Attack, ExampleLimits
from attacks.goals import UntargetedClassification
from attacks.result import AttackResult
from attacks.search import GreedyWordImportance
from attacks.transformations import WordSwap
from robust_eval.core.data import Example
from robust_eval.core.errors import RobustEvalError


class Antonyms(WordSwap):
    def substitutes(self, word: str) -> list[str]:
        return {"good": ["bad", "fine"], "great": ["awful"], "fine": ["boring"]}.get(word, [])


class SlowVictim(LexiconVictim):
    """Each call takes `delay` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def predict_proba(self, texts):
        time.sleep(self.delay)
        return super().predict_proba(texts)


def attack() -> Attack:
    return Attack(UntargetedClassification(), Antonyms(), [RepeatModification(), StopwordModification()],
                  GreedyWordImportance("delete"), budget_per_word=50)


POSITIVE = Example("e1", "a good film , a great cast and a fine story with good music", 1)


def test_long_texts_are_skipped_with_their_reason_and_word_count() -> None:
    victim = LexiconVictim()
    result = attack().attack(victim, POSITIVE, ExampleLimits(max_words=5))
    assert (result.status, result.limit, result.queries, victim.queries) == ("skipped", "max_words", 1, 1)
    assert result.num_words == 13 and result.perturbed_text == POSITIVE.text and result.original_prediction == 1
    normal = attack().attack(LexiconVictim(), POSITIVE, ExampleLimits(max_words=13))
    assert normal.status == "succeeded" and normal.limit is None


def test_a_huge_text_costs_one_query_under_max_words() -> None:
    huge = Example("big", "good " * 2_000_000, 1)  # 10 MB
    started = time.perf_counter()
    result = attack().attack(LexiconVictim(), huge, ExampleLimits(max_words=1000))
    assert result.limit == "max_words" and result.num_words == 2_000_000
    assert time.perf_counter() - started < 20


def test_the_query_cap_bounds_long_texts_and_is_reported() -> None:
    victim = LexiconVictim()
    result = attack().attack(victim, POSITIVE, ExampleLimits(max_queries=4))
    assert result.queries <= 4 and victim.queries <= 5  # + the re-check of a success
    assert result.limit == "max_queries" and result.details["budget_exhausted"]
    generous = attack().attack(LexiconVictim(), POSITIVE, ExampleLimits(max_queries=10_000))
    assert generous.limit is None
    assert attack().query_limit(13, cap=4) == 4 and attack().query_limit(13, cap=10_000) == 650


def test_the_time_limit_stops_the_search_with_the_best_so_far() -> None:
    unlimited = attack().attack(SlowVictim(0.05), POSITIVE)
    assert unlimited.limit is None and unlimited.seconds > 0.15
    started = time.perf_counter()
    result = attack().attack(SlowVictim(0.05), POSITIVE, ExampleLimits(seconds=0.01))
    assert result.limit == "timeout" and result.status == "failed" and result.queries < unlimited.queries
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("field", ["max_words", "max_queries", "seconds"])
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(RobustEvalError, match=f"{field} must be positive"):
        ExampleLimits(**{field: 0})


def test_the_limit_round_trips_through_records_and_old_records_load() -> None:
    result = attack().attack(LexiconVictim(), POSITIVE, ExampleLimits(max_words=2))
    assert AttackResult.from_dict(result.to_dict()) == result
    old = {k: v for k, v in result.to_dict().items() if k != "limit"}
    assert AttackResult.from_dict(old).limit is None
    assert np.isfinite(result.original_confidence)
