"""Temperature scaling: the fit recovers a known temperature, ECE matches hand-computed values, and a victim
applies its temperature to the logits of a tiny random model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from robust_eval.core import calibration
from robust_eval.core.errors import RobustEvalError
from robust_eval.core.victim import HFVictim, load_victim

TEXTS = ["a good movie", "the plot was dull", "i loved the cast", "bad acting and a weak script", "fun"]


def sampled(temperature: float, examples: int = 20_000, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose labels are drawn from softmax(logits / temperature): calibrated at exactly that T."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, size=(examples, classes)) * temperature
    probabilities = np.exp(calibration.log_softmax(logits, temperature))
    labels = (rng.random((examples, 1)) > probabilities.cumsum(axis=1)).sum(axis=1)
    return logits, labels


@pytest.mark.parametrize("temperature", [0.4, 1.0, 3.0])
def test_fit_recovers_a_known_temperature(temperature: float) -> None:
    logits, labels = sampled(temperature)
    fitted = calibration.fit_temperature(logits, labels)
    assert fitted == pytest.approx(temperature, rel=0.05)
    nll = calibration.negative_log_likelihood(logits, labels, fitted)
    assert nll <= calibration.negative_log_likelihood(logits, labels, fitted * 1.05)
    assert nll <= calibration.negative_log_likelihood(logits, labels, fitted / 1.05)


def test_saturated_models_get_a_finite_temperature() -> None:
    labels = np.array([0, 1] * 100)
    right = np.where(np.eye(2)[labels] > 0, 12.0, -12.0)  # margin 24: the softmax saturates at 1 - 4e-11
    low, high = calibration.TEMPERATURE_BOUNDS
    assert calibration.fit_temperature(right, labels) == pytest.approx(low)  # never wrong: NLL falls as T -> 0
    wrong = right.copy()
    wrong[:20] = wrong[:20, ::-1]  # 10 % wrong with the same certainty
    # NLL(T) = 0.9 log(1 + exp(-24 / T)) + 0.1 log(1 + exp(24 / T)) is least where sigmoid(24 / T) = 0.9
    assert calibration.fit_temperature(wrong, labels) == pytest.approx(24 / math.log(9), rel=1e-4)
    result = calibration.calibrate(wrong, labels)
    assert result.nll_after < result.nll_before
    assert result.ece_before == pytest.approx(0.1) and result.ece_after == pytest.approx(0.0, abs=1e-6)
    assert calibration.fit_temperature(wrong * 1e4, labels) == pytest.approx(high)  # bounded, never inf or NaN


def test_expected_calibration_error_by_hand() -> None:
    probabilities = np.array([[0.05, 0.95], [0.95, 0.05], [0.4, 0.6], [0.55, 0.45]])
    labels = np.array([1, 1, 1, 0])
    # bin (14/15, 1]: confidences 0.95, 0.95, one right: |0.5 - 0.95| x 2
    # bin (8/15, 9/15]: confidences 0.6, 0.55, both right: |1 - 0.575| x 2
    assert calibration.expected_calibration_error(probabilities, labels) == pytest.approx((0.9 + 0.85) / 4)
    assert calibration.expected_calibration_error(probabilities, labels, bins=1) == pytest.approx(abs(0.75 - 0.7625))


def test_temperature_scaling_calibrates_an_over_confident_model() -> None:
    logits, labels = sampled(1.0)
    result = calibration.calibrate(logits * 4.0, labels)  # four times over-confident
    assert result.temperature == pytest.approx(4.0, rel=0.05)
    assert result.ece_before > 0.1 > 0.02 > result.ece_after
    assert result.examples == len(labels)
    assert result.config_fields("m") == {"temperature": result.temperature, "calibrates": "m",
                                         "ece_before": result.ece_before, "ece_after": result.ece_after}
    assert calibration.calibrated_name("m") == "m@calibrated"


@pytest.mark.parametrize("logits, labels, fragment", [
    (np.zeros((0, 2)), np.zeros(0), "at least one dev example"),
    (np.zeros((3, 2)), np.zeros(2), "one label per example"),
    (np.full((2, 2), np.nan), np.zeros(2), "NaN or infinite"),
    (np.zeros((2, 2)), np.array([0, 2]), "labels must lie in 0..1"),
])
def test_bad_calibration_input(logits: np.ndarray, labels: np.ndarray, fragment: str) -> None:
    with pytest.raises(RobustEvalError, match=fragment):
        calibration.fit_temperature(logits, labels)


def test_victim_applies_its_temperature_to_the_logits(tiny_checkpoint) -> None:
    path = tiny_checkpoint(seed=3)
    plain = load_victim(path, device="cpu")
    scaled = load_victim(path, device="cpu", temperature=2.5)
    encoded = plain.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        logits = plain.model(**encoded).logits.float()
    assert np.array_equal(plain.predict_proba(TEXTS), torch.softmax(logits, dim=-1).numpy())
    assert np.array_equal(HFVictim(plain.model, plain.tokenizer, device="cpu", temperature=1.0).predict_proba(TEXTS),
                          plain.predict_proba(TEXTS))
    probabilities = scaled.predict_proba(TEXTS)
    np.testing.assert_allclose(probabilities, torch.softmax(logits / 2.5, dim=-1).numpy(), rtol=1e-6)
    assert (probabilities.argmax(axis=1) == plain.predict_proba(TEXTS).argmax(axis=1)).all()
    assert np.abs(probabilities - 0.5).max() < np.abs(plain.predict_proba(TEXTS) - 0.5).max()
    np.testing.assert_allclose(scaled.logits(TEXTS), logits.numpy(), rtol=1e-6)
    assert scaled.queries == len(TEXTS)  # logits leave the count alone


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan"), float("inf")])
def test_victim_refuses_a_bad_temperature(tiny_checkpoint, temperature: float) -> None:
    with pytest.raises(RobustEvalError, match="temperature must be a positive finite number"):
        load_victim(tiny_checkpoint(), device="cpu", temperature=temperature)
