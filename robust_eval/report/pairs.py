"""Adversarial pairs for the report: original and perturbed text split into changed / unchanged words.

Shown text is made safe to look at: control, format (bidirectional overrides, zero-width characters),
line-separator and surrogate characters become visible escapes such as `\u202e` (`visible`), so "evil"
can never display as "live" and an invisible insertion still shows. Long texts are shortened to the words
around the changes (`shorten`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Mapping, Sequence

SAMPLE_PER_RECIPE = 5
HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")
CONTEXT_WORDS = 12  # unchanged words kept on each side of a change
MAX_SHOWN_WORDS = 200  # words shown per side of a pair at most


def visible(text: str) -> str:
    """`text` with every control, format and separator character (but line breaks and tabs) written as a
    visible escape."""
    if text.isprintable():
        return text
    return "".join(_escape(c) if unicodedata.category(c) in HIDDEN_CATEGORIES and c not in "\n\t" else c for c in text)


def _escape(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


@dataclass(frozen=True)
class Segment:
    """A run of words, marked when the attack changed it; `gap` > 0: that many words left out, shown as
    "… 40 words …". Plain text: templates escape it."""

    text: str
    changed: bool
    gap: int = 0

    @property
    def words(self) -> int:
        return self.gap or len(self.text.split(" "))


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
    """Word-level diff of two texts (words made `visible`): which words of each side differ from the other."""
    left, right = [visible(w) for w in original.split()], [visible(w) for w in perturbed.split()]
    before: list[Segment] = []
    after: list[Segment] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(a=left, b=right, autojunk=False).get_opcodes():
        changed = op != "equal"
        if i2 > i1:
            before.append(Segment(" ".join(left[i1:i2]), changed))
        if j2 > j1:
            after.append(Segment(" ".join(right[j1:j2]), changed))
    return before, after


def shorten(segments: Sequence[Segment], context: int = CONTEXT_WORDS, limit: int = MAX_SHOWN_WORDS) -> list[Segment]:
    """Keep the changed words, `context` unchanged words on each side of them and at most `limit` words;
    the words left out become gap segments that say how many they are."""
    shown: list[Segment] = []
    for position, segment in enumerate(segments):
        if segment.changed:
            shown.append(segment)
            continue
        words = segment.text.split(" ")
        keep_head = context if position > 0 else 0  # words after the previous change
        keep_tail = context if position < len(segments) - 1 else 0  # words before the next change
        if len(words) <= keep_head + keep_tail + 1:
            shown.append(segment)
            continue
        if keep_head:
            shown.append(Segment(" ".join(words[:keep_head]), False))
        shown.append(_gap(len(words) - keep_head - keep_tail))
        if keep_tail:
            shown.append(Segment(" ".join(words[-keep_tail:]), False))
    return _cap(shown, limit)


def _gap(words: int) -> Segment:
    return Segment(f"… {words} word{'s' if words != 1 else ''} …", False, gap=words)


def _cap(segments: list[Segment], limit: int) -> list[Segment]:
    """The segments up to `limit` shown words, then one gap for all the rest."""
    kept: list[Segment] = []
    shown = 0
    for index, segment in enumerate(segments):
        words = 0 if segment.gap else segment.words
        if shown + words > limit:
            return kept + [_gap(sum(s.words for s in segments[index:]))]
        kept.append(segment)
        shown += words
    return kept


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
                record["checkpoint"], recipe, record["example_id"], shorten(original), shorten(perturbed), result["label"],
                result["original_confidence"], result["perturbed_prediction"], result["perturbed_confidence"],
                result["queries"],
            ))
    return pairs
