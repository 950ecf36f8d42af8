"""The CLI surface of the foundation: help, resources, evaluate, and one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import assert_one_line_error, run_cli
from test_victim import pickle_only


@pytest.fixture
def reviews_csv(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.csv"
    path.write_text("text,label\na good movie,positive\na bad film,negative\nfun,positive\n", encoding="utf-8")
    return path


def test_help_lists_commands(capsys) -> None:
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for command in ("evaluate", "resources"):
        assert command in out


def test_evaluate_without_recipes_prints_clean_accuracy(capsys, tiny_checkpoint, reviews_csv: Path,
                                                        tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "evaluate", "--model", str(tiny_checkpoint()), "--data", str(reviews_csv),
                             "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert "robustness on" in out and "clean" in out
    records = (tmp_path / "out" / "records.jsonl").read_text().splitlines()
    assert len(records) == 3


def test_resources_status_with_empty_home(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBUST_EVAL_HOME", str(tmp_path))
    code, out, _ = run_cli(capsys, "resources", "status")
    assert code == 0
    assert out.count("missing") >= 4 and "robust-eval resources fetch minilm" in out


def test_missing_resource_names_fetch_command(capsys, tmp_path: Path, tiny_checkpoint, monkeypatch) -> None:
    monkeypatch.setenv("ROBUST_EVAL_HOME", str(tmp_path / "empty"))
    code, _, err = run_cli(capsys, "evaluate", "--model", str(tiny_checkpoint()), "--data", "mr:test")
    assert_one_line_error(code, err, "resource 'mr' is missing", "robust-eval resources fetch mr")


def test_unknown_resource_name(capsys) -> None:
    code, _, err = run_cli(capsys, "resources", "fetch", "bert-large")
    assert_one_line_error(code, err, "unknown resource", "minilm")


def corrupt(checkpoint: Path) -> Path:
    weights = checkpoint / "model.safetensors"
    weights.write_bytes(b"\x00" * 64)
    return checkpoint


def without_config(checkpoint: Path) -> Path:
    (checkpoint / "config.json").unlink()
    return checkpoint


@pytest.mark.parametrize(
    ("damage", "fragments"),
    [
        (lambda c: c.parent / "absent", ("does not exist",)),
        (without_config, ("no config.json",)),
        (corrupt, ("corrupt or truncated",)),
        (pickle_only, ("only pickle weights", "--trust-pickle")),
    ],
    ids=["missing-dir", "no-config", "corrupt-safetensors", "pickle-only"],
)
def test_bad_checkpoints(capsys, tiny_checkpoint, reviews_csv: Path, damage, fragments) -> None:
    model = damage(tiny_checkpoint())
    code, _, err = run_cli(capsys, "evaluate", "--model", str(model), "--data", str(reviews_csv))
    assert_one_line_error(code, err, *fragments)


@pytest.mark.parametrize(
    ("name", "content", "options", "fragments"),
    [
        ("empty.csv", b"", (), ("has no examples",)),
        ("cols.csv", b"review,label\ngood,positive\n", (), ("no column 'text'", "--text-column")),
        ("cols2.csv", b"text,stars\ngood,5\n", (), ("no column 'label'", "--label-column")),
        ("latin.csv", "text,label\nd\xe9j\xe0 vu,positive\n".encode("latin-1"), (), ("is not UTF-8",)),
        ("labels.csv", b"text,label\ngood,spam\n", (), ("'spam' is not among the model's labels",)),
        ("ints.csv", b"text,label\ngood,7\n", (), ("has label 7 but the model has 2 labels",)),
    ],
)
def test_bad_datasets(capsys, tiny_checkpoint, tmp_path: Path, name, content, options, fragments) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = run_cli(capsys, "evaluate", "--model", str(tiny_checkpoint()), "--data", str(path), *options)
    assert_one_line_error(code, err, *fragments)


def test_unknown_dataset_and_bad_limit(capsys, tiny_checkpoint, reviews_csv: Path) -> None:
    code, _, err = run_cli(capsys, "evaluate", "--model", str(tiny_checkpoint()), "--data", "imdb:test")
    assert_one_line_error(code, err, "unknown dataset 'imdb:test'")
    code, _, err = run_cli(capsys, "evaluate", "--model", str(tiny_checkpoint()), "--data", str(reviews_csv),
                           "--limit", "0")
    assert_one_line_error(code, err, "--limit must be a positive")
