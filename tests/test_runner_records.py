"""The JSONL record store: torn last lines, unreadable files, configuration checks, no duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robust_eval.core.errors import RobustEvalError
from robust_eval.pipeline.store import RecordStore, read_records

CONFIG = {"format": 1, "seed": 0, "recipes": [{"name": "a", "params": {}}]}


def record(index: int) -> dict:
    return {"kind": "clean", "checkpoint": "m", "recipe": "", "example_id": f"e{index}", "index": index,
            "label": 1, "prediction": 1}


def test_append_flushes_each_line_and_skips_duplicates(tmp_path: Path) -> None:
    with RecordStore(tmp_path, CONFIG) as store:
        store.append(record(0))
        assert (tmp_path / "records.jsonl").read_text().count("\n") == 1  # on disk before close
        store.append(record(0))
        store.append(record(1))
    assert [r["example_id"] for r in read_records(tmp_path)] == ["e0", "e1"]


@pytest.mark.parametrize("tail", [b'{"kind": "clean", "checkpo', b'{"kind": "clean"}\n', b"\xff\xfe"])
def test_torn_last_line_is_dropped_and_truncated(tmp_path: Path, tail: bytes) -> None:
    with RecordStore(tmp_path, CONFIG) as store:
        store.append(record(0))
    path = tmp_path / "records.jsonl"
    intact = path.read_bytes()
    path.write_bytes(intact + tail)
    assert len(read_records(tmp_path)) == 1
    with RecordStore(tmp_path, CONFIG) as store:
        assert ("clean", "m", "", "e0") in store
        store.append(record(1))
    assert path.read_bytes().startswith(intact)
    assert [r["example_id"] for r in read_records(tmp_path)] == ["e0", "e1"]


def test_damaged_middle_line_is_a_one_line_error_and_nothing_is_changed(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    with RecordStore(tmp_path, CONFIG) as store:
        store.append(record(0))
    content = path.read_bytes() + b"not json\n" + json.dumps(record(1)).encode() + b"\n"
    path.write_bytes(content)
    with pytest.raises(RobustEvalError, match="line 2 is unreadable") as error:
        RecordStore(tmp_path, CONFIG)
    assert "\n" not in str(error.value)
    assert path.read_bytes() == content


def test_other_configuration_is_refused(tmp_path: Path) -> None:
    with RecordStore(tmp_path, CONFIG) as store:
        store.append(record(0))
    before = (tmp_path / "records.jsonl").read_bytes()
    with pytest.raises(RobustEvalError, match="different configuration .*differs in: seed"):
        RecordStore(tmp_path, dict(CONFIG, seed=1))
    assert (tmp_path / "records.jsonl").read_bytes() == before


def test_the_same_examples_chosen_by_another_limit_spelling_resume(tmp_path: Path) -> None:
    # A run joined from parts evaluated without a limit resumes under `--limit N` on the same N examples
    # (same digest and count), as a merge joins them; other examples are still refused.
    data = {"name": "mr:test", "sha256": "abc", "examples": 1000, "limit": None}
    with RecordStore(tmp_path, dict(CONFIG, data=data)) as store:
        store.append(record(0))
    with RecordStore(tmp_path, dict(CONFIG, data=dict(data, limit=1000))) as store:
        assert [r["example_id"] for r in store.records] == ["e0"]
    with pytest.raises(RobustEvalError, match="differs in: data"):
        RecordStore(tmp_path, dict(CONFIG, data=dict(data, sha256="other", limit=1000)))


def test_records_without_run_file_or_a_broken_run_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "records.jsonl").write_text(json.dumps(record(0)) + "\n")
    with pytest.raises(RobustEvalError, match="no run.json"):
        RecordStore(tmp_path, CONFIG)
    (tmp_path / "run.json").write_text("{broken")
    with pytest.raises(RobustEvalError, match="run.json is unreadable"):
        RecordStore(tmp_path, CONFIG)


def test_shards_write_their_own_files_and_read_merged(tmp_path: Path) -> None:
    for shard in range(2):
        with RecordStore(tmp_path, CONFIG, shard=(shard, 2)) as store:
            store.append(record(shard))
            store.append(record(5))  # recorded by both shards: read once
    assert sorted(r["example_id"] for r in read_records(tmp_path)) == ["e0", "e1", "e5"]
