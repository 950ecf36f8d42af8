"""`summary.json`: the machine-readable report, built from `run.json` and the records alone."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from robust_eval import metrics
from robust_eval.core.calibration import CALIBRATES
from robust_eval.report.calibrated import calibration_summary
from robust_eval.report.comparisons import comparisons_summary
from robust_eval.report.quality import quality_summary

SCHEMA = "robust-eval/summary"
SCHEMA_VERSION = 2


def progress(records: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> dict[str, Any]:
    """How much of the run is recorded: clean predictions and attacks, done and expected."""
    checkpoints = [c["name"] for c in config["checkpoints"]]
    clean = [r for r in records if r["kind"] == "clean"]
    correct = sum(r["prediction"] == r["label"] for r in clean)
    expected_clean = config["data"]["examples"] * len(checkpoints)
    attacks = sum(r["kind"] == "attack" for r in records)
    expected_attacks = correct * len(config["recipes"])
    return {
        "clean": {"done": len(clean), "expected": expected_clean},
        "attacks": {"done": attacks, "expected_so_far": expected_attacks},
        "complete": len(clean) == expected_clean and attacks == expected_attacks,
    }


def build_summary(
    run: Mapping[str, Any], records: Sequence[Mapping[str, Any]], baseline: str | None = None,
    strict_baseline: bool = False,
) -> dict[str, Any]:
    """Configuration, environment, seeds, progress, every metric of a run, the paired comparisons of its
    methods against `baseline` (see `comparisons.choose_baseline`; `strict_baseline` makes a name that is no
    method an error) and of its temperature-scaled checkpoints (schema `SCHEMA_VERSION`)."""
    config = run["config"]
    environment = run.get("environment", {})
    checkpoints = [c["name"] for c in config["checkpoints"]]
    recipes = [r["name"] for r in config["recipes"]]
    groups: dict[str, list[str]] = {}
    for checkpoint in config["checkpoints"]:
        if checkpoint.get("group") and CALIBRATES not in checkpoint:
            groups.setdefault(checkpoint["group"], []).append(checkpoint["name"])
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "config": config,
        "environment": {k: v for k, v in environment.items() if k not in ("git_commit", "device", "checkpoint_paths")},
        "git_commit": environment.get("git_commit"),
        "device": environment.get("device"),
        "seeds": {
            "evaluation": config["seed"],
            "bootstrap": config["seed"],
            "training": {c["name"]: c.get("seed") for c in config["checkpoints"]},
        },
        "progress": progress(records, config),
        "metrics": metrics.summarize(records, checkpoints, recipes, groups, config["seed"]),
        "comparisons": comparisons_summary(records, config, baseline, strict_baseline),
        "calibration": calibration_summary(records, config),
        "quality": quality_summary(records, checkpoints, recipes),
    }
