"""The `evaluate`, `report` and `run` commands (added to the `robust-eval` app by `register`)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence

import typer
from rich.table import Table

from robust_eval.core.console import err, out, quiet_libraries
from robust_eval.core.errors import RobustEvalError
from robust_eval.core.gather import DEFAULT_IN_FLIGHT
from robust_eval.core.outputs import check_output_dir

DEFAULT_RUNS_DIR = Path("runs")


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """`I/N` (1-based shard I of N, as users count) into (I-1, N)."""
    if text is None:
        return None
    index, sep, count = text.partition("/")
    if not sep or not index.isdigit() or not count.isdigit() or not 1 <= int(index) <= int(count):
        raise RobustEvalError(f"--shard '{text}' is not I/N with 1 <= I <= N: write e.g. --shard 1/2")
    return int(index) - 1, int(count)


def recipe_params(items: Sequence[str], recipes: Sequence[str]) -> dict[str, dict[str, str]]:
    """Split `--param` values among recipes: `recipe:key=value` for one recipe, `key=value` for every
    recipe that has that parameter (an error when none has it)."""
    from attacks.registry import get_recipe, parse_params

    params: dict[str, dict[str, str]] = {name: {} for name in recipes}
    for item in items:
        scope, colon, rest = item.partition(":")
        if colon and "=" not in scope:
            if scope not in params:
                raise RobustEvalError(f"--param '{item}' names recipe '{scope}', which is not among the --recipe values")
            params[scope].update(parse_params([rest]))
            continue
        ((key, value),) = parse_params([item]).items()
        takers = [name for name in recipes if key in get_recipe(name).parameters()]
        if not takers:
            raise RobustEvalError(
                f"no chosen recipe has a parameter '{key}': see `robust-eval recipes` for each recipe's parameters"
            )
        for name in takers:
            params[name][key] = value
    return params


def default_out(models: Sequence[str], data: str, recipes: Mapping[str, Mapping[str, Any]], limit: int | None,
                seed: int) -> Path:
    """A stable output directory for one set of choices, so rerunning the same command resumes it."""
    key = json.dumps([[str(Path(m).resolve()) for m in models], data, recipes, limit, seed], sort_keys=True)
    return DEFAULT_RUNS_DIR / f"eval-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def print_metrics(summary: Mapping[str, Any]) -> None:
    """The main table: clean accuracy and accuracy under each recipe (and worst case) per checkpoint."""
    from robust_eval.report.model_card import percent

    recipes = [r["name"] for r in summary["config"]["recipes"]]
    table = Table(title=f"robustness on {summary['config']['data']['name']}")
    columns = ["checkpoint", "clean", *(f"{r} (ASR)" for r in recipes)]
    for column in columns + (["worst case"] if len(recipes) > 1 else []):
        table.add_column(column)
    for name, result in summary["metrics"]["checkpoints"].items():
        cells = [name, percent(result["clean_accuracy"])]
        for recipe in recipes:
            values = result["recipes"][recipe]
            success = values["success_rate"]["value"]
            asr = "-" if success is None else f"{100 * success:.1f} %"
            cells.append(f"{percent(values['accuracy_under_attack'])} ({asr})")
        if len(recipes) > 1:
            cells.append(percent(result["worst_case"]["accuracy_under_attack"]))
        table.add_row(*cells)
    out.print(table)
    from robust_eval.report.terminal import extra_tables

    for extra in extra_tables(summary):
        out.print(extra)


def show_report(out_dir: Path, update_model_card: bool, baseline: str | None = None) -> None:
    """Render the report of `out_dir` (once), print its tables and where the files are."""
    from robust_eval.report import render

    files = render(out_dir, update_model_cards=update_model_card, baseline=baseline)
    summary = json.loads(files.summary.read_text(encoding="utf-8"))
    print_metrics(summary)
    if summary["config"]["recipes"]:
        from robust_eval.report.quality import quality_table

        out.print(quality_table(summary))
    done = summary["progress"]
    if not done["complete"]:
        err.print(
            f"incomplete run: {done['clean']['done']}/{done['clean']['expected']} clean predictions and "
            f"{done['attacks']['done']}/{done['attacks']['expected_so_far']} attacks recorded; rerun the same "
            "command to finish", style="yellow", highlight=False,
        )
    for card in files.model_cards:
        err.print(f"model card updated: {card}")
    out.print(f"report: {files.html.resolve()}", soft_wrap=True, highlight=False)


def evaluate(
    model: List[Path] = typer.Option(..., "--model", help="Checkpoint directory, or Hugging Face Hub id owner/name or owner/name@REVISION (repeat to compare several)."),
    data: str = typer.Option("mr:test", "--data", help="Dataset spec: mr:test, file.csv/tsv/jsonl, hf:NAME:SPLIT."),
    recipe: List[str] = typer.Option([], "--recipe", help="Attack recipe (repeat for several; see `robust-eval recipes`).", show_default="none: clean accuracy only"),
    param: List[str] = typer.Option([], "--param", help="Recipe parameter key=value (all recipes having it) or recipe:key=value.", show_default="the recipes' defaults"),
    limit: Optional[int] = typer.Option(None, "--limit", help="Evaluate only the first N examples.", show_default="all"),
    seed: int = typer.Option(0, "--seed", help="Seed of the attacks and the bootstrap intervals."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output directory (records, summary.json, report.md/html); rerun to resume.", show_default="runs/eval-<hash of these choices>"),
    text_column: str = typer.Option("text", "--text-column", help="Column (CSV/TSV/HF) or key (JSONL) holding the texts."),
    label_column: str = typer.Option("label", "--label-column", help="Column or key holding the labels (names or integers 0..N-1)."),
    label_map: Optional[str] = typer.Option(None, "--label-map", help="Dataset label -> model label, e.g. negative=NEGATIVE,positive=POSITIVE or 0=neg,1=pos.", show_default="same names, then case and neg/pos spellings, then LABEL_i by position"),
    max_length: Optional[int] = typer.Option(None, "--max-length", help="Tokens the model reads per text.", show_default="the length in the checkpoint's training card, else the model's limit"),
    max_words: Optional[int] = typer.Option(None, "--max-words", help="Do not attack texts of more words (recorded as skipped, limit max_words).", show_default="no limit"),
    max_queries: Optional[int] = typer.Option(None, "--max-queries", help="Cap on each example's query budget (the recipe's budget per word x words).", show_default="no cap"),
    example_timeout: Optional[float] = typer.Option(None, "--example-timeout", help="Seconds per attack; the search then stops with the best text so far (limit timeout).", show_default="no limit"),
    single_logit: bool = typer.Option(False, "--single-logit", help="Read a one-output head as the logit of class 1 of a binary classifier (labels 0 and 1).", show_default="off: such heads are refused"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Texts per forward pass (halved on CUDA out-of-memory).", show_default="512 on CUDA, 64 on the CPU"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda or cuda:N.", show_default="cuda when present, else cpu"),
    precision: str = typer.Option("fp32", "--precision", help="Victim inference type: fp32, or bf16 / fp16 on CUDA."),
    in_flight: int = typer.Option(DEFAULT_IN_FLIGHT, "--in-flight", help="Examples attacked at once per process; their model queries are merged into large batches."),
    shard: Optional[str] = typer.Option(None, "--shard", help="Process only shard I/N of the examples (records merge into one report).", show_default="all examples"),
    jobs: int = typer.Option(1, "--jobs", help="Worker processes sharing this host's GPUs or CPU cores, each on a shard of the examples."),
    calibrate: Optional[str] = typer.Option(None, "--calibrate", help="Dev data (e.g. mr:dev) to fit a temperature per checkpoint on; each NAME@calibrated is attacked too.", show_default="no calibration"),
    trust_pickle: bool = typer.Option(False, "--trust-pickle", help="Allow pickle (*.bin) weights: only for files you trust.", show_default="off"),
    update_model_card: bool = typer.Option(False, "--update-model-card", help="Write the results into each checkpoint's README.md.", show_default="off"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars with ETA."),
    verbose: bool = typer.Option(False, "--verbose", help="Also show the libraries' warnings and progress output.", show_default="off"),
) -> None:
    """Attack checkpoints with recipes: clean predictions, then every recipe on every correct example."""
    from attacks.core import ExampleLimits
    from robust_eval.core.checkpoints import resolve_model
    from robust_eval.core.data import load_dataset, parse_label_map
    from robust_eval.core.victim import resolve_device
    from robust_eval.pipeline.plan import Engine, ModelInputs, RecipeRequest, build_plan
    from robust_eval.runner import execute_plan

    quiet_libraries(verbose)
    if limit is not None and limit <= 0:
        raise RobustEvalError(f"--limit must be a positive number of examples, got {limit}")
    resolve_device(device)
    engine = Engine(device, batch_size, precision, in_flight, jobs, parse_shard(shard), trust_pickle)
    limits = ExampleLimits(max_words, max_queries, example_timeout)
    inputs = ModelInputs(parse_label_map(label_map), max_length, single_logit)
    params = recipe_params(param, list(dict.fromkeys(recipe)))
    directory = check_output_dir(out_dir or default_out([str(m) for m in model], data, params, limit, seed))
    checkpoints = [resolve_model(m, trust_pickle) for m in model]
    dataset = load_dataset(data, text_column, label_column).head(limit)
    if dataset.empty_texts:
        err.print(f"left out {dataset.empty_texts} examples of {data} whose text is empty", highlight=False)
    requests = [RecipeRequest(name, params[name]) for name in recipe]
    dev = load_dataset(calibrate, text_column, label_column) if calibrate else None
    plan = build_plan(checkpoints, dataset, requests, seed, limit, engine, dev, inputs, limits)
    for message in plan.alignment_messages():
        err.print(message, highlight=False)
    execute_plan(plan, directory, show_progress=progress)
    show_report(directory, update_model_card)


def report(
    directory: Path = typer.Argument(..., help="An --out directory of `robust-eval evaluate` or `run`."),
    update_model_card: bool = typer.Option(False, "--update-model-card", help="Write the results into each checkpoint's README.md.", show_default="off"),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Method the others are compared with.", show_default="vanilla if present, else the first method"),
) -> None:
    """Re-render summary.json, report.md and report.html from a directory's records alone."""
    check_output_dir(directory, "report directory")
    show_report(directory, update_model_card, baseline)


