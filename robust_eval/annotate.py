"""`robust-eval annotate OUT`: a blind sample of a run's successful adversarial pairs for human judges.

Draws up to `--per-recipe` successful attacks of each recipe (pooled over the checkpoints, or over those
named with `--checkpoint`, whose validated rates alone the report then shows; seeded), adds
`--controls` unmodified controls (an original paired with itself), shuffles everything and writes to
`OUT/annotation/`:
- `sample.csv`: item, text_a (original), text_b (perturbed), and empty sentiment_kept / meaning_kept /
  fluency columns to fill (yes/no, yes/no, 1-5); no recipe, checkpoint or label is shown;
- `form.html`: the same items as a self-contained form whose button exports the filled CSV;
- `key.json`: what each item is (kept from the judges).
`robust-eval annotate OUT --import filled.csv` checks the sheet and stores it as `OUT/annotation/filled.csv`;
the report then shows validated rates (robust_eval.report.validation).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any, List, Optional, Sequence

import typer
from jinja2 import Environment, PackageLoader, StrictUndefined

from robust_eval.core.console import out
from robust_eval.core.errors import RobustEvalError
from robust_eval.core.outputs import check_output_dir
from robust_eval.pipeline.store import read_records, read_run, write_json_atomic
from robust_eval.report.validation import (
    ANNOTATION_DIR, FILLED_FILE, JUDGEMENT_COLUMNS, KEY_FILE, SAMPLE_FILE, parse_filled, read_key,
)

FORM_FILE = "form.html"
SHEET_COLUMNS = ("item", "text_a", "text_b", *JUDGEMENT_COLUMNS)


def draw_sample(successes: list[dict[str, Any]], recipes: list[str], per_recipe: int, controls: int,
                seed: int) -> list[dict[str, Any]]:
    """Shuffled items: sampled successful attack records of each recipe, then `controls` originals paired with
    themselves."""
    rng = random.Random(seed)
    chosen: list[dict[str, Any]] = []
    for recipe in recipes:
        of_recipe = [r for r in successes if r["recipe"] == recipe]
        chosen += rng.sample(of_recipe, min(per_recipe, len(of_recipe)))
    items = [
        {"text_a": r["result"]["original_text"], "text_b": r["result"]["perturbed_text"], "control": False,
         "recipe": r["recipe"], "checkpoint": r["checkpoint"], "example_id": r["example_id"]}
        for r in chosen
    ]
    originals = list(dict.fromkeys(r["result"]["original_text"] for r in chosen))
    for text in rng.sample(originals, min(controls, len(originals))):
        items.append({"text_a": text, "text_b": text, "control": True, "recipe": None, "checkpoint": None,
                      "example_id": None})
    rng.shuffle(items)
    return [{"item": f"i{k:04d}", **item} for k, item in enumerate(items, start=1)]


def _sampled_checkpoints(run: dict[str, Any], chosen: Sequence[str]) -> list[str]:
    """The checkpoints to sample from: those chosen (each must be in the run), else all of the run's."""
    names = [c["name"] for c in run["config"]["checkpoints"]]
    unknown = [c for c in chosen if c not in names]
    if unknown:
        raise RobustEvalError(f"--checkpoint '{unknown[0]}' is not in this run: choose from {', '.join(names)}")
    return [n for n in names if not chosen or n in chosen]


