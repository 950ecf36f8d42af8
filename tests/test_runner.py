"""The evaluation runner on real tiny checkpoints: records, resume, determinism, kill -9, shards."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eval_support import fitted_checkpoints, float_differences, strip_timings, write_dataset  # noqa: F401 (fixture)
from robust_eval.core.data import load_dataset
from robust_eval.core.errors import RobustEvalError
from robust_eval.pipeline.store import read_records
from robust_eval.pipeline.plan import Engine, RecipeRequest
from robust_eval.report import render
from robust_eval.runner import evaluate

TESTS = Path(__file__).resolve().parent
RECIPES = [RecipeRequest("tiny-swap"), RecipeRequest("tiny-swap-strict", {"max_candidates": 2})]


@pytest.fixture(scope="module", autouse=True)
def strict_recipe() -> None:
    """A second recipe (same factory, other defaults) so worst case and multi-recipe paths run."""
    from attacks.registry import recipe
    from eval_support import tiny_swap

    def tiny_swap_strict(max_candidates: int = 2, max_rate: float = 0.3):
        """tiny-swap with fewer candidates and a tighter budget."""
        return tiny_swap(max_candidates, max_rate)

    recipe("tiny-swap-strict", paper="test")(tiny_swap_strict)


def run(checkpoints, out: Path, data: Path, seed: int = 0, **engine) -> list[dict]:
    evaluate(checkpoints, load_dataset(str(data)), RECIPES, out, seed, engine=Engine(**engine), show_progress=False)
    render(out)
    return read_records(out)


def test_records_cover_clean_then_every_recipe_on_correct_examples(fitted_checkpoints, tmp_path) -> None:
    data = write_dataset(tmp_path / "reviews.jsonl", copies=2)
    records = run(fitted_checkpoints, tmp_path / "out", data)
    for checkpoint in ("tiny-seed0", "tiny-seed1"):
        clean = [r for r in records if r["kind"] == "clean" and r["checkpoint"] == checkpoint]
        assert len(clean) == 24
        correct = {r["example_id"] for r in clean if r["prediction"] == r["label"]}
        for recipe in ("tiny-swap", "tiny-swap-strict"):
            attacked = [r for r in records if r["kind"] == "attack" and r["checkpoint"] == checkpoint
                        and r["recipe"] == recipe]
            assert {r["example_id"] for r in attacked} == correct
            assert all(r["result"]["status"] in ("succeeded", "failed") for r in attacked)
    kinds = [r["kind"] for r in records if r["checkpoint"] == "tiny-seed0"]
    assert kinds == sorted(kinds, key=lambda kind: kind != "clean"), "clean predictions come first"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["progress"]["complete"]
    assert summary["config"]["checkpoints"][0]["group"] == "tiny"
    assert set(summary["metrics"]["groups"]) == {"tiny"}


def test_rerun_skips_recorded_work(fitted_checkpoints, tmp_path) -> None:
    data = write_dataset(tmp_path / "reviews.jsonl")
    run(fitted_checkpoints[:1], tmp_path / "out", data)
    before = (tmp_path / "out" / "records.jsonl").read_bytes()
    run(fitted_checkpoints[:1], tmp_path / "out", data)
    assert (tmp_path / "out" / "records.jsonl").read_bytes() == before


def test_same_seed_gives_identical_records(fitted_checkpoints, tmp_path) -> None:
    data = write_dataset(tmp_path / "reviews.jsonl")
    first = run(fitted_checkpoints[:1], tmp_path / "a", data, seed=3)
    second = run(fitted_checkpoints[:1], tmp_path / "b", data, seed=3)
    assert strip_timings(first) == strip_timings(second)
    assert any(r["kind"] == "attack" and r["result"]["status"] == "succeeded" for r in first)


def test_shards_merge_into_the_single_process_report(fitted_checkpoints, tmp_path) -> None:
    data = write_dataset(tmp_path / "reviews.jsonl")
    whole = run(fitted_checkpoints[:1], tmp_path / "whole", data)
    for index in range(2):
        run(fitted_checkpoints[:1], tmp_path / "sharded", data, shard=(index, 2))  # each part renders the whole
    assert sorted(p.name for p in (tmp_path / "sharded").glob("records*.jsonl")) == [
        "records.shard-0-of-2.jsonl", "records.shard-1-of-2.jsonl"]
    merged = read_records(tmp_path / "sharded")
    key = lambda r: (r["kind"], r["recipe"], r["index"])  # noqa: E731
    assert not float_differences(strip_timings(sorted(merged, key=key)), strip_timings(sorted(whole, key=key)))
    summaries = [json.loads((tmp_path / d / "summary.json").read_text()) for d in ("whole", "sharded")]
    assert not float_differences(strip_timings(summaries[0]["metrics"]), strip_timings(summaries[1]["metrics"]))


SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import eval_support
import tempfile
from pathlib import Path
import attacks.quality
from quality_support import tiny_quality_scorer
scorer = tiny_quality_scorer(Path(tempfile.mkdtemp()))
attacks.quality.default_scorer = lambda: scorer
from attacks.registry import recipe
recipe("tiny-swap-strict", paper="test")(eval_support.tiny_swap)
sys.exit(eval_support.main(sys.argv[1:]))
"""


