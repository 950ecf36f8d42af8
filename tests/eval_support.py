"""Test support for the runner and report tests: a small real recipe over the tiny vocabulary, datasets.

`tiny-swap` is registered through the public `@recipe` decorator, exactly like a third-party recipe, and
composes real engine parts (word swap, modification limits, greedy word-importance search).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Callable, Sequence

import pytest

from attacks.constraints.modification import MaxModificationRate, RepeatModification
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.search import GreedyWordImportance
from attacks.transformations import WordSwap
from conftest import build_tiny_checkpoint
from robust_eval import cli
from robust_eval.eval_cli import register

SUBSTITUTES = {
    "good": ["great", "fine", "nice", "bad"],
    "great": ["good", "excellent", "superb", "poor"],
    "bad": ["poor", "awful", "weak", "good"],
    "boring": ["dull", "slow", "bland", "fun"],
    "fun": ["funny", "charming", "boring"],
    "movie": ["film", "story"],
    "film": ["movie", "story"],
    "loved": ["liked", "enjoyed", "hated"],
    "hated": ["disliked", "dislike", "loved"],
    "acting": ["cast", "script"],
    "really": ["quite", "very", "rather"],
    "very": ["really", "quite", "too"],
}
TEXTS = [
    ("this movie is very good and fun", "positive"),
    ("a boring film with bad acting", "negative"),
    ("i loved the story and the cast", "positive"),
    ("the plot was dull and the script weak", "negative"),
    ("really great acting by all the actors", "positive"),
    ("i hated this awful mess of a movie", "negative"),
    ("a charming and funny film", "positive"),
    ("too slow , too long and never fun", "negative"),
    ("the director did a superb job", "positive"),
    ("bland characters and a poor story", "negative"),
    ("what a wonderful movie it was", "positive"),
    ("it is not good , it is terrible", "negative"),
]


class TinySwap(WordSwap):
    """Substitutes from a fixed table over the tiny test vocabulary."""

    def substitutes(self, word: str) -> list[str]:
        return list(SUBSTITUTES.get(word, []))


@recipe("tiny-swap", paper="test recipe over the tiny vocabulary")
def tiny_swap(max_candidates: int = 4, max_rate: float = 0.5) -> Attack:
    """Word swaps from a fixed table, greedy word importance by deletion."""
    return Attack(
        UntargetedClassification(),
        TinySwap(max_candidates),
        [RepeatModification(), MaxModificationRate(max_rate)],
        GreedyWordImportance("delete"),
    )


def write_dataset(path: Path, copies: int = 1) -> Path:
    """A JSONL dataset of the tiny texts (repeated `copies` times with distinct ids)."""
    lines = [json.dumps({"text": text, "label": label}) for _ in range(copies) for text, label in TEXTS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fit_tiny(directory: Path, steps: int = 20, seed: int = 0) -> Path:
    """Fine-tune a tiny checkpoint on TEXTS for a few steps (so attacks have something to flip); save it."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForSequenceClassification.from_pretrained(directory)
    names = [model.config.id2label[i] for i in range(model.config.num_labels)]
    batch = tokenizer([t for t, _ in TEXTS], padding=True, return_tensors="pt")
    labels = torch.tensor([names.index(label) for _, label in TEXTS])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model(**batch, labels=labels).loss.backward()
        optimizer.step()
    model.save_pretrained(directory, safe_serialization=True)
    return directory


@pytest.fixture(scope="session")
def fitted_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two tiny classifiers fitted on TEXTS with seeds 0 and 1, named `tiny-seed0` / `tiny-seed1`."""
    root = tmp_path_factory.mktemp("fitted")
    return [fit_tiny(build_tiny_checkpoint(root / f"tiny-seed{s}", seed=s), seed=s) for s in (0, 1)]


@pytest.fixture
def copy_checkpoints(fitted_checkpoints: list[Path], tmp_path: Path) -> Callable[[], list[Path]]:
    """Fresh copies of the fitted checkpoints (for tests that write into a checkpoint directory)."""

    def make() -> list[Path]:
        return [Path(shutil.copytree(c, tmp_path / "copies" / c.name)) for c in fitted_checkpoints]

    return make


def full_app():
    """The `robust-eval` app with the evaluation commands registered."""
    app = BUILD_APP()
    register(app)
    return app


BUILD_APP = cli.build_app


def main(argv: Sequence[str]) -> int:
    """Exit status of `robust-eval ARGV` run through the real entry point, evaluation commands registered."""
    cli.build_app = full_app
    try:
        cli.main(list(argv))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    finally:
        cli.build_app = BUILD_APP
    return 0


def strip_timings(value):
    """A copy of records / summaries without wall-clock fields (the only ones allowed to differ)."""
    if isinstance(value, dict):
        return {k: strip_timings(v) for k, v in value.items() if k not in ("seconds", "seconds_per_example")}
    if isinstance(value, list):
        return [strip_timings(v) for v in value]
    return value


def float_differences(left, right, where: str = "") -> list[str]:
    """Where two timing-free records / summaries differ, floats compared to 1e-6: runs that batch the examples
    differently (shards, workers, a resume) may round a probability differently in its last bits on a CPU."""
    if isinstance(left, float) and isinstance(right, float):
        return [] if math.isclose(left, right, rel_tol=1e-6, abs_tol=1e-9) else [f"{where}: {left} != {right}"]
    if isinstance(left, dict) and isinstance(right, dict) and left.keys() == right.keys():
        return [d for k in left for d in float_differences(left[k], right[k], f"{where}.{k}")]
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [d for i, (a, b) in enumerate(zip(left, right)) for d in float_differences(a, b, f"{where}[{i}]")]
    return [] if left == right else [f"{where}: {left!r} != {right!r}"]


HOSTILE = " <b>&"


def hostile_run(checkpoints: Sequence[Path], tmp_path: Path, capsys) -> Path:
    """A finished tiny evaluation (tiny-swap) whose texts all end in markup, so every pair shown holds some."""
    data = tmp_path / "reviews.jsonl"
    rows = [(text + HOSTILE, label) for text, label in TEXTS]
    data.write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in rows), encoding="utf-8")
    out = tmp_path / "run"
    args = ["evaluate", "--data", str(data), "--recipe", "tiny-swap", "--out", str(out), "--no-progress"]
    for checkpoint in checkpoints:
        args += ["--model", str(checkpoint)]
    assert main(args) == 0, capsys.readouterr().err
    return out
