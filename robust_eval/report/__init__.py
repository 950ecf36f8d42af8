"""Reports of a run: `summary.json`, `report.md` and a self-contained `report.html` with embedded plots.

Everything is rendered from the output directory's `run.json` and records alone (and the `baseline` key of
the experiment file copied there, if any), so `robust-eval report DIR` re-renders a report at any time (also
while a run is still going: it then says how far it got).
"""

from __future__ import annotations

import base64
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from robust_eval.core.errors import RobustEvalError
from robust_eval.experiment import EXPERIMENT_COPY
from robust_eval.pipeline.store import read_records, read_run, write_json_atomic
from robust_eval.report import plots
from robust_eval.report.comparisons import comparison_rows, excludes_zero, points, without_baseline
from robust_eval.report.model_card import card_section, interval, percent, update_model_card
from robust_eval.report.pairs import sample_pairs, visible
from robust_eval.report.quality import share
from robust_eval.report.rules import filter_rows, rule_sections
from robust_eval.report.summary import build_summary
from robust_eval.report.validation import validation_summary

FIGURES_DIR = "figures"
MARKDOWN_SPECIAL = set("\\`*_[]<>|&")


@dataclass(frozen=True)
class ReportFiles:
    """Where a rendered report's files are."""

    summary: Path
    markdown: Path
    html: Path
    model_cards: list[Path]


def escape_markdown(text: Any) -> str:
    """Backslash-escape Markdown and HTML punctuation so data shows as typed and never as markup."""
    return "".join("\\" + c if c in MARKDOWN_SPECIAL else c for c in str(text)).replace("\n", " ")


def _shown(value: Any) -> Any:
    """Every string a template prints, with control and bidirectional characters as visible escapes."""
    return visible(value) if isinstance(value, str) and not isinstance(value, Markup) else value


def number(value: float | None, digits: int = 1) -> str:
    """A number with fixed digits, `-` when undefined."""
    return "-" if value is None else f"{value:.{digits}f}"


def spread(value: Mapping[str, Any]) -> str:
    """`mean +- std` of a rate over seeds, in percent, with the pooled interval."""
    if value["mean"] is None:
        return "-"
    return f"{100 * value['mean']:.1f} ± {100 * value['std']:.1f}" + interval(value)


def _environment(markdown: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("robust_eval.report", "templates"),
        autoescape=not markdown,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_shown,
    )
    env.filters.update(percent=percent, number=number, spread=spread, md=escape_markdown, points=points, share=share)
    env.tests.update(excluding_zero=excludes_zero)
    return env


def context(run: Mapping[str, Any], records: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the Markdown and HTML templates show."""
    config = summary["config"]
    checkpoints = [c["name"] for c in config["checkpoints"]]
    recipes = [r["name"] for r in config["recipes"]]
    return {
        "summary": summary,
        "checkpoints": checkpoints,
        "recipes": recipes,
        "label_names": {c["name"]: c["label_names"] for c in config["checkpoints"]},
        "per_checkpoint": summary["metrics"]["checkpoints"],
        "groups": summary["metrics"]["groups"],
        "figures": {
            "accuracy": plots.accuracy_bars(summary),
            "budget": plots.success_vs_budget(records, checkpoints, recipes, summary),
            "queries": plots.query_histogram(records, recipes),
        },
        "rules": rule_sections(records, checkpoints, recipes),
        **comparison_context(summary),
        "bt_filter": filter_rows(records, checkpoints, recipes),
        "pairs": sample_pairs(records, checkpoints, recipes),
        "config_json": json.dumps(config, indent=2, sort_keys=True),
        "environment_json": json.dumps(
            {k: summary[k] for k in ("environment", "git_commit", "device", "seeds")}, indent=2, sort_keys=True
        ),
    }


def comparison_context(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The paired-comparison and temperature-scaling tables (`comparisons.py`, `calibrated.py`)."""
    comparisons = summary["comparisons"]
    values: dict[str, Any] = {"comparisons": comparisons, "calibration": summary["calibration"],
                              "baseline_rows": [], "pair_rows": []}
    if comparisons is not None:
        values["baseline_rows"] = comparison_rows(comparisons["against_baseline"], comparisons["measures"])
        values["pair_rows"] = comparison_rows(without_baseline(comparisons), comparisons["measures"])
    return values


def experiment_baseline(out_dir: Path) -> str | None:
    """The `baseline` key of the experiment file kept in an experiment's output directory, if any."""
    copy = out_dir / EXPERIMENT_COPY
    if not copy.is_file():
        return None
    try:
        baseline = tomllib.loads(copy.read_text(encoding="utf-8")).get("baseline")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise RobustEvalError(f"{copy} is unreadable ({type(error).__name__}): restore the experiment file") from None
    return baseline if isinstance(baseline, str) else None


def write_figures(directory: Path, figures: Mapping[str, str | None]) -> dict[str, str]:
    """Save the report's figures as PNG files too (for report.md and for reuse); return name -> relative path."""
    written = {}
    for name, encoded in figures.items():
        path = directory / f"{name}.png"
        if encoded is None:
            path.unlink(missing_ok=True)
            continue
        directory.mkdir(exist_ok=True)
        path.write_bytes(base64.b64decode(encoded))
        written[name] = f"{directory.name}/{path.name}"
    return written


def render(out_dir: Path, update_model_cards: bool = False, baseline: str | None = None) -> ReportFiles:
    """Write summary.json, report.md and report.html of the run in `out_dir` (and model cards if asked).

    Methods are compared against `baseline` when given (a name that is no method is an error), else against
    the experiment file's `baseline` when it names a method of this run, else against vanilla or the first
    method."""
    out_dir = Path(out_dir)
    run = read_run(out_dir)
    if run is None:
        raise RobustEvalError(f"{out_dir} holds no robust-eval run (no run.json): pass the --out directory of an evaluation")
    records = read_records(out_dir)
    if baseline is None:
        summary = build_summary(run, records, experiment_baseline(out_dir))
    else:
        summary = build_summary(run, records, baseline, strict_baseline=True)
    summary["validation"] = validation_summary(out_dir, summary)
    files = ReportFiles(out_dir / "summary.json", out_dir / "report.md", out_dir / "report.html", [])
    write_json_atomic(files.summary, summary)
    values = context(run, records, summary)
    values["figure_files"] = write_figures(out_dir / FIGURES_DIR, values["figures"])
    for path, markdown, template in ((files.markdown, True, "report.md.j2"), (files.html, False, "report.html.j2")):
        path.write_text(_environment(markdown).get_template(template).render(**values), encoding="utf-8")
    if update_model_cards:
        paths = run.get("environment", {}).get("checkpoint_paths", {})
        for name in summary["metrics"]["checkpoints"]:
            if name not in paths or not Path(paths[name]).is_dir():
                raise RobustEvalError(f"checkpoint {name} is no longer at {paths.get(name)}: restore it to update its model card")
            files.model_cards.append(update_model_card(Path(paths[name]), card_section(summary, name)))
    return files
