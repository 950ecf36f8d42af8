"""The evaluation pipeline as one call: plan, claim the output directory, execute (in-process or workers).

Each finished unit (a clean prediction, one attack) becomes one JSON line in the output directory as soon
as it is done (robust_eval.pipeline.store); a rerun with the same directory does only what is missing.
Rendering is left to the caller (`robust_eval.report.render`), which does it once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from robust_eval.core.data import Dataset
from robust_eval.pipeline.execute import progress_bar, run_shard
from robust_eval.pipeline.plan import Engine, EvaluationPlan, RecipeRequest, build_plan
from robust_eval.pipeline.store import claim_run_dir
from robust_eval.pipeline.workers import evaluate_in_workers


def execute_plan(plan: EvaluationPlan, out_dir: Path, show_progress: bool = True) -> Path:
    """Write the plan's run.json into `out_dir` (or check the one there), then do every missing unit.

    Resumable: whatever `out_dir` already records for the same configuration is skipped; a directory
    holding another configuration is refused. With `plan.engine.jobs` > 1 the examples are split among
    that many worker processes, each consuming the same plan.
    """
    out_dir = Path(out_dir)
    claim_run_dir(out_dir, plan.config(), plan.environment())
    with progress_bar(show_progress) as progress:
        if plan.engine.jobs > 1:
            evaluate_in_workers(plan, out_dir, progress)
        else:
            run_shard(plan, out_dir, plan.engine.shard, progress)
    return out_dir


def evaluate(
    checkpoint_dirs: Sequence[Path], dataset: Dataset, recipes: Sequence[RecipeRequest], out_dir: Path,
    seed: int = 0, *, limit: int | None = None, engine: Engine | None = None,
    calibration_data: Dataset | None = None, show_progress: bool = True,
) -> Path:
    """Evaluate checkpoints on `dataset` (already cut to `limit`) into `out_dir`: `build_plan`, then `execute_plan`.

    With no recipes only clean accuracy is measured; `calibration_data` adds temperature-scaled variants.
    """
    plan = build_plan(checkpoint_dirs, dataset, recipes, seed, limit, engine, calibration_data)
    return execute_plan(plan, out_dir, show_progress)
