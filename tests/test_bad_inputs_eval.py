"""Bad input to `evaluate`, `report` and `run`: one-line error, exit status 2, nothing recorded lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import assert_one_line_error
from eval_support import fitted_checkpoints, main, write_dataset  # noqa: F401 (fixture)


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


@pytest.fixture
def base(fitted_checkpoints, tmp_path: Path) -> list[str]:
    data = write_dataset(tmp_path / "reviews.jsonl")
    return ["evaluate", "--model", str(fitted_checkpoints[0]), "--data", str(data), "--no-progress",
            "--out", str(tmp_path / "out")]


@pytest.mark.parametrize("extra, fragments", [
    (["--recipe", "no-such-recipe"], ["unknown recipe 'no-such-recipe'", "tiny-swap"]),
    (["--recipe", "tiny-swap", "--param", "nope=3"], ["no chosen recipe has a parameter 'nope'"]),
    (["--recipe", "tiny-swap", "--param", "tiny-swap:nope=3"], ["has no parameter 'nope'", "max_candidates"]),
    (["--recipe", "tiny-swap", "--param", "max_candidates=many"], ["'many' is not an integer"]),
    (["--recipe", "tiny-swap", "--param", "max_candidates"], ["is not key=value"]),
    (["--recipe", "tiny-swap", "--param", "other:max_candidates=3"], ["names recipe 'other'"]),
    (["--recipe", "tiny-swap", "--limit", "0"], ["--limit must be a positive number"]),
    (["--recipe", "tiny-swap", "--limit", "-4"], ["--limit must be a positive number"]),
    (["--recipe", "tiny-swap", "--shard", "3/2"], ["--shard '3/2' is not I/N"]),
    (["--recipe", "tiny-swap", "--batch-size", "0"], ["--batch-size must be positive"]),
    (["--recipe", "tiny-swap", "--jobs", "0"], ["--jobs must be a positive number"]),
    (["--recipe", "tiny-swap", "--jobs", "2", "--shard", "1/2"], ["--jobs and --shard do not combine"]),
    (["--recipe", "tiny-swap", "--recipe", "tiny-swap"], ["given twice"]),
])
def test_bad_evaluate_options(capsys, base, tmp_path: Path, extra, fragments) -> None:
    code, err = run(capsys, *base, *extra)
    assert_one_line_error(code, err, *fragments)
    assert not (tmp_path / "out" / "records.jsonl").exists()


def test_same_model_twice(capsys, base, fitted_checkpoints) -> None:
    code, err = run(capsys, *base, "--recipe", "tiny-swap", "--model", str(fitted_checkpoints[0]))
    assert_one_line_error(code, err, "is given twice")


def test_dataset_labels_not_matching_the_checkpoint(capsys, fitted_checkpoints, tmp_path: Path) -> None:
    data = tmp_path / "topics.csv"
    data.write_text("text,label\na good movie,sports\na bad film,politics\n", encoding="utf-8")
    code, err = run(capsys, "evaluate", "--model", str(fitted_checkpoints[0]), "--data", str(data),
                    "--recipe", "tiny-swap", "--out", str(tmp_path / "out"))
    assert_one_line_error(code, err, "dataset label 'politics' is not among the model's labels")
    three = tmp_path / "three.csv"
    three.write_text("text,label\na,0\nb,1\nc,2\n", encoding="utf-8")
    code, err = run(capsys, "evaluate", "--model", str(fitted_checkpoints[0]), "--data", str(three),
                    "--recipe", "tiny-swap", "--out", str(tmp_path / "out"))
    assert_one_line_error(code, err, "has label 2 but the model has 2 labels")


@pytest.fixture
def finished(capsys, base, tmp_path: Path) -> tuple[Path, bytes]:
    assert main([*base, "--recipe", "tiny-swap"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    records = tmp_path / "out" / "records.jsonl"
    return records, records.read_bytes()


@pytest.mark.parametrize("change, fragment", [
    (["--seed", "7"], "differs in: seed"),
    (["--limit", "5"], "differs in: data"),
    (["--param", "max_candidates=2"], "differs in: recipes"),
])
def test_out_dir_of_another_configuration_is_refused(capsys, base, finished, change, fragment) -> None:
    records, content = finished
    code, err = run(capsys, *base, "--recipe", "tiny-swap", *change)
    assert_one_line_error(code, err, "holds records of a different configuration", fragment)
    assert records.read_bytes() == content


def test_unreadable_records_file(capsys, base, finished) -> None:
    records, content = finished
    damaged = content.replace(b"\n", b"\n\x00garbage\n", 1)
    records.write_bytes(damaged)
    code, err = run(capsys, *base, "--recipe", "tiny-swap")
    assert_one_line_error(code, err, "line 2 is unreadable", "choose another --out")
    assert records.read_bytes() == damaged
    code, err = run(capsys, "report", str(records.parent))
    assert_one_line_error(code, err, "line 2 is unreadable")


def test_report_of_a_directory_without_a_run(capsys, tmp_path: Path) -> None:
    code, err = run(capsys, "report", str(tmp_path))
    assert_one_line_error(code, err, "holds no robust-eval run")


def test_report_update_model_card_when_checkpoint_moved(capsys, finished, fitted_checkpoints, tmp_path) -> None:
    run_file = finished[0].parent / "run.json"
    run_json = json.loads(run_file.read_text())
    run_json["environment"]["checkpoint_paths"]["tiny-seed0"] = str(tmp_path / "gone")
    run_file.write_text(json.dumps(run_json))
    code, err = run(capsys, "report", str(finished[0].parent), "--update-model-card")
    assert_one_line_error(code, err, "is no longer at", "restore it")