def run(
    experiment: Path = typer.Argument(..., help="EXPERIMENT.toml: methods x seeds x recipes on one dataset."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output directory; rerun to resume.", show_default="runs/<experiment name>"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars with ETA."),
    train_only: bool = typer.Option(False, "--train-only", help="Stop after training; a later run evaluates.", show_default="off"),
    jobs: int = typer.Option(1, "--jobs", help="Evaluate with this many worker processes (training runs one checkpoint at a time)."),
    precision: str = typer.Option("fp32", "--precision", help="Victim inference type: fp32, or bf16 / fp16 on CUDA."),
    in_flight: int = typer.Option(DEFAULT_IN_FLIGHT, "--in-flight", help="Examples attacked at once per process."),
    train_seed: List[int] = typer.Option([], "--train-seed", help="Run only these training seeds (a part: join parts with `robust-eval merge`).", show_default="all"),
    recipe: List[str] = typer.Option([], "--recipe", help="Run only these recipes (a part: join parts with `robust-eval merge`).", show_default="all"),
    method: List[str] = typer.Option([], "--method", help="Run only these methods (a part: join parts with `robust-eval merge`).", show_default="all"),
    label_map: Optional[str] = typer.Option(None, "--label-map", help="Evaluation data label -> model label, e.g. negative=NEG,positive=POS.", show_default="the file's label_map, else matched as in evaluate"),
    max_length: Optional[int] = typer.Option(None, "--max-length", help="Tokens the model reads per text.", show_default="the file's max_length, else the training card's"),
    max_words: Optional[int] = typer.Option(None, "--max-words", help="Do not attack texts of more words (recorded as skipped).", show_default="the file's max_words, else no limit"),
    max_queries: Optional[int] = typer.Option(None, "--max-queries", help="Cap on each example's query budget.", show_default="the file's max_queries, else no cap"),
    example_timeout: Optional[float] = typer.Option(None, "--example-timeout", help="Seconds per attack; the search then stops with the best text so far.", show_default="the file's example_timeout, else no limit"),
    single_logit: Optional[bool] = typer.Option(None, "--single-logit/--no-single-logit", help="Read a one-output head as the logit of class 1 of a binary classifier.", show_default="the file's single_logit, else off"),
    calibrate: Optional[str] = typer.Option(None, "--calibrate", help="Dev data (e.g. mr:dev) to fit a temperature per checkpoint on; each NAME@calibrated is attacked too.", show_default="the file's calibrate, else no calibration"),
    verbose: bool = typer.Option(False, "--verbose", help="Also show the libraries' warnings and progress output.", show_default="off"),
) -> None:
    """Train every method with every seed, evaluate all checkpoints, and write one comparison report.

    The input options, per-example limits and calibration data override the experiment file's keys of the same
    name (e.g. the temperature-scaling check as a part of its own, on some recipes, in another --out)."""
    from robust_eval.core.data import parse_label_map
    from robust_eval.experiment import experiment_part, load_experiment, run_experiment, with_options
    from robust_eval.pipeline.plan import Engine

    quiet_libraries(verbose)
    engine = Engine(precision=precision, in_flight=in_flight, jobs=jobs)
    spec = with_options(experiment_part(load_experiment(experiment), train_seed, recipe, method), parse_label_map(label_map),
                        max_length, single_logit, max_words, max_queries, example_timeout, calibrate)
    directory = run_experiment(spec, check_output_dir(out_dir or DEFAULT_RUNS_DIR / spec.name), show_progress=progress,
                               train_only=train_only, engine=engine)
    if train_only:
        out.print(f"trained every checkpoint into {directory / 'checkpoints'}; run again without --train-only to evaluate")
        return
    show_report(directory, update_model_card=False)


