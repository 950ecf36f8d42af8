"""Append-only JSONL records of an evaluation run, resumable after any interruption.

An output directory holds `run.json` (the run's configuration and environment) and one or more record
files `records*.jsonl` (one per shard). Every line is one finished unit of work: the clean prediction of a
checkpoint on an example (`kind="clean"`) or one recipe's attack on it (`kind="attack"`). A line is written
and flushed as soon as its unit is done, so a run killed at any moment loses at most the unit in flight;
a torn last line (a write cut short) is dropped when the file is reopened.
"""

from __future__ import annotations

import json
import lzma
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from attacks.result import AttackResult
from robust_eval.core.errors import RobustEvalError

RUN_FILE = "run.json"
RECORDS_GLOB = "records*.jsonl"
DATA_SPELLING = ("limit",)  # how the examples were chosen; the digest and count say which they are

Record = dict[str, Any]
RecordKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class CleanRecord:
    """A checkpoint's clean prediction on one example (`index`: its position in the dataset)."""

    checkpoint: str
    example_id: str
    index: int
    label: int
    prediction: int
    confidence: float
    probabilities: list[float]
    truncated: bool = False  # the model read only the first max_length tokens

    def to_json(self) -> Record:
        record = {"kind": "clean", "recipe": "", **asdict(self)}
        if not self.truncated:
            del record["truncated"]
        return record


@dataclass(frozen=True)
class AttackRecord:
    """One recipe's attack on one example."""

    checkpoint: str
    recipe: str
    example_id: str
    index: int
    result: AttackResult

    def to_json(self) -> Record:
        return {"kind": "attack", "checkpoint": self.checkpoint, "recipe": self.recipe,
                "example_id": self.example_id, "index": self.index, "result": self.result.to_dict()}


def record_key(record: Mapping[str, Any]) -> RecordKey:
    """The identity of a record: (kind, checkpoint, recipe, example id); clean records have recipe ""."""
    return (record["kind"], record["checkpoint"], record.get("recipe", ""), record["example_id"])


def records_filename(shard: tuple[int, int] | None) -> str:
    """`records.jsonl`, or `records.shard-I-of-N.jsonl` for shard I (0-based) of N."""
    if shard is None:
        return "records.jsonl"
    index, count = shard
    return f"records.shard-{index}-of-{count}.jsonl"


def parse_lines(path: Path, data: bytes) -> tuple[list[Record], int]:
    """Parse a record file's bytes; return the records and the byte length of its intact prefix.

    Only the last line may be torn (missing its newline or cut mid-object); any other bad line means the
    file is not a records file of this tool and is refused.
    """
    records: list[Record] = []
    intact = 0
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        is_last = number == len(lines)
        if is_last:
            # Text after the final newline is a write cut short by a kill: ignored and truncated.
            break
        try:
            record = json.loads(line)
            record_key(record)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            if number == len(lines) - 1 and not lines[-1]:
                # Newline-terminated but unparseable last line: also a torn write, tolerated.
                break
            raise RobustEvalError(
                f"records file {path} line {number} is unreadable ({type(error).__name__}); "
                "delete or move that file, or choose another --out directory"
            ) from None
        records.append(record)
        intact += len(line) + 1
    return records, intact


def _record_bytes(path: Path) -> bytes:
    """A records file's bytes; `.jsonl.xz` files (how finished runs are archived) are decompressed."""
    try:
        data = path.read_bytes()
        return lzma.decompress(data) if path.suffix == ".xz" else data
    except OSError as error:
        raise RobustEvalError(
            f"records file {path} cannot be read ({error.strerror}); fix its permissions or choose "
            "another --out directory"
        ) from None
    except lzma.LZMAError:
        raise RobustEvalError(f"records archive {path} is damaged; restore it from the copy it came from") from None


def read_records(out_dir: Path) -> list[Record]:
    """Every intact record in `out_dir` (its `records*.jsonl` files, then archived `records*.jsonl.xz`), in
    file-name then line order, keeping the first of duplicates."""
    seen: set[RecordKey] = set()
    merged: list[Record] = []
    directory = Path(out_dir)
    for path in [*sorted(directory.glob(RECORDS_GLOB)), *sorted(directory.glob(RECORDS_GLOB + ".xz"))]:
        data = _record_bytes(path)
        for record in parse_lines(path, data)[0]:
            key = record_key(record)
            if key not in seen:
                seen.add(key)
                merged.append(record)
    return merged


