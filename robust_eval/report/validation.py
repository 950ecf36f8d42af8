"""Human validation of a run's adversarial examples: reading filled annotation sheets, validated rates.

`robust-eval annotate OUT` (robust_eval.annotate) writes a blind sample of successful pairs with controls
to `OUT/annotation/`; a filled sheet placed at `OUT/annotation/filled.csv` (or given with `--import`)
makes the report show, per recipe,
- share valid: annotated pairs judged valid (sentiment kept, meaning kept, fluency >= 4) among the sampled
  successes of the recipe (pooled over the sampled checkpoints), with its Wilson interval;
The validated rates below are given for the sampled checkpoints only (all of the run's unless the sample was
drawn with `--checkpoint`):
- validated success rate = success rate x share valid; interval: product of the two Wilson bounds (the
  attacked examples and the annotated sample are independent samples);
- validated accuracy under attack = (failed attacks + successes x (1 - share valid)) / examples, i.e. an
  invalid adversarial example does not count against the model; interval: the same formula at the Wilson
  bounds of the share valid (the uncertainty of the sample, not of the evaluated examples).
Controls (an original paired with itself) pass when judged sentiment and meaning kept; their pass rate
says how careful the annotator was.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from robust_eval.core.errors import RobustEvalError

ANNOTATION_DIR = "annotation"
KEY_FILE = "key.json"
SAMPLE_FILE = "sample.csv"
FILLED_FILE = "filled.csv"
JUDGEMENT_COLUMNS = ("sentiment_kept", "meaning_kept", "fluency")
YES = {"yes", "y", "1", "true"}
NO = {"no", "n", "0", "false"}
MIN_FLUENCY = 4
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Judgement:
    """One annotated item."""

    item: str
    sentiment_kept: bool
    meaning_kept: bool
    fluency: int

    @property
    def valid(self) -> bool:
        return self.sentiment_kept and self.meaning_kept and self.fluency >= MIN_FLUENCY


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a binomial proportion (None for n = 0)."""
    if n == 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _flag(value: str, column: str, where: str) -> bool:
    text = value.strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise RobustEvalError(f"{where}: {column} '{value}' is not yes or no: fill it with yes or no")


def _fluency(value: str, where: str) -> int:
    text = value.strip()
    if text not in {"1", "2", "3", "4", "5"}:
        raise RobustEvalError(f"{where}: fluency '{value}' is not 1-5: fill it with a whole number from 1 to 5")
    return int(text)


def read_key(out_dir: Path) -> dict[str, Any] | None:
    """The hidden key of the annotation sample (None when no sample was drawn)."""
    path = Path(out_dir) / ANNOTATION_DIR / KEY_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RobustEvalError(f"{path} is unreadable ({type(error).__name__}): draw a new sample with "
                              "`robust-eval annotate OUT --force`") from None


