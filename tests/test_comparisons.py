"""Paired comparisons of methods and of temperature-scaled checkpoints, over synthetic records whose
differences are known; rendered into summary.json, report.md, report.html and the console."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from robust_eval.core.calibration import calibrated_name
from robust_eval.core.errors import RobustEvalError
from robust_eval.experiment import parse_experiment
from robust_eval.pipeline.store import read_records, read_run
from robust_eval.report import experiment_baseline, render
from robust_eval.report.calibrated import calibrated_pairs
from robust_eval.report.comparisons import choose_baseline, run_methods
from robust_eval.report.summary import build_summary
from robust_eval.report.terminal import extra_tables

EXAMPLES = 150
SEEDS = 2
RECIPES = ("swap", "rules")
SHIFT = 20  # examples on which the adversarially trained method survives "swap" and vanilla does not
SHRINK = 30  # examples on which temperature scaling lets "swap" succeed against vanilla-seed0


def first_failures_fixed(base: np.ndarray, k: int) -> np.ndarray:
    """`base` with its first k False entries made True."""
    out = base.copy()
    out[np.flatnonzero(~out)[:k]] = True
    return out


def checkpoint_records(name: str, robust: dict[str, np.ndarray]) -> list[dict]:
    """Every example is classified correctly; each recipe fails (the example is robust) where `robust` says."""
    rows = []
    for index in range(EXAMPLES):
        example_id = f"x{index}"
        rows.append({"kind": "clean", "checkpoint": name, "recipe": "", "example_id": example_id, "index": index,
                     "label": 1, "prediction": 1, "confidence": 0.9, "probabilities": [0.1, 0.9]})
        for recipe, flags in robust.items():
            result = {"example_id": example_id, "status": "failed" if flags[index] else "succeeded",
                      "queries": 10, "perturbed_word_ratio": 0.1, "seconds": 0.01, "label": 1,
                      "original_text": f"a fine film {index}", "perturbed_text": f"a fine movie {index}",
                      "original_confidence": 0.9, "perturbed_prediction": 0 if not flags[index] else 1,
                      "perturbed_confidence": 0.4, "details": {}}
            rows.append({"kind": "attack", "checkpoint": name, "recipe": recipe, "example_id": example_id,
                         "index": index, "result": result})
    return rows


def entry(name: str, seed: int, group: str | None, **extra) -> dict:
    return {"name": name, "sha256": name, "seed": seed, "group": group, "label_names": ["negative", "positive"],
            **extra}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """adv and vanilla (SEEDS seeds each), other (one seed) and two temperature-scaled variants."""
    rng = np.random.default_rng(0)
    base = {recipe: rng.random(EXAMPLES) < 0.4 for recipe in RECIPES}
    entries, records = [], []
    for seed in range(SEEDS):
        entries.append(entry(f"adv-seed{seed}", seed, "adv"))
        records += checkpoint_records(f"adv-seed{seed}", {"swap": first_failures_fixed(base["swap"], SHIFT),
                                                          "rules": base["rules"]})
    for seed in range(SEEDS):
        entries.append(entry(f"vanilla-seed{seed}", seed, "vanilla"))
        records += checkpoint_records(f"vanilla-seed{seed}", base)
    entries.append(entry("other-seed0", 0, None))
    records += checkpoint_records("other-seed0", {r: rng.random(EXAMPLES) < 0.4 for r in RECIPES})
    weaker = base["swap"].copy()
    weaker[np.flatnonzero(weaker)[:SHRINK]] = False
    entries.append(entry(calibrated_name("vanilla-seed0"), 0, "vanilla", temperature=2.5,
                         calibrates="vanilla-seed0", ece_before=0.12, ece_after=0.03))
    records += checkpoint_records(calibrated_name("vanilla-seed0"), {"swap": weaker, "rules": base["rules"]})
    entries.append(entry(calibrated_name("adv-seed0"), 0, "adv", temperature=1.2, calibrates="adv-seed0",
                         ece_before=0.05, ece_after=0.04))
    records += checkpoint_records(calibrated_name("adv-seed0"), {"swap": first_failures_fixed(base["swap"], SHIFT),
                                                                 "rules": base["rules"]})
    return write_run(tmp_path / "run", entries, records)


def write_run(out: Path, entries: list[dict], records: list[dict]) -> Path:
    config = {
        "format": 1, "checkpoints": entries, "seed": 0,
        "data": {"name": "synthetic", "examples": EXAMPLES, "limit": None, "label_names": ["negative", "positive"],
                 "sha256": "0"},
        "recipes": [{"name": r, "params": {}} for r in RECIPES],
    }
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"config": config, "environment": {}}), encoding="utf-8")
    (out / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return out


def summary_of(run_dir: Path, baseline: str | None = None) -> dict:
    """The summary render() writes, as JSON reads it back (without drawing the figures)."""
    summary = build_summary(read_run(run_dir), read_records(run_dir), baseline)
    return json.loads(json.dumps(summary))


def against_baseline(summary: dict) -> dict[tuple[str, str], dict]:
    return {(c["first"], c["measure"]): c for c in summary["comparisons"]["against_baseline"]}


def test_methods_are_seed_groups_and_single_checkpoints_without_calibrated_variants(run_dir: Path) -> None:
    config = json.loads((run_dir / "run.json").read_text())["config"]
    methods = run_methods(config)
    assert [(m.name, len(m.checkpoints)) for m in methods] == [("adv", SEEDS), ("vanilla", SEEDS), ("other", 1)]
    assert choose_baseline(methods, None, strict=False) == "vanilla"
    assert choose_baseline(methods[:1] + methods[2:], None, strict=False) == "adv"
    assert choose_baseline(methods, "other", strict=True) == "other"
    assert choose_baseline(methods, "gone", strict=False) == "vanilla"
    with pytest.raises(RobustEvalError, match="baseline 'gone' is not a method of this run: choose from adv, vanilla, other"):
        choose_baseline(methods, "gone", strict=True)
    assert [(p.checkpoint, p.temperature) for p in calibrated_pairs(config)] == [("vanilla-seed0", 2.5), ("adv-seed0", 1.2)]


def test_each_method_against_vanilla_with_known_differences(run_dir: Path) -> None:
    summary = summary_of(run_dir)
    comparisons = summary["comparisons"]
    assert comparisons["baseline"] == "vanilla"
    assert comparisons["measures"] == ["clean", "swap", "rules", "worst case"]
    rows = against_baseline(summary)
    swap = rows[("adv", "swap")]
    assert (swap["second"], swap["difference"]["estimate"]) == ("vanilla", pytest.approx(SHIFT / EXAMPLES))
    assert swap["difference"]["ci95"][0] > 0
    assert swap["difference"]["bootstrap"] == "seeds and examples"
    assert rows[("adv", "clean")]["difference"]["ci95"] == [0.0, 0.0]  # identical clean predictions
    assert rows[("adv", "rules")]["difference"]["ci95"] == [0.0, 0.0]
    assert rows[("other", "swap")]["difference"]["seeds"] == [1, SEEDS]
    # every pair of methods, once, as later - earlier in method order
    pairs = {(c["first"], c["second"]) for c in comparisons["pairs"]}
    assert pairs == {("vanilla", "adv"), ("other", "adv"), ("other", "vanilla")}
    assert len(comparisons["pairs"]) == 3 * len(comparisons["measures"])
    flipped = next(c for c in comparisons["pairs"] if c["first"] == "vanilla" and c["measure"] == "swap")
    assert flipped["difference"]["estimate"] == pytest.approx(-SHIFT / EXAMPLES)
    assert flipped["difference"]["ci95"] == [-x for x in swap["difference"]["ci95"][::-1]]
    # seed groups leave the temperature-scaled variant out
    assert summary["metrics"]["groups"]["vanilla"]["checkpoints"] == ["vanilla-seed0", "vanilla-seed1"]


def test_comparisons_do_not_depend_on_the_other_methods(run_dir: Path, tmp_path: Path) -> None:
    full = against_baseline(summary_of(run_dir))[("adv", "swap")]
    run = json.loads((run_dir / "run.json").read_text())
    keep = [e for e in run["config"]["checkpoints"] if e["name"] != "other-seed0"]
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    smaller = write_run(tmp_path / "smaller", keep, [r for r in records if r["checkpoint"] != "other-seed0"])
    assert against_baseline(summary_of(smaller))[("adv", "swap")] == full


def test_single_checkpoints_use_the_paired_bootstrap_over_examples(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    base = {r: rng.random(EXAMPLES) < 0.5 for r in RECIPES}
    records = checkpoint_records("vanilla-seed0", base)
    records += checkpoint_records("freelb-seed0", {"swap": first_failures_fixed(base["swap"], 7), "rules": base["rules"]})
    out = write_run(tmp_path / "single", [entry("vanilla-seed0", 0, None), entry("freelb-seed0", 0, None)], records)
    files = render(out)
    swap = against_baseline(json.loads(files.summary.read_text()))[("freelb", "swap")]["difference"]
    assert swap["bootstrap"] == "examples" and swap["seeds"] == [1, 1]
    assert swap["estimate"] == pytest.approx(7 / EXAMPLES)
    assert "| freelb − vanilla | 1 / 1 | examples |" in (out / "report.md").read_text()


def test_baseline_from_the_render_option_and_the_experiment_file(run_dir: Path) -> None:
    with pytest.raises(RobustEvalError, match="baseline 'nope' is not a method"):
        render(run_dir, baseline="nope")
    assert experiment_baseline(run_dir) is None
    (run_dir / "experiment.toml").write_text('baseline = "other"\n', encoding="utf-8")
    assert experiment_baseline(run_dir) == "other"
    assert summary_of(run_dir, "other")["comparisons"]["baseline"] == "other"
    assert ("vanilla", "swap") in against_baseline(summary_of(run_dir, "other"))
    assert summary_of(run_dir, "yopo")["comparisons"]["baseline"] == "vanilla"  # an experiment part without it
    files = render(run_dir, baseline="adv")
    assert json.loads(files.summary.read_text())["comparisons"]["baseline"] == "adv"
    assert "## Paired differences against adv" in files.markdown.read_text()


def test_experiment_file_baseline_must_name_a_method() -> None:
    text = 'name = "tiny"\n{}data = "mr"\nseeds = [0]\nrecipes = ["wordnet-swap"]\n[methods.vanilla]\n[methods.freelb]\n'
    assert parse_experiment(text.format('baseline = "freelb"\n'), "exp.toml").methods
    with pytest.raises(RobustEvalError, match="'baseline' 'yopo' is not a method: choose from vanilla, freelb"):
        parse_experiment(text.format('baseline = "yopo"\n'), "exp.toml")


def test_temperature_scaling_check_flags_shrinking_robustness(run_dir: Path) -> None:
    checks = {c["pair"]["checkpoint"]: c for c in summary_of(run_dir)["calibration"]}
    vanilla = checks["vanilla-seed0"]
    assert vanilla["flagged"]
    assert (vanilla["pair"]["ece_before"], vanilla["pair"]["ece_after"]) == (0.12, 0.03)
    rows = {row["measure"]: row for row in vanilla["measures"]}
    assert list(rows) == ["swap", "rules", "worst case"]
    assert rows["swap"]["calibrated"] == pytest.approx(rows["swap"]["original"] - SHRINK / EXAMPLES)
    assert rows["swap"]["difference"]["estimate"] == pytest.approx(-SHRINK / EXAMPLES)
    assert rows["swap"]["difference"]["bootstrap"] == "examples"
    assert rows["swap"]["shrinks"] and not rows["rules"]["shrinks"]
    assert not checks["adv-seed0"]["flagged"]
    assert all(row["difference"]["ci95"] == [0.0, 0.0] for row in checks["adv-seed0"]["measures"])


def test_calibrated_variant_of_an_unknown_checkpoint_is_refused(tmp_path: Path) -> None:
    records = checkpoint_records("a@calibrated", {r: np.ones(EXAMPLES, dtype=bool) for r in RECIPES})
    out = write_run(tmp_path / "orphan", [entry("a@calibrated", 0, None, temperature=2.0, calibrates="a")], records)
    with pytest.raises(RobustEvalError, match="calibrates 'a', which is not in this run"):
        render(out)


def test_tables_in_markdown_html_and_console(run_dir: Path) -> None:
    files = render(run_dir)
    markdown = files.markdown.read_text()
    assert "## Paired differences against vanilla (percentage points)" in markdown
    assert "| adv − vanilla | 2 / 2 | seeds and examples | +0.0 [0.0, 0.0] | **+13.3 [" in markdown
    assert "### Between the other methods (percentage points)" in markdown and "| other − adv |" in markdown
    assert "## Temperature scaling (over-confidence check)" in markdown
    assert "| vanilla-seed0 | 2.500 | 0.120 | 0.030 | swap |" in markdown
    assert "**Flagged** (robustness shrinks with temperature scaling): vanilla-seed0." in markdown
    html = files.html.read_text()
    assert "<h2>Paired differences against vanilla</h2>" in html and "<strong>+13.3 [" in html
    assert "<strong>Flagged</strong>" in html
    console = Console(record=True, width=250)
    for table in extra_tables(json.loads(files.summary.read_text())):
        console.print(table)
    text = console.export_text()
    assert "paired differences against vanilla" in text and "adv − vanilla" in text and "+13.3 [" in text
    assert "temperature scaling" in text and "vanilla-seed0" in text and "yes" in text


def test_one_method_has_no_comparisons(tmp_path: Path) -> None:
    records = checkpoint_records("solo", {r: np.ones(EXAMPLES, dtype=bool) for r in RECIPES})
    out = write_run(tmp_path / "solo", [entry("solo", 0, None)], records)
    summary = json.loads(render(out).summary.read_text())
    assert summary["comparisons"] is None and summary["calibration"] == []
    assert extra_tables(summary) == []
    assert "Paired differences" not in (out / "report.md").read_text()
