"""The README's results tables (benchmarks/headline_table.py) on the committed results of one and two seeds."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY / "benchmarks"))
import headline_table  # noqa: E402


def printed_rows(monkeypatch, capsys, directory: Path) -> dict[str, list[str]]:
    """The accuracy table's cells by method, as `python benchmarks/headline_table.py DIRECTORY` prints them."""
    monkeypatch.setattr(sys, "argv", ["headline_table.py", str(directory)])
    headline_table.main()
    lines = capsys.readouterr().out.splitlines()[2:]
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines)}


@pytest.mark.parametrize(("results", "seeds"), [("gpu-minilm-seed0", "1"), ("gpu-minilm-seeds01", "2")])
def test_a_partial_run_counts_the_seeds_it_holds(monkeypatch, capsys, results: str, seeds: str) -> None:
    rows = printed_rows(monkeypatch, capsys, REPOSITORY / "benchmarks" / "results" / results)
    assert list(rows) == ["vanilla", "pgd", "freeat", "freelb", "yopo", "vanilla-sears"]  # the experiment's order
    assert {cells[0] for cells in rows.values()} == {seeds}
    assert ("±" in rows["vanilla"][1]) == (seeds != "1")  # mean ± std only over several seeds