def parse_filled(data: bytes, name: str, key: Mapping[str, Any]) -> list[Judgement]:
    """Judgements of a filled sheet; rows left blank are skipped; anything else wrong is a one-line error."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RobustEvalError(f"{name} is not UTF-8 text: save the sheet as UTF-8 CSV") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("item", *JUDGEMENT_COLUMNS) if c not in (reader.fieldnames or [])]
    if missing:
        raise RobustEvalError(f"{name} lacks the column(s) {', '.join(missing)}: fill the sheet written by "
                              "`robust-eval annotate` and keep its header")
    items = key["items"]
    judgements: dict[str, Judgement] = {}
    for number, row in enumerate(reader, start=2):
        where = f"{name} line {number}"
        item = (row.get("item") or "").strip()
        if item not in items:
            raise RobustEvalError(f"{where}: item '{item}' is not in this run's annotation sample: import the sheet "
                                  "drawn for this output directory")
        values = [(row.get(c) or "").strip() for c in JUDGEMENT_COLUMNS]
        if not any(values):
            continue
        if not all(values):
            blank = JUDGEMENT_COLUMNS[values.index("")]
            raise RobustEvalError(f"{where}: {blank} is empty: fill all three judgements or none")
        if item in judgements:
            raise RobustEvalError(f"{where}: item '{item}' is judged twice: keep one row per item")
        judgements[item] = Judgement(item, _flag(values[0], "sentiment_kept", where),
                                     _flag(values[1], "meaning_kept", where), _fluency(values[2], where))
    if not judgements:
        raise RobustEvalError(f"{name} has no filled row: fill sentiment_kept, meaning_kept and fluency")
    return list(judgements.values())


def read_filled(out_dir: Path) -> tuple[dict[str, Any], list[Judgement]] | None:
    """The key and the judgements of `OUT/annotation/filled.csv` (None when there is none)."""
    path = Path(out_dir) / ANNOTATION_DIR / FILLED_FILE
    if not path.is_file():
        return None
    key = read_key(out_dir)
    if key is None:
        raise RobustEvalError(f"{path} has no {KEY_FILE} beside it: draw the sample with `robust-eval annotate OUT`")
    return key, parse_filled(path.read_bytes(), str(path), key)


def _product_interval(a: tuple[float, float] | None, b: tuple[float, float] | None) -> list[float] | None:
    return None if a is None or b is None else [a[0] * b[0], a[1] * b[1]]


def validation_summary(out_dir: Path, summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """Share valid per recipe, validated success rate and accuracy under attack per checkpoint and recipe."""
    filled = read_filled(out_dir)
    if filled is None:
        return None
    key, judgements = filled
    items = key["items"]
    sampled = key.get("checkpoints") or list(summary["metrics"]["checkpoints"])  # samples drawn before the option
    controls = [j for j in judgements if items[j.item]["control"]]
    recipes: dict[str, Any] = {}
    for recipe in key["recipes"]:
        judged = [j for j in judgements if not items[j.item]["control"] and items[j.item]["recipe"] == recipe]
        valid = sum(j.valid for j in judged)
        share = valid / len(judged) if judged else None
        share_ci = wilson(valid, len(judged))
        per_checkpoint = {}
        for name, result in summary["metrics"]["checkpoints"].items():
            metrics = result["recipes"].get(recipe)
            if metrics is None or share is None or name not in sampled:
                continue
            per_checkpoint[name] = _validated(metrics, share, share_ci)
        recipes[recipe] = {
            "annotated": len(judged), "valid": valid, "share_valid": share,
            "share_valid_ci95": list(share_ci) if share_ci else None,
            "sentiment_kept": sum(j.sentiment_kept for j in judged), "meaning_kept": sum(j.meaning_kept for j in judged),
            "mean_fluency": sum(j.fluency for j in judged) / len(judged) if judged else None,
            "checkpoints": per_checkpoint,
        }
    passed = sum(j.sentiment_kept and j.meaning_kept for j in controls)
    return {
        "items_judged": len(judgements),
        "checkpoints": sampled,
        "controls": {"judged": len(controls), "passed": passed},
        "recipes": recipes,
    }


def _validated(metrics: Mapping[str, Any], share: float, share_ci: tuple[float, float] | None) -> dict[str, Any]:
    success, robust = metrics["success_rate"], metrics["accuracy_under_attack"]
    attacked, examples = success["n"], robust["n"]
    if not attacked or not examples:
        return {"success_rate": {"value": None, "ci95": None}, "accuracy_under_attack": {"value": None, "ci95": None}}
    succeeded = round(success["value"] * attacked)
    failed = round(robust["value"] * examples)

    def accuracy(p: float) -> float:
        return (failed + succeeded * (1 - p)) / examples

    return {
        "success_rate": {"value": success["value"] * share,
                         "ci95": _product_interval(wilson(succeeded, attacked), share_ci)},
        "accuracy_under_attack": {"value": accuracy(share),
                                  "ci95": [accuracy(share_ci[1]), accuracy(share_ci[0])] if share_ci else None},
    }