def read_run(out_dir: Path) -> dict[str, Any] | None:
    """The run metadata (`run.json`) of `out_dir`, or None when the directory holds no run yet."""
    path = Path(out_dir) / RUN_FILE
    if not path.exists():
        return None
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RobustEvalError(
            f"{path} is unreadable ({type(error).__name__}); delete it or choose another --out directory"
        ) from None
    if not isinstance(run, dict) or "config" not in run:
        raise RobustEvalError(f"{path} is not a robust-eval run file; choose another --out directory")
    return run


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON through a temporary file and a rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def comparable_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration as two runs must agree on it: the data's examples, not how the limit was spelt
    (`--limit 1000` on a 1000-example split selects the same examples as no limit)."""
    normalized = json.loads(json.dumps(config))
    if isinstance(normalized.get("data"), dict):
        normalized["data"] = {k: v for k, v in normalized["data"].items() if k not in DATA_SPELLING}
    return normalized


def claim_run_dir(out_dir: Path, config: Mapping[str, Any], environment: Mapping[str, Any] | None = None) -> None:
    """Create `out_dir` with its `run.json`, or check that the `run.json` there has the same configuration."""
    if out_dir.exists() and not out_dir.is_dir():
        raise RobustEvalError(f"--out {out_dir} is a file; choose a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = read_run(out_dir)
    if existing is None:
        if any(out_dir.glob(RECORDS_GLOB)):
            raise RobustEvalError(f"{out_dir} holds records but no {RUN_FILE}; choose another --out directory")
        write_json_atomic(out_dir / RUN_FILE, {"config": config, "environment": environment or {}})
        return
    old, new = comparable_config(existing["config"]), comparable_config(config)
    if old != new:
        raise RobustEvalError(
            f"{out_dir} holds records of a different configuration (differs in: {_changed_keys(old, new)}); "
            "choose another --out directory or rerun with the original settings"
        )


class RecordStore:
    """The records of one output directory: what is done, and an append-only writer for what is not.

    Opening a store checks that the directory's `run.json` (if any) describes the same configuration as
    `config`; records of a different configuration are never mixed in (RobustEvalError instead).
    """

    def __init__(
        self,
        out_dir: Path,
        config: Mapping[str, Any],
        environment: Mapping[str, Any] | None = None,
        shard: tuple[int, int] | None = None,
    ) -> None:
        self.out_dir = Path(out_dir)
        claim_run_dir(self.out_dir, config, environment)
        self.path = self.out_dir / records_filename(shard)
        self.records = read_records(self.out_dir)
        self.done: set[RecordKey] = {record_key(r) for r in self.records}
        self._truncate_torn_tail()
        self._handle = self.path.open("ab")

    def _truncate_torn_tail(self) -> None:
        """Cut this store's own file back to its last intact line before appending to it."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        intact = parse_lines(self.path, data)[1]
        if intact < len(data):
            with self.path.open("r+b") as handle:
                handle.truncate(intact)

    def __contains__(self, key: RecordKey) -> bool:
        return key in self.done

    def correct_examples(self, checkpoint: str) -> set[str]:
        """Ids of the examples `checkpoint` classified correctly (by the clean records so far)."""
        return {
            r["example_id"] for r in self.records
            if r["kind"] == "clean" and r["checkpoint"] == checkpoint and r["prediction"] == r["label"]
        }

    def append(self, unit: CleanRecord | AttackRecord | Record) -> None:
        """Write one record as a single line and flush it to the operating system at once."""
        record = unit if isinstance(unit, dict) else unit.to_json()
        key = record_key(record)
        if key in self.done:
            return
        line = json.dumps(record, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
        self._handle.write(line.encode("utf-8"))
        self._handle.flush()
        self.done.add(key)
        self.records.append(record)

    def close(self) -> None:
        """Flush the records to disk and close the file."""
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()

    def __enter__(self) -> "RecordStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """Comma-separated top-level keys whose values differ between two configurations."""
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(keys) or "unknown"
