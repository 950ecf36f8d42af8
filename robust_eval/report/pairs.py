"""Adversarial pairs for the report: original and perturbed text split into changed / unchanged words."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Mapping, Sequence

SAMPLE_PER_RECIPE = 5


@dataclass(frozen=True)
class Segment:
    """A run of words, marked when the attack changed it. Plain text: templates escape it."""

    text: str
    changed: bool


@dataclass(frozen=True)
class Pair:
    """One successful attack, ready to show."""

    checkpoint: str
    recipe: str
    example_id: str
    original: list[Segment]
    perturbed: list[Segment]
    label: int
    original_confidence: float
    perturbed_prediction: int
    perturbed_confidence: float
    queries: int


def diff_segments(original: str, perturbed: str) -> tuple[list[Segment], list[Segment]]:
    """Word-level diff of two texts: which words of each side differ from the other side."""
    left, right = original.split(), perturbed.split()
    before: list[Segment] = []
    after: list[Segment] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(a=left, b=right, autojunk=False).get_opcodes():
        changed = op != "equal"
        if i2 > i1:
            before.append(Segment(" ".join(left[i1:i2]), changed))
        if j2 > j1:
            after.append(Segment(" ".join(right[j1:j2]), changed))
    return before, after


def sample_pairs(
    records: Sequence[Mapping[str, Any]], checkpoints: Sequence[str], recipes: Sequence[str],
    per_recipe: int = SAMPLE_PER_RECIPE,
) -> list[Pair]:
    """The first successful attacks of each recipe (checkpoint order, then dataset order)."""
    successes = sorted(
        (r for r in records if r["kind"] == "attack" and r["result"]["status"] == "succeeded"),
        key=lambda r: (checkpoints.index(r["checkpoint"]), r.get("index", 0), r["example_id"]),
    )
    pairs = []
    for recipe in recipes:
        for record in [r for r in successes if r["recipe"] == recipe][:per_recipe]:
            result = record["result"]
            original, perturbed = diff_segments(result["original_text"], result["perturbed_text"])
            pairs.append(Pair(
                record["checkpoint"], recipe, record["example_id"], original, perturbed, result["label"],
                result["original_confidence"], result["perturbed_prediction"], result["perturbed_confidence"],
                result["queries"],
            ))
    return pairs
