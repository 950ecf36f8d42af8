"""Experiments: methods x seeds x recipes on one dataset, trained and evaluated as one resumable job.

An experiment file (TOML) names the dataset, the seeds, the recipes, the training settings shared by all
methods (`[train]`) and each method's own settings (`[methods.NAME]`, any key of `robust-eval train`).
Every (method, seed) is trained into `OUT/checkpoints/NAME-seedS` (skipped when its training card exists),
then all checkpoints are evaluated into `OUT` (resumable, see `robust_eval.runner`) and one report compares
them, seeds grouped as mean +- std. Example:

    name = "mr-minilm"
    data = "mr"                 # a dataset with train / dev / test splits; evaluated on its test split
    seeds = [0, 1, 2]
    recipes = ["wordnet-swap", "sears"]
    limit = 1000                # evaluate the first 1000 test examples

    [train]
    model = "minilm"
    epochs = 2

    [methods.vanilla]
    [methods.freelb]
    adv_steps = 3

    [recipe_params.wordnet-swap]
    max_candidates = 50

How the checkpoints read the evaluation data and the per-example limits are top-level keys too, with the
meaning of the `evaluate` options of the same name (`label_map` as a table, e.g. `label_map = { negative =
"NEG", positive = "POS" }`); the `run` options override them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from attacks.core import ExampleLimits
from robust_eval.core.errors import RobustEvalError
from robust_eval.pipeline.plan import Engine, ModelInputs

RESERVED_TRAIN_KEYS = {"seed", "output"}
EXPERIMENT_COPY = "experiment.toml"


@dataclass(frozen=True)
class Field:
    """One top-level key of an experiment file: its type, whether it is required, what it means."""

    kind: type
    required: bool
    help: str
    item: type | None = None


SCHEMA: dict[str, Field] = {
    "name": Field(str, False, "experiment name (default: the file name)"),
    "data": Field(str, True, "dataset with train/dev/test splits, e.g. mr"),
    "eval_data": Field(str, False, "dataset spec evaluated (default DATA:test)"),
    "limit": Field(int, False, "evaluate only the first N examples"),
    "seeds": Field(list, True, "training seeds, e.g. [0, 1, 2]", int),
    "eval_seed": Field(int, False, "seed of the attacks and bootstrap intervals (default 0)"),
    "recipes": Field(list, True, "attack recipes, e.g. [\"wordnet-swap\"]", str),
    "train": Field(dict, False, "training settings shared by all methods"),
    "methods": Field(dict, True, "one table per method: [methods.NAME]", dict),
    "recipe_params": Field(dict, False, "one table per recipe: [recipe_params.NAME]", dict),
    "baseline": Field(str, False, "method the report compares the others with (default vanilla, else the first)"),
    "calibrate": Field(str, False, "dev data to fit a temperature per checkpoint on (e.g. mr:dev); NAME@calibrated is attacked too"),
    "label_map": Field(dict, False, "dataset label -> model label, e.g. { negative = \"NEG\", positive = \"POS\" }", str),
    "max_length": Field(int, False, "tokens the model reads per text (default: the training card's, else the model's limit)"),
    "max_words": Field(int, False, "texts of more words are not attacked (counted as skipped)"),
    "max_queries": Field(int, False, "cap on each example's query budget"),
    "example_timeout": Field(float, False, "seconds per attack; the search then stops with the best text so far"),
    "single_logit": Field(bool, False, "read a one-output head as the logit of class 1 of a binary classifier"),
}
POSITIVE_KEYS = ("limit", "max_length", "max_words", "max_queries", "example_timeout")


@dataclass(frozen=True)
class Experiment:
    """A validated experiment file."""

    name: str
    data: str
    eval_data: str
    limit: int | None
    seeds: list[int]
    eval_seed: int
    recipes: list[str]
    train: dict[str, Any]
    methods: dict[str, dict[str, Any]]
    recipe_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    calibrate: str | None = None
    inputs: ModelInputs = field(default_factory=ModelInputs)
    limits: ExampleLimits = field(default_factory=ExampleLimits)
    source: str = ""


def _type_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "an array",
            dict: "a table"}[kind]


def _check_type(value: Any, kind: type, where: str) -> None:
    """Raise a one-line error unless `value` is of `kind` (booleans are not numbers; integers are floats)."""
    accepted = (int, float) if kind is float else kind
    if not isinstance(value, accepted) or (kind in (int, float) and isinstance(value, bool)):
        raise RobustEvalError(f"{where} must be {_type_name(kind)}, got {value!r}: fix the experiment file")


def _validate(raw: Mapping[str, Any], origin: str) -> None:
    unknown = sorted(set(raw) - set(SCHEMA))
    if unknown:
        raise RobustEvalError(f"{origin}: unknown key '{unknown[0]}'; valid keys: {', '.join(SCHEMA)}")
    for key, spec in SCHEMA.items():
        if key not in raw:
            if spec.required:
                raise RobustEvalError(f"{origin}: missing key '{key}' ({spec.help})")
            continue
        _check_type(raw[key], spec.kind, f"{origin}: '{key}'")
        if spec.item is not None:
            items = raw[key].items() if spec.kind is dict else enumerate(raw[key])
            for name, item in items:
                _check_type(item, spec.item, f"{origin}: '{key}' entry {name!r}")
        if spec.required and spec.kind in (list, dict) and not raw[key]:
            raise RobustEvalError(f"{origin}: '{key}' is empty ({spec.help})")
    for key in POSITIVE_KEYS:
        if key in raw and raw[key] <= 0:
            raise RobustEvalError(f"{origin}: '{key}' must be a positive number ({SCHEMA[key].help}), got {raw[key]}")
    if len(set(raw["seeds"])) < len(raw["seeds"]):
        raise RobustEvalError(f"{origin}: 'seeds' repeats a seed: list each seed once")
    if len(set(raw["recipes"])) < len(raw["recipes"]):
        raise RobustEvalError(f"{origin}: 'recipes' repeats a recipe: list each recipe once")
    if "baseline" in raw and raw["baseline"] not in raw["methods"]:
        raise RobustEvalError(
            f"{origin}: 'baseline' {raw['baseline']!r} is not a method: choose from {', '.join(raw['methods'])}"
        )


def _check_training(exp: Experiment, origin: str) -> None:
    """Every method's settings must make a valid training configuration (checked before any work)."""
    from trainers.config import from_mapping

    for table, values in [("train", exp.train)] + [(f"methods.{n}", v) for n, v in exp.methods.items()]:
        reserved = sorted(RESERVED_TRAIN_KEYS & {k.replace("-", "_") for k in values})
        if reserved:
            raise RobustEvalError(f"{origin}: [{table}] may not set '{reserved[0]}': the experiment sets it")
    from_mapping({"data": exp.data, **exp.train}, origin=f"{origin} [train]")
    for name in exp.methods:
        from_mapping(training_settings(exp, name, exp.seeds[0], Path(".")), origin=f"{origin} [methods.{name}]")


