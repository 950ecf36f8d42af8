"""Example quality for successful attacks recorded without it (Morris et al. 2020; attacks.quality).

An evaluation scores each success with the scoring models present on its host; where MiniLM was missing, the
records carry no `quality` and reports show fewer scored examples than successes. `score_missing_quality`
copies an output directory into a new one, scoring those successes in batches with the models present here;
every other record, the experiment file and a validation sample (the same units) are copied unchanged.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator, Sequence

from attacks import quality as example_quality
from attacks.quality import QualityScorer
from robust_eval.core.console import progress
from robust_eval.core.errors import RobustEvalError
from robust_eval.merge import copy_experiment_file, portable
from robust_eval.pipeline.store import RUN_FILE, Record, RecordStore, read_records, read_run
from robust_eval.report.validation import ANNOTATION_DIR

SCORE_BATCH = 64


def unscored_successes(records: Sequence[Record]) -> list[Record]:
    """The successful attack records that carry no example quality."""
    return [r for r in records if r["kind"] == "attack" and r["result"]["status"] == "succeeded"
            and r["result"].get("quality") is None]


def _chunks(items: Sequence[Record], size: int) -> Iterator[Sequence[Record]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def score_records(records: Sequence[Record], scorer: QualityScorer, show_progress: bool = True) -> None:
    """Attach `quality` to each of `records` (successful attacks), `SCORE_BATCH` pairs per scorer call."""
    with progress(show_progress) as bar:
        task = bar.add_task("example quality", total=len(records))
        for chunk in _chunks(records, SCORE_BATCH):
            pairs = [(r["result"]["original_text"], r["result"]["perturbed_text"]) for r in chunk]
            for record, quality in zip(chunk, scorer.score(pairs)):
                record["result"]["quality"] = asdict(quality)
            bar.advance(task, len(chunk))


def score_missing_quality(source: Path, out_dir: Path, show_progress: bool = True) -> tuple[Path, int]:
    """Copy `source` into `out_dir` (new or empty) with the missing example quality scored; return
    `out_dir` and how many records were scored."""
    run = read_run(Path(source))
    if run is None:
        raise RobustEvalError(f"{source} holds no {RUN_FILE}: pass an output directory of evaluate, run or merge")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise RobustEvalError(f"--out {out_dir} is not empty: write the scored copy into a new directory")
    records = read_records(Path(source))
    missing = unscored_successes(records)
    if missing:
        scorer = example_quality.default_scorer()  # the models present here
        if scorer is None:
            raise RobustEvalError(
                "example quality needs the minilm resource: run `robust-eval resources fetch minilm` "
                "(smollm2, tagger and link-grammar add perplexity, part of speech and grammar)"
            )
        score_records(missing, scorer, show_progress)
    environment: dict[str, Any] = {**portable(run["environment"]), "quality_scored_later": len(missing)}
    with RecordStore(out_dir, run["config"], environment) as store:
        for record in records:
            store.append(record)
    copy_experiment_file([Path(source)], out_dir)
    if (Path(source) / ANNOTATION_DIR).is_dir():
        shutil.copytree(Path(source) / ANNOTATION_DIR, out_dir / ANNOTATION_DIR)
    return out_dir, len(missing)
