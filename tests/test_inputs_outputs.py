"""Output locations users give: a file, a path under a file, a read-only or immutable directory. Every command
that writes stops with one line (exit status 2) before any model is loaded, and keeps what was written."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from cli_helpers import assert_one_line_error, run_cli
from eval_support import write_dataset
from robust_eval.core.errors import RobustEvalError
from robust_eval.core.outputs import PROBE_PREFIX, check_output_dir, check_output_file

EXPERIMENT = """
data = "mr"
seeds = [0]
recipes = ["tiny-swap"]
[methods.vanilla]
"""


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("not a directory\n")
    return path


@contextlib.contextmanager
def refusing_writes(directory: Path, how: str) -> Iterator[Path]:
    """`directory` made unwritable: permission bits (only binding for a non-root user) or the immutable flag
    (binding for root too, where the file system supports it)."""
    if how == "chmod":
        if os.geteuid() == 0:
            pytest.skip("root writes into a 0o555 directory anyway")
        directory.chmod(0o555)
        try:
            yield directory
        finally:
            directory.chmod(0o755)
        return
    if shutil.which("chattr") is None or os.geteuid() != 0:
        pytest.skip("setting the immutable flag needs chattr and root")
    if subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable flag")
    try:
        yield directory
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


def test_a_missing_directory_under_a_writable_one_passes_and_nothing_is_created(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "new"
    assert check_output_dir(target) == target
    assert not (tmp_path / "runs").exists()
    assert list(tmp_path.iterdir()) == []  # the probe file is gone
    target.mkdir(parents=True)
    check_output_dir(target)
    assert not any(p.name.startswith(PROBE_PREFIX) for p in target.iterdir())


def test_files_where_a_directory_is_expected(a_file: Path) -> None:
    with pytest.raises(RobustEvalError, match=rf"--out {a_file} is a file, not a directory: choose another --out"):
        check_output_dir(a_file)
    with pytest.raises(RobustEvalError, match=rf"--out {a_file / 'run' / 'x'} cannot be created: {a_file} is a file"):
        check_output_dir(a_file / "run" / "x")
    with pytest.raises(RobustEvalError, match=rf"--output {a_file.parent} is a directory: give a file name"):
        check_output_file(a_file.parent)
    with pytest.raises(RobustEvalError, match=rf"--output {a_file / 'rules.json'} cannot be created"):
        check_output_file(a_file / "rules.json")
    assert check_output_file(a_file) == a_file and a_file.read_text() == "not a directory\n"


@pytest.mark.parametrize("how", ["chmod", "immutable"])
def test_an_unwritable_directory_is_found_by_writing(tmp_path: Path, how: str) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    with refusing_writes(locked, how):
        for target in (locked, locked / "new" / "run"):
            with pytest.raises(RobustEvalError, match=rf"--out {target} is not writable: .*choose another --out"):
                check_output_dir(target)
        with pytest.raises(RobustEvalError, match=rf"--stats {locked / 's.json'} is not writable"):
            check_output_file(locked / "s.json", "--stats")


def commands(tmp_path: Path, blocked: Path) -> dict[str, list[str]]:
    """Each writing command with its output under `blocked` (a regular file) and inputs that would fail
    later (missing checkpoints and sources), so only a check made first names the output."""
    experiment = tmp_path / "exp.toml"
    experiment.write_text(EXPERIMENT)
    missing = str(tmp_path / "no-such-model")
    data = str(write_dataset(tmp_path / "d.jsonl"))
    return {
        "evaluate": ["evaluate", "--model", missing, "--data", data, "--out", str(blocked / "run")],
        "run": ["run", str(experiment), "--out", str(blocked / "run")],
        "train": ["train", "--model", missing, "--data", data, "--output", str(blocked / "ckpt")],
        "merge": ["merge", missing, missing + "2", "--out", str(blocked / "joined")],
        "report": ["report", str(blocked)],
        "sears mine": ["sears", "mine", "--data", data, "-o", str(blocked / "rules.json")],
        "sears select": ["sears", "select", "--rules", missing, "--model", missing, "-o", str(blocked / "rules.json")],
    }


@pytest.mark.parametrize("command", ["evaluate", "run", "train", "merge", "report", "sears mine", "sears select"])
def test_every_writing_command_checks_its_output_first(capsys, tmp_path: Path, a_file: Path, command: str) -> None:
    code, _, err = run_cli(capsys, *commands(tmp_path, a_file)[command])
    assert_one_line_error(code, err, str(a_file), "is a file")
    assert a_file.read_text() == "not a directory\n"


def test_annotate_checks_its_directory_and_keeps_the_records(capsys, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "records.jsonl").write_text('{"kind": "clean"}\n')
    (run / "annotation").write_text("in the way\n")
    code, _, err = run_cli(capsys, "annotate", str(run))
    assert_one_line_error(code, err, f"annotation directory {run / 'annotation'} is a file, not a directory")
    assert (run / "records.jsonl").read_text() == '{"kind": "clean"}\n'


@pytest.mark.parametrize("how", ["chmod", "immutable"])
def test_resuming_into_a_read_only_run_stops_and_keeps_its_records(capsys, tiny_checkpoint, tmp_path: Path, how: str) -> None:
    out, data = tmp_path / "run", write_dataset(tmp_path / "d.jsonl")
    args = ["evaluate", "--model", str(tiny_checkpoint()), "--data", str(data), "--out", str(out), "--no-progress"]
    code, _, err = run_cli(capsys, *args)
    assert code == 0, err
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with refusing_writes(out, how):
        code, _, err = run_cli(capsys, *args, "--limit", "3")
        assert_one_line_error(code, err, f"--out {out} is not writable", "choose another --out")
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
