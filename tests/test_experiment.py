"""Experiment files: validation with one-line errors, and a real train-then-evaluate run that resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import assert_one_line_error
from attacks.core import ExampleLimits
from conftest import build_tiny_checkpoint
from eval_support import fitted_checkpoints, main, write_dataset  # noqa: F401 (fixture)
from robust_eval.core.errors import RobustEvalError
from robust_eval.experiment import parse_experiment, with_options
from robust_eval.pipeline.plan import ModelInputs
from robust_eval.pipeline.store import read_records, read_run

REPOSITORY = Path(__file__).resolve().parents[1]
VALID = """
name = "tiny"
data = "mr"
seeds = [0, 1]
recipes = ["tiny-swap"]

[train]
epochs = 1

[methods.vanilla]
[methods.freelb]
adv_steps = 2
"""


def test_valid_experiment_parses() -> None:
    exp = parse_experiment(VALID, "exp.toml")
    assert exp.eval_data == "mr:test" and exp.seeds == [0, 1] and list(exp.methods) == ["vanilla", "freelb"]


@pytest.mark.parametrize("path", sorted(REPOSITORY.glob("reports/*/experiment.toml"))
                         + sorted(REPOSITORY.glob("benchmarks/headline/*.toml")),
                         ids=lambda path: f"{path.parent.name}/{path.name}")
def test_committed_experiment_files_are_valid(path: Path) -> None:
    from robust_eval.experiment import load_experiment

    exp = load_experiment(path)
    assert exp.seeds and exp.recipes and exp.methods


INPUT_KEYS = """label_map = { negative = "0", positive = "1" }
max_length = 16
max_words = 5
max_queries = 40
example_timeout = 30
single_logit = true
"""


def test_input_keys_parse_and_run_options_override_them() -> None:
    exp = parse_experiment(INPUT_KEYS + VALID, "exp.toml")
    assert exp.inputs == ModelInputs({"negative": "0", "positive": "1"}, 16, True)
    assert exp.limits == ExampleLimits(5, 40, 30.0)
    assert with_options(exp) == exp
    changed = with_options(exp, {"negative": "NEG"}, 8, False, None, 100, 1.5, "mr:dev")
    assert changed.inputs == ModelInputs({"negative": "NEG"}, 8, False) and changed.limits == ExampleLimits(5, 100, 1.5)
    assert changed.calibrate == "mr:dev" and exp.calibrate is None
    plain = parse_experiment(VALID, "exp.toml")
    assert plain.inputs == ModelInputs() and plain.limits == ExampleLimits()


@pytest.mark.parametrize("text, fragment", [
    (VALID + "colour = 'red'\n", "unknown key 'colour'"),
    (VALID.replace("seeds = [0, 1]", "seeds = 3"), "'seeds' must be an array"),
    (VALID.replace("seeds = [0, 1]", "seeds = [0, 'one']"), "'seeds' entry 1 must be an integer"),
    (VALID.replace("seeds = [0, 1]", "seeds = [true]"), "must be an integer, got True"),
    (VALID.replace("seeds = [0, 1]", "seeds = [1, 1]"), "repeats a seed"),
    (VALID.replace('seeds = [0, 1]\n', 'seeds = [0, 1]\nlimit = 0\n'), "'limit' must be a positive number"),
    (VALID.replace('data = "mr"\n', ""), "missing key 'data'"),
    (VALID.replace('recipes = ["tiny-swap"]', "recipes = []"), "'recipes' is empty"),
    (VALID.replace('recipes = ["tiny-swap"]', 'recipes = ["nope"]'), "unknown recipe 'nope'"),
    (VALID + "[recipe_params.tiny-swap]\nnope = 1\n", "has no parameter 'nope'"),
    (VALID + "[recipe_params.other]\nx = 1\n", "names a recipe not in 'recipes'"),
    (VALID.replace("epochs = 1", "epochs = 'one'"), "[train]: 'epochs' must be"),
    (VALID.replace("epochs = 1", "colour = 1"), "unknown key 'colour'"),
    (VALID.replace("adv_steps = 2", "seed = 2"), "may not set 'seed'"),
    (VALID.replace("[methods.freelb]", "[methods.magic]"), "unknown method 'magic'"),
    ("data = [", "is not valid TOML"),
    ('label_map = "negative=NEG"\n' + VALID, "'label_map' must be a table, got 'negative=NEG'"),
    ("label_map = { negative = 0 }\n" + VALID, "'label_map' entry 'negative' must be a string, got 0"),
    ('max_length = "64"\n' + VALID, "'max_length' must be an integer"),
    ("max_length = 0\n" + VALID, "'max_length' must be a positive number"),
    ("max_words = 2.5\n" + VALID, "'max_words' must be an integer, got 2.5"),
    ("max_queries = -1\n" + VALID, "'max_queries' must be a positive number"),
    ("example_timeout = true\n" + VALID, "'example_timeout' must be a number, got True"),
    ("example_timeout = 0\n" + VALID, "'example_timeout' must be a positive number"),
    ("single_logit = 1\n" + VALID, "'single_logit' must be true or false, got 1"),
])
def test_bad_experiment_files(text: str, fragment: str) -> None:
    with pytest.raises(RobustEvalError) as error:
        parse_experiment(text, "exp.toml")
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_experiment_file_on_the_command_line(capsys, tmp_path: Path) -> None:
    path = tmp_path / "exp.toml"
    path.write_text(VALID.replace("seeds = [0, 1]", "seeds = '0'"), encoding="utf-8")
    code = main(["run", str(path), "--out", str(tmp_path / "out")])
    assert_one_line_error(code, capsys.readouterr().err, "'seeds' must be an array")
    assert not (tmp_path / "out").exists()
    code = main(["run", str(tmp_path / "missing.toml")])
    assert_one_line_error(code, capsys.readouterr().err, "cannot read experiment file")


def test_bad_worker_count_stops_run_before_training(capsys, tmp_path: Path) -> None:
    path = tmp_path / "exp.toml"
    path.write_text(VALID, encoding="utf-8")
    code = main(["run", str(path), "--out", str(tmp_path / "out"), "--jobs", "0"])
    assert_one_line_error(code, capsys.readouterr().err, "--jobs must be a positive number")
    assert not (tmp_path / "out").exists()


def test_run_trains_evaluates_compares_and_resumes(capsys, fitted_checkpoints, tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "reviews.jsonl")
    path = tmp_path / "exp.toml"
    path.write_text(f"""
