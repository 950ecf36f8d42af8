"""Output locations checked before any work: a directory or file a command will write must be writable.

Every command that writes (`evaluate`, `run`, `train`, `merge`, `report`, `annotate`, `sears mine/select`)
calls one of these first, so an unwritable, read-only or misplaced output stops with one line before a
model is loaded or an example attacked, and nothing already written there is touched. Writability is
proved by creating (and removing) a file, not by permission bits, so a read-only mount, an immutable
directory or a full quota is caught whoever runs the command.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from robust_eval.core.errors import RobustEvalError

PROBE_PREFIX = ".robust-eval-write-check-"


def check_output_dir(path: Path, option: str = "--out") -> Path:
    """`path` as given, after proving that it is (or can become) a directory this process writes into.

    Nothing is created: for a missing directory the nearest existing ancestor must be a writable directory.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RobustEvalError(f"{option} {path} is a file, not a directory: choose another {option} or move the file")
    _writable_directory(path, path, option)
    return path


def check_output_file(path: Path, option: str = "--output") -> Path:
    """`path` as given, after proving that this process can write that file (its directory, or the file itself)."""
    path = Path(path)
    if path.is_dir():
        raise RobustEvalError(f"{option} {path} is a directory: give a file name, e.g. {path / 'rules.json'}")
    _writable_directory(path.parent, path, option)
    if path.exists():
        try:
            with path.open("r+b"):  # opened for writing, nothing changed
                pass
        except OSError as error:
            raise _unwritable(path, path, option, error) from None
    return path


def _writable_directory(directory: Path, target: Path, option: str) -> None:
    """`directory` exists and takes new files, or can be created under a directory that does."""
    existing = _nearest_existing(directory)
    if not existing.is_dir():
        raise RobustEvalError(
            f"{option} {target} cannot be created: {existing} is a file, not a directory; choose another {option}"
        )
    _probe(existing, target, option)


def _nearest_existing(path: Path) -> Path:
    """`path` or its closest ancestor that exists (the current directory for a relative path)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path.cwd()


def _probe(directory: Path, target: Path, option: str) -> None:
    """Create and remove a file in `directory`; a one-line error naming `target` when that fails."""
    try:
        handle, name = tempfile.mkstemp(prefix=PROBE_PREFIX, dir=directory)
    except OSError as error:
        raise _unwritable(target, directory, option, error) from None
    os.close(handle)
    os.unlink(name)


def _unwritable(target: Path, where: Path, option: str, error: OSError) -> RobustEvalError:
    reason = error.strerror or type(error).__name__
    place = "" if where == target else f" ({where} refuses new files)"
    return RobustEvalError(
        f"{option} {target} is not writable: {reason}{place}; fix its permissions, or choose another {option} "
        "on a writable disk"
    )
