"""Temperature scaling and expected calibration error, to check whether a model only looks robust because it
is over-confident.

Score-based attacks rank candidates by drops in the victim's probabilities; a saturated softmax hides those
drops, so an over-confident model can look robust (Raina et al., "Extreme Miscalibration and the Illusion of
Adversarial Robustness"). Temperature scaling (Guo et al., ICML 2017, "On Calibration of Modern Neural
Networks") divides the logits by one scalar T > 0 fitted on held-out data; predictions (argmax) and clean
accuracy do not change, only the probabilities the attack sees.

Interface for the evaluation pipeline: fit T on the dev split (`HFVictim.logits`, then `calibrate`), evaluate
the variant of checkpoint NAME as an extra checkpoint `calibrated_name(NAME)` (`NAME@calibrated`) with the
victim `HFVictim(..., temperature=T)`, and add `Calibration.config_fields(NAME)` (`temperature`,
`calibrates`, `ece_before`, `ece_after`) to that checkpoint's run-config entry; the report then compares
the two checkpoints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from robust_eval.core.errors import RobustEvalError

CALIBRATED_SUFFIX = "@calibrated"
TEMPERATURE = "temperature"
CALIBRATES = "calibrates"
ECE_BEFORE = "ece_before"
ECE_AFTER = "ece_after"
ECE_BINS = 15
TEMPERATURE_BOUNDS = (0.05, 100.0)
LOG_TOLERANCE = 1e-7
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def calibrated_name(checkpoint: str) -> str:
    """The checkpoint name under which the temperature-scaled variant of `checkpoint` is evaluated."""
    return checkpoint + CALIBRATED_SUFFIX


def _checked(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise RobustEvalError(
            f"calibration needs an examples x classes array and one label per example, got shapes "
            f"{logits.shape} and {labels.shape}: pass the dev split's logits and labels"
        )
    if logits.shape[0] == 0:
        raise RobustEvalError("calibration needs at least one dev example: check the dev split")
    if not np.isfinite(logits).all():
        raise RobustEvalError("the dev logits hold NaN or infinite values: check the checkpoint")
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise RobustEvalError(f"dev labels must lie in 0..{logits.shape[1] - 1}: check the label mapping")
    return logits, labels


def log_softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """log softmax(logits / T) per row, in float64 and stable for saturated logits."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    shifted = scaled - scaled.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the labels under softmax(logits / T)."""
    logits, labels = _checked(logits, labels)
    return float(-log_softmax(logits, temperature)[np.arange(len(labels)), labels].mean())


def fit_temperature(
    logits: np.ndarray, labels: np.ndarray, bounds: tuple[float, float] = TEMPERATURE_BOUNDS
) -> float:
    """The T within `bounds` minimising the negative log-likelihood of softmax(logits / T) on dev data.

    The NLL is convex in 1/T (a log-sum-exp of functions linear in 1/T, minus a linear one), hence unimodal in
    log T, so a golden-section search over log T finds its minimum. When the minimum lies outside the bounds
    the nearer bound is returned: a model that separates its dev data perfectly has an NLL falling all the way
    to T -> 0, and a saturated model that is wrong with certainty asks for T -> infinity.
    """
    logits, labels = _checked(logits, labels)
    if not 0.0 < bounds[0] < bounds[1] < math.inf:
        raise RobustEvalError(f"temperature bounds must satisfy 0 < low < high, got {bounds}")

    def loss(log_t: float) -> float:
        return negative_log_likelihood(logits, labels, math.exp(log_t))

    low, high = math.log(bounds[0]), math.log(bounds[1])
    left, right = high - GOLDEN * (high - low), low + GOLDEN * (high - low)
    loss_left, loss_right = loss(left), loss(right)
    while high - low > LOG_TOLERANCE:
        if loss_left <= loss_right:
            high, right, loss_right = right, left, loss_left
            left = high - GOLDEN * (high - low)
            loss_left = loss(left)
        else:
            low, left, loss_left = left, right, loss_right
            right = low + GOLDEN * (high - low)
            loss_right = loss(right)
    candidates = [bounds[0], math.exp((low + high) / 2.0), bounds[1]]
    return min(candidates, key=lambda t: loss(math.log(t)))


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error (Naeini et al., AAAI 2015; Guo et al. 2017): the examples are put into `bins`
    equal-width bins ((m-1)/M, m/M] by their confidence (the largest class probability); ECE is the mean over
    examples of |accuracy - mean confidence| of their bin, i.e. sum over bins of |B|/n |acc(B) - conf(B)|."""
    probabilities, labels = _checked(probabilities, labels)
    if bins < 1:
        raise RobustEvalError(f"ECE needs at least one bin, got {bins}")
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == labels).astype(np.float64)
    which = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    total = 0.0
    for index in np.unique(which):
        members = which == index
        total += members.sum() * abs(correct[members].mean() - confidence[members].mean())
    return float(total / len(labels))


@dataclass(frozen=True)
class Calibration:
    """A temperature fitted on dev data, with the calibration before and after it on that data."""

    temperature: float
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float
    examples: int

    def config_fields(self, checkpoint: str) -> dict[str, Any]:
        """What the run-config entry of `calibrated_name(checkpoint)` carries besides the checkpoint's own keys."""
        return {TEMPERATURE: self.temperature, CALIBRATES: checkpoint, ECE_BEFORE: self.ece_before,
                ECE_AFTER: self.ece_after}


def calibrate(logits: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> Calibration:
    """Fit the temperature on dev logits and measure ECE and NLL at T = 1 and at the fitted T."""
    logits, labels = _checked(logits, labels)
    temperature = fit_temperature(logits, labels)
    return Calibration(
        temperature,
        expected_calibration_error(np.exp(log_softmax(logits)), labels, bins),
        expected_calibration_error(np.exp(log_softmax(logits, temperature)), labels, bins),
        negative_log_likelihood(logits, labels),
        negative_log_likelihood(logits, labels, temperature),
        len(labels),
    )
