"""A first run's console: the libraries' chatter only with --verbose, defaults in --help."""

from __future__ import annotations

import csv
import logging
import warnings
from pathlib import Path

import pytest

from cli_helpers import run_cli
from conftest import build_tiny_checkpoint
from eval_support import TEXTS
from robust_eval.core import console


@pytest.fixture
def restored_console(monkeypatch: pytest.MonkeyPatch):
    """Undo what `quiet_libraries` changes in this process after the test."""
    for name in [console.VERBOSE_VARIABLE, *console.QUIET_ENVIRONMENT]:
        monkeypatch.delenv(name, raising=False)
    levels = {name: logging.getLogger(name).level for name in console.LIBRARY_LOGGERS}
    with warnings.catch_warnings():
        yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def train_arguments(tmp_path: Path) -> list[str]:
    data = tmp_path / "tiny.csv"
    with data.open("w", newline="") as handle:
        csv.writer(handle).writerows([("text", "label"), *TEXTS * 4])
    model = build_tiny_checkpoint(tmp_path / "base")
    return ["train", "--model", str(model), "--train-data", str(data), "--dev-data", str(data), "--test-data", str(data),
            "--epochs", "1", "--batch-size", "8", "--logging-steps", "1", "--output", str(tmp_path / "out")]


def test_training_shows_one_bar_and_no_metric_dictionaries(capsys, tmp_path: Path, restored_console) -> None:
    code, out, err = run_cli(capsys, *train_arguments(tmp_path))
    assert code == 0, err
    assert "{'loss'" not in out + err and "it/s" not in err
    assert "training" in err and "dev accuracy" in out + err
    code, out, err = run_cli(capsys, *train_arguments(tmp_path), "--verbose")
    assert code == 0 and "{'loss'" in out + err  # the Trainer's own output is back


def test_quiet_libraries_sets_the_environment_for_workers(restored_console) -> None:
    import os

    console.quiet_libraries()
    assert not console.verbose() and os.environ["TRANSFORMERS_VERBOSITY"] == "error"
    assert logging.getLogger("transformers").level == logging.ERROR
    console.quiet_libraries(verbose=True)
    assert console.verbose() and "TRANSFORMERS_VERBOSITY" not in os.environ
    assert logging.getLogger("transformers").level == logging.WARNING


@pytest.mark.parametrize("command", [["evaluate"], ["run"], ["train"], ["report"], ["merge"], ["resources", "fetch"],
                                     ["resources", "bundle", "create"]])
def test_every_option_shows_its_default(capsys, command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    code, out, _ = run_cli(capsys, *command, "--help")
    assert code == 0
    options = [line for line in out.splitlines() if line.lstrip("│ *").startswith("--") and "--help" not in line]
    assert options
    for line in options:
        assert "[default:" in line or "[required]" in line, line