def cli_args(checkpoints, data: Path, out: Path) -> list[str]:
    args = ["evaluate", "--data", str(data), "--out", str(out), "--seed", "5", "--no-progress",
            "--recipe", "tiny-swap", "--recipe", "tiny-swap-strict"]
    for checkpoint in checkpoints:
        args += ["--model", str(checkpoint)]
    return args


def start(args: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS.parent), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-c", SCRIPT.format(tests=str(TESTS)), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_lines(path: Path, count: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        if process.poll() is not None:
            pytest.fail(f"the run ended before {count} records: {process.stderr.read().decode()[-2000:]}")
        time.sleep(0.02)
    pytest.fail(f"fewer than {count} records after {timeout} s")


def test_kill_9_then_rerun_equals_an_uninterrupted_run(fitted_checkpoints, tmp_path) -> None:
    data = write_dataset(tmp_path / "reviews.jsonl", copies=3)
    killed = tmp_path / "killed"
    records = killed / "records.jsonl"
    # Kill during the attacks on the first checkpoint, then during those on the second.
    for lines in (40, 150):
        process = start(cli_args(fitted_checkpoints, data, killed))
        wait_for_lines(records, lines, process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL
    finished = start(cli_args(fitted_checkpoints, data, killed))
    assert finished.wait(timeout=300) == 0, finished.stderr.read().decode()[-2000:]
    reference = start(cli_args(fitted_checkpoints, data, tmp_path / "reference"))
    assert reference.wait(timeout=300) == 0, reference.stderr.read().decode()[-2000:]

    resumed, uninterrupted = read_records(killed), read_records(tmp_path / "reference")
    assert len({(r["kind"], r["checkpoint"], r["recipe"], r["example_id"]) for r in resumed}) == len(resumed)
    assert not float_differences(strip_timings(resumed), strip_timings(uninterrupted))
    assert len(records.read_bytes().splitlines()) == len(resumed), "no duplicated lines in the file"
    summaries = [json.loads((d / "summary.json").read_text()) for d in (killed, tmp_path / "reference")]
    for key in ("config", "progress", "metrics", "seeds"):  # the environment was captured at different times
        assert not float_differences(strip_timings(summaries[0][key]), strip_timings(summaries[1][key]))


def without_quality(records: list[dict]) -> list[dict]:
    """Records with the example quality of attack results left out."""
    return [r | {"result": {k: v for k, v in r["result"].items() if k != "quality"}} if r["kind"] == "attack" else r
            for r in records]


def test_worker_processes_write_the_single_process_records(fitted_checkpoints, tmp_path) -> None:
    data = write_dataset(tmp_path / "reviews.jsonl")
    recipes = [RecipeRequest("tiny-swap")]
    dataset = load_dataset(str(data))
    evaluate(fitted_checkpoints, dataset, recipes, tmp_path / "one", show_progress=False)
    evaluate(fitted_checkpoints, dataset, recipes, tmp_path / "two", engine=Engine(jobs=2), show_progress=False)
    assert sorted(p.name for p in (tmp_path / "two").glob("records*.jsonl")) == [
        "records.shard-0-of-2.jsonl", "records.shard-1-of-2.jsonl"]
    key = lambda r: (r["kind"], r["checkpoint"], r["recipe"], r["index"])  # noqa: E731
    # Worker processes score example quality with the default models, this process with the tiny test ones.
    assert not float_differences(strip_timings(without_quality(sorted(read_records(tmp_path / "two"), key=key))),
                                 strip_timings(without_quality(sorted(read_records(tmp_path / "one"), key=key))))
    with pytest.raises(RobustEvalError, match="--jobs and --shard"):
        evaluate(fitted_checkpoints, dataset, recipes, tmp_path / "x", engine=Engine(jobs=2, shard=(0, 2)),
                 show_progress=False)


def test_merge_joins_parts_split_by_checkpoint_and_recipe(fitted_checkpoints, tmp_path) -> None:
    from robust_eval.merge import merge_runs

    data = write_dataset(tmp_path / "reviews.jsonl")
    whole = run(fitted_checkpoints, tmp_path / "whole", data)
    run(fitted_checkpoints[:1], tmp_path / "a", data)
    for recipe in RECIPES:
        evaluate(fitted_checkpoints[1:], load_dataset(str(data)), [recipe], tmp_path / f"b-{recipe.name}",
                 show_progress=False)
    parts = [tmp_path / "a", tmp_path / "b-tiny-swap", tmp_path / "b-tiny-swap-strict"]
    render(merge_runs(parts, tmp_path / "joined"))
    key = lambda r: (r["kind"], r["checkpoint"], r["recipe"], r["index"])  # noqa: E731
    assert strip_timings(sorted(read_records(tmp_path / "joined"), key=key)) == strip_timings(sorted(whole, key=key))
    summaries = [json.loads((tmp_path / d / "summary.json").read_text()) for d in ("whole", "joined")]
    assert strip_timings(summaries[0]["metrics"]) == strip_timings(summaries[1]["metrics"])
    assert "checkpoint_paths" not in json.dumps(json.loads((tmp_path / "joined" / "run.json").read_text()))
    with pytest.raises(RobustEvalError, match="not empty"):
        merge_runs(parts, tmp_path / "joined")
    other = tmp_path / "other" / fitted_checkpoints[0].name
    shutil.copytree(fitted_checkpoints[1], other)  # same name as part a's checkpoint, other weights
    run([other], tmp_path / "c", data)
    with pytest.raises(RobustEvalError, match="differs between a and c"):
        merge_runs([tmp_path / "a", tmp_path / "c"], tmp_path / "bad")


def test_merge_joins_parts_whose_limit_selects_the_same_examples(fitted_checkpoints, tmp_path) -> None:
    from robust_eval.merge import merge_runs

    data = write_dataset(tmp_path / "reviews.jsonl")
    dataset = load_dataset(str(data))
    evaluate(fitted_checkpoints[:1], dataset, RECIPES[:1], tmp_path / "unlimited", show_progress=False)
    evaluate(fitted_checkpoints[1:], dataset.head(len(dataset.examples)), RECIPES[:1], tmp_path / "limited",
             limit=len(dataset.examples), show_progress=False)
    merge_runs([tmp_path / "unlimited", tmp_path / "limited"], tmp_path / "joined")
    assert {r["checkpoint"] for r in read_records(tmp_path / "joined")} == {c.name for c in fitted_checkpoints}
    fewer = len(dataset.examples) - 1
    evaluate(fitted_checkpoints[1:], dataset.head(fewer), RECIPES[:1], tmp_path / "fewer", limit=fewer,
             show_progress=False)
    with pytest.raises(RobustEvalError, match="differ in 'data'"):
        merge_runs([tmp_path / "unlimited", tmp_path / "fewer"], tmp_path / "bad")


def test_merge_cuts_a_run_so_part_of_it_resumes_elsewhere(fitted_checkpoints, tmp_path) -> None:
    from robust_eval.merge import merge_runs

    data = write_dataset(tmp_path / "reviews.jsonl")
    run(fitted_checkpoints, tmp_path / "whole", data)
    merge_runs([tmp_path / "whole"], tmp_path / "cut", checkpoints=["tiny-seed1"], recipes=["tiny-swap"])
    cut = read_records(tmp_path / "cut")
    assert {(r["checkpoint"], r["recipe"]) for r in cut} == {("tiny-seed1", ""), ("tiny-seed1", "tiny-swap")}
    evaluate(fitted_checkpoints[1:], load_dataset(str(data)), [RecipeRequest("tiny-swap")], tmp_path / "cut",
             show_progress=False)  # the same configuration as the cut: accepted, nothing left to do
    assert len(read_records(tmp_path / "cut")) == len(cut)
    with pytest.raises(RobustEvalError, match="no checkpoint 'nope'"):
        merge_runs([tmp_path / "whole"], tmp_path / "x", checkpoints=["nope"])
    with pytest.raises(RobustEvalError, match="at least two"):
        merge_runs([tmp_path / "whole"], tmp_path / "y")


def test_unit_counter_reads_only_what_was_appended(fitted_checkpoints, tmp_path) -> None:
    from eval_support import TEXTS
    from robust_eval.pipeline.workers import UnitCounter

    data = write_dataset(tmp_path / "reviews.jsonl")
    records = run(fitted_checkpoints[:1], tmp_path / "whole", data)
    out = tmp_path / "growing"
    out.mkdir()
    lines = (tmp_path / "whole" / "records.jsonl").read_bytes().splitlines(keepends=True)
    counter = UnitCounter(out, recipes=len(RECIPES))
    with (out / "records.jsonl").open("wb") as handle:
        handle.write(b"".join(lines[:3]) + lines[3][:10])  # three records and a torn fourth
        handle.flush()
        assert counter() == sum(1 + (len(RECIPES) if r["kind"] == "clean" and r["prediction"] != r["label"] else 0)
                                for r in records[:3])
        handle.write(lines[3][10:] + b"".join(lines[4:]))
    assert counter() == len(TEXTS) * (1 + len(RECIPES))  # every unit of the finished run, each counted once


def test_workers_share_the_cores_without_overlap() -> None:
    import os

    from robust_eval.pipeline.workers import worker_cores

    cores = sorted(os.sched_getaffinity(0))
    shares = [worker_cores(i, 2) for i in range(2)]
    if len(cores) >= 2:
        assert set().union(*shares) == set(cores) and not shares[0] & shares[1]
    many = [worker_cores(i, len(cores) + 1) for i in range(len(cores) + 1)]
    assert all(len(share) == 1 for share in many) and many[-1] == many[0]


def test_workers_are_dealt_over_every_visible_gpu() -> None:
    from robust_eval.pipeline.workers import worker_gpu

    assert [worker_gpu(i, None, 2) for i in range(5)] == [0, 1, 0, 1, 0]
    assert [worker_gpu(i, "cuda", 3) for i in range(4)] == [0, 1, 2, 0]
    assert worker_gpu(3, "cuda:1", 2) is None  # the run named one GPU: every worker uses it
    assert worker_gpu(1, "cpu", 2) is None
    assert worker_gpu(1, None, 1) is None and worker_gpu(1, None, 0) is None


def test_calibrated_variants_are_planned_attacked_and_compared(fitted_checkpoints, tmp_path) -> None:
    data = load_dataset(str(write_dataset(tmp_path / "reviews.jsonl")))
    out = tmp_path / "out"
    evaluate(fitted_checkpoints[:1], data, RECIPES[:1], out, calibration_data=data, show_progress=False)
    config = json.loads((out / "run.json").read_text())["config"]
    variant = next(c for c in config["checkpoints"] if c["name"] == "tiny-seed0@calibrated")
    assert variant["calibrates"] == "tiny-seed0" and variant["temperature"] > 0 and variant["group"] is None
    records = read_records(out)
    assert {r["checkpoint"] for r in records if r["kind"] == "attack"} == {"tiny-seed0", "tiny-seed0@calibrated"}
    summary = json.loads(render(out).summary.read_text())
    assert "tiny-seed0@calibrated" in json.dumps(summary["calibration"])
