"""The README's results tables (benchmarks/headline_table.py) on committed runs of one seed and of three."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from robust_eval.pipeline.plan import SEED_IN_NAME

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY / "benchmarks"))
import headline_table  # noqa: E402


def printed(monkeypatch, capsys, *arguments: str) -> str:
    """What `python benchmarks/headline_table.py ARGUMENTS` prints."""
    monkeypatch.setattr(sys, "argv", ["headline_table.py", *arguments])
    headline_table.main()
    return capsys.readouterr().out


def printed_rows(monkeypatch, capsys, directory: Path) -> dict[str, list[str]]:
    """The accuracy table's cells by method, as `python benchmarks/headline_table.py DIRECTORY` prints them."""
    lines = printed(monkeypatch, capsys, str(directory)).splitlines()[2:]
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines)}


def seeds_by_method(directory: Path) -> dict[str, str]:
    """How many training seeds of each method the run's configuration lists (its checkpoints' groups)."""
    run = json.loads((directory / "run.json").read_text(encoding="utf-8"))
    counts = Counter(SEED_IN_NAME.sub("", c["name"]) for c in run["config"]["checkpoints"])
    return {method: str(count) for method, count in counts.items()}


@pytest.mark.parametrize("results", ["benchmarks/results/gpu-minilm-seed0", "reports/mr-minilm"])
def test_a_partial_run_counts_the_seeds_it_holds(monkeypatch, capsys, results: str) -> None:
    directory = REPOSITORY / results
    rows = printed_rows(monkeypatch, capsys, directory)
    assert list(rows) == ["vanilla", "pgd", "freeat", "freelb", "yopo", "vanilla-sears"]  # the experiment's order
    seeds = seeds_by_method(directory)
    assert {method: cells[0] for method, cells in rows.items()} == seeds
    for method, cells in rows.items():
        assert ("±" in cells[1]) == (seeds[method] != "1")  # mean ± std only over several seeds


@pytest.mark.parametrize(
    "arguments",
    [
        ("reports/mr-minilm",),
        ("reports/mr-minilm", "--paired"),
        ("reports/mr-minilm", "--quality", "vanilla-seed0"),
        ("reports/mr-mpnet",),
        ("reports/mr-mpnet", "--paired"),
        ("reports/mr-mpnet", "--quality", "vanilla-seed0"),
    ],
)
def test_the_readme_shows_the_tables_the_committed_reports_give(monkeypatch, capsys, arguments) -> None:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    table = printed(monkeypatch, capsys, str(REPOSITORY / arguments[0]), *arguments[1:])
    assert table.count("\n") > 3
    assert table in readme


def test_the_quality_table_marks_recipes_without_scored_successes(monkeypatch, capsys) -> None:
    table = printed(monkeypatch, capsys, str(REPOSITORY / "reports/mr-mpnet"), "--quality", "vanilla-seed0")
    sears = next(line for line in table.splitlines() if line.startswith("| `sears` |"))
    assert sears.split("|")[4].strip() == "0" and sears.count("| - ") == 4


def test_an_unknown_checkpoint_is_named_with_the_report_s_checkpoints(monkeypatch, capsys) -> None:
    with pytest.raises(SystemExit, match="no checkpoint 'nope' in this report: pick one of .*vanilla-seed0"):
        printed(monkeypatch, capsys, str(REPOSITORY / "reports/mr-mpnet"), "--quality", "nope")


def test_an_undefined_measure_of_scored_successes_reads_as_a_dash(monkeypatch, capsys) -> None:
    table = printed(monkeypatch, capsys, str(REPOSITORY / "reports/mr-minilm"), "--quality", "yopo-seed1")
    sears = next(line for line in table.splitlines() if line.startswith("| `sears` |"))
    scored, similarity, perplexity, pos_match, grammar = (c.strip() for c in sears.strip("|").split("|")[3:8])
    assert int(scored) > 0 and pos_match == "-"  # rewrites swapping no word have no POS match
    assert "-" not in (similarity, perplexity, grammar)
