"""A reported success is confirmed by one fresh forward pass: a poisoned cache cannot make it up."""

from __future__ import annotations

import numpy as np

from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.search import GreedyWordImportance
from robust_eval.core.data import Example
from robust_eval.core.victim import load_victim
from test_attack_engine import DictionarySwap

TEXT, SWAPPED = "the acting was good", "the acting was fine"


def _attack() -> Attack:
    return Attack(UntargetedClassification(), DictionarySwap({"good": ["fine"]}), [], GreedyWordImportance())


def test_uncached_pass_matches_the_cached_one(tiny_checkpoint) -> None:
    victim = load_victim(tiny_checkpoint())
    cached = victim.predict_proba([TEXT, SWAPPED])
    assert np.allclose(victim.predict_proba_uncached([TEXT, SWAPPED]), cached, atol=1e-6)


def test_a_success_found_in_a_poisoned_cache_is_not_reported(tiny_checkpoint) -> None:
    victim = load_victim(tiny_checkpoint())
    label = int(victim.predict_proba([TEXT])[0].argmax())
    assert int(victim.predict_proba([SWAPPED])[0].argmax()) == label  # the swap does not really flip the model
    poisoned = np.eye(2, dtype=np.float32)[1 - label]
    victim._cache[SWAPPED] = poisoned  # the victim's own cache now claims a flip
    result = _attack().attack(victim, Example("p1", TEXT, label))
    assert result.status == "failed", "the re-check read the cached answer"
    assert result.details["recheck"] == "the victim no longer confirms the success"
    assert np.array_equal(victim._cache[SWAPPED], poisoned)  # the fresh pass left the cache alone


def test_a_confirmed_success_reports_the_fresh_probabilities(tiny_checkpoint) -> None:
    victim = load_victim(tiny_checkpoint())
    label = int(victim.predict_proba([TEXT])[0].argmax())
    victim._cache[SWAPPED] = np.eye(2, dtype=np.float32)[1 - label]  # cached: confidence 0 in the label
    victim.predict_proba_uncached = lambda texts: np.stack([np.eye(2)[1 - label] * 0.9 + 0.05] * len(texts))
    result = _attack().attack(victim, Example("p2", TEXT, label))
    assert result.status == "succeeded" and result.perturbed_confidence == 0.05