def _check_recipes(exp: Experiment, origin: str) -> None:
    from attacks.registry import get_recipe

    for name in exp.recipes:
        get_recipe(name)
    for name, params in exp.recipe_params.items():
        if name not in exp.recipes:
            raise RobustEvalError(f"{origin}: [recipe_params.{name}] names a recipe not in 'recipes'")
        known = get_recipe(name).parameters()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise RobustEvalError(
                f"{origin}: recipe '{name}' has no parameter '{unknown[0]}': choose from {', '.join(known)}"
            )


def parse_experiment(text: str, origin: str, default_name: str = "experiment") -> Experiment:
    """Validate experiment TOML text; every problem is a one-line error naming the key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RobustEvalError(f"{origin} is not valid TOML ({error}): fix the syntax") from None
    _validate(raw, origin)
    exp = Experiment(
        name=raw.get("name", default_name),
        data=raw["data"],
        eval_data=raw.get("eval_data", f"{raw['data']}:test"),
        limit=raw.get("limit"),
        seeds=list(raw["seeds"]),
        eval_seed=raw.get("eval_seed", 0),
        recipes=list(raw["recipes"]),
        train=dict(raw.get("train", {})),
        methods={name: dict(values) for name, values in raw["methods"].items()},
        recipe_params={name: dict(values) for name, values in raw.get("recipe_params", {}).items()},
        calibrate=raw.get("calibrate"),
        inputs=ModelInputs(dict(raw.get("label_map", {})) or None, raw.get("max_length"), raw.get("single_logit", False)),
        limits=ExampleLimits(raw.get("max_words"), raw.get("max_queries"), raw.get("example_timeout")),
        source=text,
    )
    _check_training(exp, origin)
    _check_recipes(exp, origin)
    return exp


def load_experiment(path: Path) -> Experiment:
    """Read and validate an experiment file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RobustEvalError(f"cannot read experiment file {path} ({type(error).__name__}): check the path") from None
    return parse_experiment(text, str(path), Path(path).stem)