name = "tiny"
data = "reviews"
eval_data = "{data}"
seeds = [0, 1]
recipes = ["tiny-swap"]

[train]
model = "{fitted_checkpoints[0]}"
train_data = "{data}"
dev_data = "{data}"
test_data = "{data}"
epochs = 1
batch_size = 6
lr = 1e-4

[methods.vanilla]
[methods.freelb]
adv_steps = 2
""", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--train-only"]) == 0, capsys.readouterr().err
    assert (out / "checkpoints" / "freelb-seed1" / "training.json").is_file()
    assert not (out / "records.jsonl").exists()
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert [c["name"] for c in summary["config"]["checkpoints"]] == [
        "vanilla-seed0", "vanilla-seed1", "freelb-seed0", "freelb-seed1"]
    assert set(summary["metrics"]["groups"]) == {"vanilla", "freelb"}
    assert summary["progress"]["complete"]
    assert (out / "report.html").is_file() and (out / "experiment.toml").is_file()
    records = (out / "records.jsonl").read_bytes()
    weights = (out / "checkpoints" / "freelb-seed1" / "model.safetensors").stat().st_mtime_ns
    capsys.readouterr()

    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    assert "training" not in capsys.readouterr().err
    assert (out / "records.jsonl").read_bytes() == records
    assert (out / "checkpoints" / "freelb-seed1" / "model.safetensors").stat().st_mtime_ns == weights

    path.write_text(path.read_text().replace("seeds = [0, 1]", "seeds = [0, 2]"), encoding="utf-8")
    code = main(["run", str(path), "--out", str(out), "--no-progress"])
    assert_one_line_error(code, capsys.readouterr().err, "holds a different experiment")


def test_input_keys_and_run_options_reach_the_plan(capsys, tmp_path: Path) -> None:
    """A one-output checkpoint (already trained, so only evaluated) read with the file's keys; --max-length
    on the command line wins over the file's."""
    data, out, path = write_dataset(tmp_path / "reviews.jsonl"), tmp_path / "out", tmp_path / "exp.toml"
    checkpoint = build_tiny_checkpoint(out / "checkpoints" / "vanilla-seed0", num_labels=1)
    (checkpoint / "training.json").write_text(json.dumps({"seed": 0}))
    path.write_text(INPUT_KEYS + VALID.replace("seeds = [0, 1]", f"seeds = [0]\neval_data = \"{data}\"")
                    .replace("[methods.freelb]\nadv_steps = 2\n", ""), encoding="utf-8")
    code = main(["run", str(path), "--out", str(out), "--no-progress", "--max-length", "8"])
    assert code == 0, capsys.readouterr().err
    assert "labels mapped by --label-map: negative -> 0, positive -> 1" in " ".join(capsys.readouterr().err.split())
    run = read_run(out)
    assert run["config"]["label_map"] == {"negative": "0", "positive": "1"} and run["config"]["single_logit"] is True
    assert run["config"]["max_length"] == 8 and run["config"]["limits"] == {"max_words": 5, "max_queries": 40, "seconds": 30.0}
    assert run["environment"]["max_length"]["vanilla-seed0"] == {"tokens": 8, "source": "--max-length"}
    attacks = [r["result"] for r in read_records(out) if r["kind"] == "attack"]
    assert attacks and {r["limit"] for r in attacks if len(r["original_text"].split()) > 5} == {"max_words"}


def test_a_bad_run_option_stops_before_training(capsys, tmp_path: Path) -> None:
    path = tmp_path / "exp.toml"
    path.write_text(VALID, encoding="utf-8")
    for option, value, message in (("--max-length", "0", "--max-length must be a positive number of tokens"),
                                   ("--max-words", "0", "max_words must be positive"),
                                   ("--label-map", "negative", "--label-map item 'negative' is not DATASET=MODEL")):
        code = main(["run", str(path), "--out", str(tmp_path / "out"), option, value])
        assert_one_line_error(code, capsys.readouterr().err, message)
        assert not (tmp_path / "out").exists()
