"""Reports: re-rendering from the records alone, schema, escaping, model cards, a real browser render."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from eval_support import copy_checkpoints, fitted_checkpoints, hostile_run, main  # noqa: F401 (fixtures)
from robust_eval.report import render
from robust_eval.report.model_card import END, START
from robust_eval.report.pairs import Segment, diff_segments
from robust_eval.report.summary import SCHEMA, SCHEMA_VERSION

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import render_check  # noqa: E402


@pytest.fixture
def run_dir(copy_checkpoints, tmp_path: Path, capsys) -> Path:
    """A finished evaluation whose texts all hold markup (so every adversarial pair shown does)."""
    return hostile_run(copy_checkpoints(), tmp_path, capsys)


def test_report_rerenders_identically_from_records_alone(run_dir: Path, capsys) -> None:
    names = ("summary.json", "report.md", "report.html", "figures/accuracy.png", "figures/budget.png")
    originals = {name: (run_dir / name).read_bytes() for name in names}
    assert "![accuracy](figures/accuracy.png)" in originals["report.md"].decode()
    for name in originals:
        (run_dir / name).unlink()
    assert main(["report", str(run_dir)]) == 0
    output = capsys.readouterr().out
    assert "tiny-seed0" in output and "report.html" in output
    for name, content in originals.items():
        assert (run_dir / name).read_bytes() == content, name


def test_report_reads_archived_records(run_dir: Path) -> None:
    import lzma

    before = (run_dir / "summary.json").read_bytes()
    records = run_dir / "records.jsonl"
    (run_dir / "records.jsonl.xz").write_bytes(lzma.compress(records.read_bytes()))
    records.unlink()
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "summary.json").read_bytes() == before
    (run_dir / "records.jsonl.xz").write_bytes(b"not xz")
    assert main(["report", str(run_dir)]) == 2


def test_report_warns_while_attacks_are_missing(run_dir: Path, capsys) -> None:
    assert main(["report", str(run_dir)]) == 0
    assert "incomplete run" not in capsys.readouterr().err
    records = run_dir / "records.jsonl"
    lines = records.read_text(encoding="utf-8").splitlines(keepends=True)
    last_attack = max(i for i, line in enumerate(lines) if '"kind": "attack"' in line)
    records.write_text("".join(lines[:last_attack] + lines[last_attack + 1:]), encoding="utf-8")
    assert main(["report", str(run_dir)]) == 0
    warning = capsys.readouterr().err
    assert "incomplete run" in warning and "rerun the same command" in warning


def test_summary_schema(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["schema"], summary["schema_version"]) == (SCHEMA, SCHEMA_VERSION)
    for key in ("config", "environment", "git_commit", "device", "seeds", "progress", "metrics"):
        assert key in summary
    assert summary["environment"]["versions"]["torch"]
    assert summary["seeds"]["training"] == {"tiny-seed0": 0, "tiny-seed1": 1}
    recipe = summary["metrics"]["checkpoints"]["tiny-seed0"]["recipes"]["tiny-swap"]
    low, high = recipe["accuracy_under_attack"]["ci95"]
    assert low <= recipe["accuracy_under_attack"]["value"] <= high


def test_html_is_self_contained_and_escapes_texts(run_dir: Path) -> None:
    html = (run_dir / "report.html").read_text()
    assert "<b>" not in html
    assert "&lt;b&gt;&amp;" in html
    assert 'class="changed"' in html
    assert "http://" not in html and "https://" not in html
    images = html.count('src="data:image/png;base64,')
    assert images >= 3  # accuracy, budget, queries
    start = html.index('src="data:image/png;base64,') + len('src="data:image/png;base64,')
    assert base64.b64decode(html[start:html.index('"', start)]).startswith(b"\x89PNG")
    markdown = (run_dir / "report.md").read_text()
    assert "\\<b\\>\\&" in markdown and "<b>" not in markdown


def test_word_diff_marks_changed_words() -> None:
    before, after = diff_segments("a very good movie", "a too bad movie")
    assert before == [Segment("a", False), Segment("very good", True), Segment("movie", False)]
    assert after == [Segment("a", False), Segment("too bad", True), Segment("movie", False)]


def test_update_model_card_keeps_other_content_and_is_idempotent(run_dir: Path) -> None:
    card = Path(json.loads((run_dir / "run.json").read_text())["environment"]["checkpoint_paths"]["tiny-seed0"])
    card = card / "README.md"
    card.write_text("# My model\n\nHand-written notes.\n", encoding="utf-8")
    render(run_dir, update_model_cards=True)
    once = card.read_text()
    render(run_dir, update_model_cards=True)
    assert card.read_text() == once
    assert once.startswith("# My model\n\nHand-written notes.\n")
    assert once.count(START) == 1 and once.count(END) == 1
    assert "accuracy under `tiny-swap`" in once


@pytest.mark.skipif(render_check.find_chromium() is None, reason="chromium is not installed")
def test_report_renders_in_headless_chromium(run_dir: Path) -> None:
    png = render_check.screenshot(run_dir / "report.html", run_dir / "report.png", height=2400)
    assert png.stat().st_size > 10_000
    assert 0.01 < render_check.ink(png) < 0.6