def experiment_part(
    exp: Experiment, seeds: Sequence[int], recipes: Sequence[str], methods: Sequence[str] = (),
) -> Experiment:
    """The experiment cut to some of its training seeds, recipes and methods (all when none are given), to
    run a part on one host; `robust-eval merge` joins the parts' output directories."""
    for kind, chosen, known in (("seed", seeds, exp.seeds), ("recipe", recipes, exp.recipes),
                                ("method", methods, list(exp.methods))):
        unknown = [str(c) for c in chosen if c not in known]
        if unknown:
            raise RobustEvalError(
                f"{kind} {unknown[0]} is not in experiment {exp.name}: choose from {', '.join(map(str, known))}"
            )
    return replace(
        exp, seeds=[s for s in exp.seeds if not seeds or s in seeds],
        recipes=[r for r in exp.recipes if not recipes or r in recipes],
        methods={name: values for name, values in exp.methods.items() if not methods or name in methods},
    )


def with_options(
    exp: Experiment, label_map: Mapping[str, str] | None = None, max_length: int | None = None,
    single_logit: bool | None = None, max_words: int | None = None, max_queries: int | None = None,
    example_timeout: float | None = None, calibrate: str | None = None,
) -> Experiment:
    """The experiment with the `run` command's input options, per-example limits and calibration data in place
    of the file's (None keeps the file's value)."""
    def chosen(given: Any, kept: Any) -> Any:
        return kept if given is None else given

    inputs = ModelInputs(chosen(label_map or None, exp.inputs.label_map), chosen(max_length, exp.inputs.max_length),
                         chosen(single_logit, exp.inputs.single_logit))
    limits = ExampleLimits(chosen(max_words, exp.limits.max_words), chosen(max_queries, exp.limits.max_queries),
                           chosen(example_timeout, exp.limits.seconds))
    return replace(exp, inputs=inputs, limits=limits, calibrate=chosen(calibrate, exp.calibrate))


def training_settings(exp: Experiment, method: str, seed: int, output: Path) -> dict[str, Any]:
    """The training configuration of one (method, seed): shared settings, then the method's own."""
    values = {"data": exp.data, **exp.train, **exp.methods[method], "seed": seed, "output": str(output)}
    values.setdefault("method", method)
    return values


def checkpoint_dir(out_dir: Path, method: str, seed: int) -> Path:
    return Path(out_dir) / "checkpoints" / f"{method}-seed{seed}"


def _claim(out_dir: Path, exp: Experiment) -> None:
    """Keep a copy of the experiment file; refuse a directory holding another experiment."""
    copy = out_dir / EXPERIMENT_COPY
    if copy.exists():
        if tomllib.loads(copy.read_text(encoding="utf-8")) != tomllib.loads(exp.source):
            raise RobustEvalError(
                f"{out_dir} holds a different experiment ({copy}): choose another --out or restore that file"
            )
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    copy.write_text(exp.source, encoding="utf-8")


def train_missing(exp: Experiment, out_dir: Path, show_progress: bool = True) -> list[Path]:
    """Train every (method, seed) that has no training card yet; return all checkpoint directories."""
    from robust_eval.core.console import err
    from robust_eval.core.checkpoints import TRAINING_CARD
    from trainers.config import from_mapping
    from trainers.train import train

    checkpoints = []
    for method in exp.methods:
        for seed in exp.seeds:
            directory = checkpoint_dir(out_dir, method, seed)
            if not (directory / TRAINING_CARD).is_file():
                err.print(f"training {method} (seed {seed}) into {directory}")
                settings = training_settings(exp, method, seed, directory)
                train(from_mapping(settings | {"progress": show_progress}, origin=f"methods.{method}"))
            checkpoints.append(directory)
    return checkpoints


def run_experiment(
    exp: Experiment, out_dir: Path, show_progress: bool = True, train_only: bool = False, engine: Engine | None = None,
) -> Path:
    """Train what is missing, then evaluate every checkpoint into `out_dir` (the caller renders the
    comparison report); return `out_dir`.

    `train_only` stops after training (e.g. to train on one host and evaluate later); `engine` says how the
    evaluation executes (e.g. `jobs` worker processes), checked before any training.
    """
    from robust_eval.core.console import err
    from robust_eval.core.data import load_dataset
    from robust_eval.pipeline.plan import RecipeRequest, build_plan
    from robust_eval.runner import execute_plan

    engine = engine or Engine()
    out_dir = Path(out_dir)
    _claim(out_dir, exp)
    checkpoints = train_missing(exp, out_dir, show_progress)
    if train_only:
        return out_dir
    dataset = load_dataset(exp.eval_data).head(exp.limit)
    recipes = [RecipeRequest(name, exp.recipe_params.get(name, {})) for name in exp.recipes]
    dev = load_dataset(exp.calibrate) if exp.calibrate else None
    plan = build_plan(checkpoints, dataset, recipes, exp.eval_seed, exp.limit, engine, dev, exp.inputs, exp.limits)
    for message in plan.alignment_messages():
        err.print(message, highlight=False)
    return execute_plan(plan, out_dir, show_progress)