def write_sample(out_dir: Path, per_recipe: int, controls: int | None, seed: int, force: bool,
                 checkpoints: Sequence[str] = ()) -> Path:
    """Write sample.csv, form.html and key.json into OUT/annotation; return that directory."""
    run = read_run(out_dir)
    if run is None:
        raise RobustEvalError(f"{out_dir} holds no robust-eval run (no run.json): pass the --out directory of an evaluation")
    if per_recipe < 1:
        raise RobustEvalError(f"--per-recipe must be a positive number of pairs, got {per_recipe}")
    if controls is not None and controls < 0:
        raise RobustEvalError(f"--controls must be zero or more, got {controls}")
    directory = Path(out_dir) / ANNOTATION_DIR
    if read_key(out_dir) is not None and not force:
        raise RobustEvalError(f"{directory} already holds a sample: pass --force to draw a new one (sheets filled "
                              "for the old one will no longer import)")
    recipes = [r["name"] for r in run["config"]["recipes"]]
    sampled = _sampled_checkpoints(run, checkpoints)
    successes = [r for r in read_records(out_dir) if r["kind"] == "attack" and r["checkpoint"] in sampled
                 and r["result"]["status"] == "succeeded"]
    if not successes:
        raise RobustEvalError(f"{out_dir} records no successful attack yet: nothing to annotate")
    wanted_controls = controls if controls is not None else max(2, per_recipe * len(recipes) // 10)
    items = draw_sample(successes, recipes, per_recipe, wanted_controls, seed)
    directory.mkdir(exist_ok=True)
    (directory / FILLED_FILE).unlink(missing_ok=True)
    with (directory / SAMPLE_FILE).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, SHEET_COLUMNS)
        writer.writeheader()
        for item in items:
            writer.writerow({c: item.get(c, "") for c in SHEET_COLUMNS})
    env = Environment(loader=PackageLoader("robust_eval.report", "templates"), autoescape=True,
                      undefined=StrictUndefined)
    form = env.get_template("annotate.html.j2").render(items=items, columns=SHEET_COLUMNS)
    (directory / FORM_FILE).write_text(form, encoding="utf-8")
    key = {
        "seed": seed, "per_recipe": per_recipe, "controls": wanted_controls, "recipes": recipes, "checkpoints": sampled,
        "items": {i["item"]: {k: i[k] for k in ("control", "recipe", "checkpoint", "example_id")} for i in items},
    }
    write_json_atomic(directory / KEY_FILE, key)
    return directory


def import_filled(out_dir: Path, sheet: Path) -> int:
    """Check a filled sheet against the sample's key and store it as OUT/annotation/filled.csv."""
    key = read_key(out_dir)
    if key is None:
        raise RobustEvalError(f"{out_dir} has no annotation sample: run `robust-eval annotate {out_dir}` first")
    try:
        data = Path(sheet).read_bytes()
    except OSError as error:
        raise RobustEvalError(f"cannot read {sheet} ({error.strerror}): check the path") from None
    judgements = parse_filled(data, str(sheet), key)
    (Path(out_dir) / ANNOTATION_DIR / FILLED_FILE).write_bytes(data)
    return len(judgements)


def annotate(
    directory: Path = typer.Argument(..., help="An --out directory of `robust-eval evaluate` or `run`."),
    per_recipe: int = typer.Option(50, "--per-recipe", help="Successful pairs to sample from each recipe."),
    controls: Optional[int] = typer.Option(None, "--controls", help="Unmodified control pairs (default: 10 % of the sample, at least 2)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample and its order."),
    force: bool = typer.Option(False, "--force", help="Draw a new sample over an existing one."),
    filled: Optional[Path] = typer.Option(None, "--import", help="A filled sheet (CSV) to check and add to the report."),
    checkpoint: List[str] = typer.Option([], "--checkpoint", help="Sample only these checkpoints' successes (validated rates are shown for them alone).", show_default="all"),
) -> None:
    """Write a blind sample of successful pairs for human judges, or import their filled sheet."""
    from robust_eval.report import render

    check_output_dir(directory / ANNOTATION_DIR, "annotation directory")
    if filled is not None:
        check_output_dir(directory, "report directory")
        count = import_filled(directory, filled)
        files = render(directory)
        out.print(f"imported {count} judged items; report with validated rates: {files.html.resolve()}",
                  soft_wrap=True, highlight=False)
        return
    written = write_sample(directory, per_recipe, controls, seed, force, checkpoint)
    out.print(f"annotation sample in {written}: fill {SAMPLE_FILE} or open {FORM_FILE}, then run "
              f"`robust-eval annotate {directory} --import FILLED.csv`", soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the `annotate` command to the `robust-eval` app."""
    app.command("annotate")(annotate)
