"""Human validation: the blind annotation sample, its form, importing a filled sheet, validated rates."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from eval_support import fitted_checkpoints, hostile_run, main  # noqa: F401 (fixtures)
from robust_eval.report.validation import wilson


@pytest.fixture
def run_dir(fitted_checkpoints, tmp_path: Path, capsys) -> Path:
    """A finished tiny evaluation whose texts hold markup."""
    return hostile_run(fitted_checkpoints, tmp_path, capsys)


def read_sheet(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_sheet(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def successes(run: Path) -> list[dict]:
    records = [json.loads(line) for line in (run / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r for r in records if r["kind"] == "attack" and r["result"]["status"] == "succeeded"]


def test_sample_is_blind_shuffled_with_controls_and_escaped(run_dir: Path, capsys) -> None:
    assert main(["annotate", str(run_dir), "--per-recipe", "5", "--controls", "2", "--seed", "3"]) == 0
    folder = run_dir / "annotation"
    rows = read_sheet(folder / "sample.csv")
    assert list(rows[0]) == ["item", "text_a", "text_b", "sentiment_kept", "meaning_kept", "fluency"]
    key = json.loads((folder / "key.json").read_text(encoding="utf-8"))
    controls = [r for r in rows if key["items"][r["item"]]["control"]]
    pairs = [r for r in rows if not key["items"][r["item"]]["control"]]
    assert len(controls) == 2 and all(r["text_a"] == r["text_b"] for r in controls)
    assert len(pairs) == min(5, len(successes(run_dir)))
    known = {(s["result"]["original_text"], s["result"]["perturbed_text"]) for s in successes(run_dir)}
    assert all((r["text_a"], r["text_b"]) in known for r in pairs)
    assert "tiny-swap" not in (folder / "sample.csv").read_text(encoding="utf-8")
    form = (folder / "form.html").read_text(encoding="utf-8")
    assert "<b>&" not in form and "&lt;b&gt;&amp;" in form and "Export CSV" in form
    assert main(["annotate", str(run_dir), "--per-recipe", "5", "--controls", "2", "--seed", "4", "--force"]) == 0
    assert [r["item"] for r in read_sheet(folder / "sample.csv")] == [r["item"] for r in rows]
    assert read_sheet(folder / "sample.csv") != rows  # another seed, another order


def test_imported_sheet_gives_validated_rates_with_wilson_intervals(run_dir: Path, capsys) -> None:
    assert main(["annotate", str(run_dir), "--per-recipe", "6", "--controls", "2"]) == 0
    folder = run_dir / "annotation"
    key = json.loads((folder / "key.json").read_text(encoding="utf-8"))
    rows = read_sheet(folder / "sample.csv")
    pairs = [r for r in rows if not key["items"][r["item"]]["control"]]
    valid_items = {r["item"] for r in pairs[::2]}
    for row in rows:
        control = key["items"][row["item"]]["control"]
        valid = control or row["item"] in valid_items
        row.update(sentiment_kept="yes", meaning_kept="yes" if valid else "no", fluency="5" if valid else "2")
    rows[-1].update(sentiment_kept="", meaning_kept="", fluency="")  # left blank: not judged
    judged = [r for r in pairs if r is not rows[-1]]
    valid = sum(r["item"] in valid_items for r in judged)
    sheet = write_sheet(run_dir.parent / "filled.csv", rows)
    assert main(["annotate", str(run_dir), "--import", str(sheet)]) == 0, capsys.readouterr().err
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    recipe = summary["validation"]["recipes"]["tiny-swap"]
    assert recipe["annotated"] == len(judged) and recipe["valid"] == valid
    assert recipe["share_valid"] == pytest.approx(valid / len(judged))
    assert recipe["share_valid_ci95"] == pytest.approx(list(wilson(valid, len(judged))))
    for name, metrics in summary["metrics"]["checkpoints"].items():
        attack = metrics["recipes"]["tiny-swap"]
        checked = recipe["checkpoints"][name]
        share = valid / len(judged)
        assert checked["success_rate"]["value"] == pytest.approx(attack["success_rate"]["value"] * share)
        examples = attack["accuracy_under_attack"]["n"]
        expected = (attack["failed"] + attack["succeeded"] * (1 - share)) / examples
        assert checked["accuracy_under_attack"]["value"] == pytest.approx(expected)
        low, high = checked["accuracy_under_attack"]["ci95"]
        assert low <= expected <= high
    controls = summary["validation"]["controls"]
    assert controls["passed"] == controls["judged"] >= 1
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "## Human validation" in report and "validated accuracy under attack" in report
    assert "Human validation" in (run_dir / "report.html").read_text(encoding="utf-8")
    # The report keeps the validation when re-rendered from the directory alone.
    assert main(["report", str(run_dir)]) == 0
    assert "## Human validation" in (run_dir / "report.md").read_text(encoding="utf-8")


def test_bad_sheets_give_one_line_errors(run_dir: Path, capsys) -> None:
    assert main(["annotate", str(run_dir), "--per-recipe", "3", "--controls", "1"]) == 0
    rows = read_sheet(run_dir / "annotation" / "sample.csv")
    for row in rows:
        row.update(sentiment_kept="yes", meaning_kept="yes", fluency="4")
    capsys.readouterr()
    cases = {
        "columns": ([{k: v for k, v in r.items() if k != "fluency"} for r in rows], "lacks the column(s) fluency"),
        "ids": ([rows[0] | {"item": "i9999"}], "item 'i9999' is not in this run's annotation sample"),
        "value": ([rows[0] | {"fluency": "7"}], "fluency '7' is not 1-5"),
        "flag": ([rows[0] | {"meaning_kept": "maybe"}], "meaning_kept 'maybe' is not yes or no"),
        "twice": ([rows[0], rows[0]], "is judged twice"),
    }
    for name, (content, message) in cases.items():
        sheet = write_sheet(run_dir.parent / f"{name}.csv", content)
        assert main(["annotate", str(run_dir), "--import", str(sheet)]) == 2, name
        error = capsys.readouterr().err.strip()
        assert message in error and len(error.splitlines()) == 1, (name, error)
    latin = run_dir.parent / "latin.csv"
    latin.write_bytes("item,text_a,text_b,sentiment_kept,meaning_kept,fluency\ni0001,caf\xe9,x,yes,yes,5\n".encode("latin-1"))
    assert main(["annotate", str(run_dir), "--import", str(latin)]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err
    assert not (run_dir / "annotation" / "filled.csv").exists()
    assert main(["annotate", str(run_dir)]) == 2
    assert "already holds a sample: pass --force" in capsys.readouterr().err


def test_sample_of_one_checkpoint_validates_that_checkpoint_alone(run_dir: Path, capsys) -> None:
    assert main(["annotate", str(run_dir), "--checkpoint", "nope"]) == 2
    error = capsys.readouterr().err.strip()
    assert "--checkpoint 'nope' is not in this run" in error and len(error.splitlines()) == 1
    assert main(["annotate", str(run_dir), "--per-recipe", "50", "--controls", "1", "--checkpoint", "tiny-seed1"]) == 0
    folder = run_dir / "annotation"
    key = json.loads((folder / "key.json").read_text(encoding="utf-8"))
    pairs = [i for i in key["items"].values() if not i["control"]]
    assert key["checkpoints"] == ["tiny-seed1"] and pairs
    assert {i["checkpoint"] for i in pairs} == {"tiny-seed1"}
    assert len(pairs) == sum(s["checkpoint"] == "tiny-seed1" for s in successes(run_dir))
    rows = read_sheet(folder / "sample.csv")
    for row in rows:
        row.update(sentiment_kept="yes", meaning_kept="yes", fluency="5")
    assert main(["annotate", str(run_dir), "--import", str(write_sheet(run_dir.parent / "filled.csv", rows))]) == 0
    validation = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["validation"]
    assert validation["checkpoints"] == ["tiny-seed1"]
    assert all(set(r["checkpoints"]) <= {"tiny-seed1"} for r in validation["recipes"].values())
    assert "successes of tiny-seed1" in (run_dir / "report.md").read_text(encoding="utf-8")
