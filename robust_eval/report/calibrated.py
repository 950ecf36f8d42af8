"""Temperature-scaled variants against their checkpoints (the over-confidence check of Raina et al.,
"Extreme Miscalibration and the Illusion of Adversarial Robustness").

A run-config entry carrying `calibrates` (see `robust_eval.core.calibration`) is the checkpoint it names,
attacked through temperature-scaled probabilities. For every such pair and every recipe (and the worst case)
the report gives accuracy under attack without and with the temperature, the paired difference (calibrated
- original, paired bootstrap over examples) with its 95 % interval, and the expected calibration error on
dev before and after. A checkpoint is flagged when its robustness shrinks by more than the interval: some
interval lies wholly below 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

from robust_eval import metrics
from robust_eval.core.calibration import CALIBRATES, ECE_AFTER, ECE_BEFORE, TEMPERATURE
from robust_eval.core.errors import RobustEvalError
from robust_eval.report.comparisons import CLEAN, measures, outcome_table, paired_matrices, stable_seed


@dataclass(frozen=True)
class CalibratedPair:
    """A checkpoint and its temperature-scaled variant, with the calibration measured on dev."""

    checkpoint: str
    calibrated: str
    temperature: float
    ece_before: float | None
    ece_after: float | None


@dataclass(frozen=True)
class ScaledAccuracy:
    """Accuracy under one measure without and with temperature scaling, on the examples both have."""

    measure: str
    original: float
    calibrated: float
    difference: metrics.Difference  # calibrated - original
    shrinks: bool  # the interval lies wholly below 0


@dataclass(frozen=True)
class CalibrationCheck:
    """The comparison of one pair; `flagged` when robustness shrinks under some measure."""

    pair: CalibratedPair
    measures: list[ScaledAccuracy]
    flagged: bool


def calibrated_pairs(config: Mapping[str, Any]) -> list[CalibratedPair]:
    """The temperature-scaled variants of the run, in configuration order."""
    names = {c["name"] for c in config["checkpoints"]}
    pairs = []
    for entry in config["checkpoints"]:
        if CALIBRATES not in entry:
            continue
        if entry[CALIBRATES] not in names or TEMPERATURE not in entry:
            raise RobustEvalError(
                f"checkpoint '{entry['name']}' calibrates '{entry[CALIBRATES]}', which is not in this run or has "
                "no temperature: evaluate the original checkpoint in the same run"
            )
        pairs.append(CalibratedPair(entry[CALIBRATES], entry["name"], float(entry[TEMPERATURE]),
                                    entry.get(ECE_BEFORE), entry.get(ECE_AFTER)))
    return pairs


def calibration_checks(records: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> list[CalibrationCheck]:
    """Every pair compared under every recipe and the worst case."""
    pairs = calibrated_pairs(config)
    chosen = [m for m in measures([r["name"] for r in config["recipes"]]) if m.name != CLEAN]
    table = outcome_table(records, [c for p in pairs for c in (p.checkpoint, p.calibrated)], chosen)
    checks = []
    for pair in pairs:
        rows = []
        for measure in chosen:
            original, calibrated = paired_matrices(table, [pair.checkpoint], [pair.calibrated], measure)
            difference = metrics.paired_difference(
                calibrated, original, stable_seed(config["seed"], pair.calibrated, pair.checkpoint, measure.name)
            )
            if difference is not None:
                rows.append(ScaledAccuracy(measure.name, float(original.mean()), float(calibrated.mean()),
                                           difference, difference.ci95[1] < 0.0))
        checks.append(CalibrationCheck(pair, rows, any(row.shrinks for row in rows)))
    return checks


def calibration_summary(records: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The `calibration` section of summary.json (empty when no checkpoint was temperature-scaled)."""
    return [asdict(check) for check in calibration_checks(records, config)]