def merge(
    sources: List[Path] = typer.Argument(..., help="Output directories of evaluate or run."),
    out_dir: Path = typer.Option(..., "--out", help="New directory for the joined records and report."),
    checkpoint: List[str] = typer.Option([], "--checkpoint", help="Keep only these checkpoints (one source is then enough).", show_default="all"),
    recipe: List[str] = typer.Option([], "--recipe", help="Keep only these recipes (one source is then enough).", show_default="all"),
) -> None:
    """Join output directories evaluated apart (other hosts, recipes or checkpoints) into one report."""
    from robust_eval.merge import merge_runs

    check_output_dir(out_dir)
    show_report(merge_runs(sources, out_dir, checkpoint, recipe), update_model_card=False)


def quality(
    source: Path = typer.Argument(..., help="Output directory of evaluate, run or merge."),
    out_dir: Path = typer.Option(..., "--out", help="New directory for the records with quality scored, and their report."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
) -> None:
    """Score the example quality of successful attacks recorded without it (evaluated where MiniLM was missing)."""
    from robust_eval.rescore import score_missing_quality

    check_output_dir(out_dir)
    directory, scored = score_missing_quality(source, out_dir, show_progress=progress)
    err.print(f"scored the example quality of {scored} successful attacks")
    show_report(directory, update_model_card=False)


def register(app: typer.Typer) -> None:
    """Add `evaluate`, `report`, `run`, `merge` and `quality` to the `robust-eval` app."""
    app.command("evaluate")(evaluate)
    app.command("report")(report)
    app.command("run")(run)
    app.command("merge")(merge)
    app.command("quality")(quality)
