"""benchmarks/gpu_validity.sh: a part or check with missing arguments stops in one line, before any stash."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_validity.sh"


def run_script(directory: Path, *arguments: str, experiment: str | None = None) -> subprocess.CompletedProcess[str]:
    """`bash gpu_validity.sh ARGUMENTS` from `directory`, with EXPERIMENT set only when given."""
    environment = {k: v for k, v in os.environ.items() if k != "EXPERIMENT"}
    if experiment is not None:
        environment["EXPERIMENT"] = experiment
    return subprocess.run(["bash", str(SCRIPT), *arguments], cwd=directory, env=environment,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("verb", ["part", "check"])
@pytest.mark.parametrize("arguments", [(), ("--method", "pgd"), ("--train-seed", "0")])
def test_method_and_seed_are_required(tmp_path: Path, verb: str, arguments: tuple[str, ...]) -> None:
    result = run_script(tmp_path, verb, *arguments, experiment="benchmarks/headline/mr-minilm.toml")
    assert result.returncode == 2
    assert result.stderr.strip() == "part needs --method and --train-seed"
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("verb", ["part", "check"])
def test_experiment_is_required(tmp_path: Path, verb: str) -> None:
    result = run_script(tmp_path, verb, "--method", "pgd", "--train-seed", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == "set EXPERIMENT to an experiment file, e.g. benchmarks/headline/mr-minilm.toml"
    assert not (tmp_path / "runs").exists()


def test_unknown_verb_lists_every_verb(tmp_path: Path) -> None:
    result = run_script(tmp_path, "resume")
    assert result.returncode == 2
    assert result.stderr.strip() == "usage: gpu_validity.sh train|stash|install|evaluate|part|check"
