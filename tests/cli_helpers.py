"""Run the `robust-eval` CLI in-process and capture its exit status and output."""

from __future__ import annotations

import pytest

from robust_eval.cli import main


def run_cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of `robust-eval ARGS`."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    """A bad input gives exit status 2 and one error line (no traceback) naming the problem."""
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error:"), err
    assert "Traceback" not in err
    message = " ".join(err.split())
    for fragment in fragments:
        assert fragment in message, message
