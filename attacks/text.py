"""The text being attacked: words plus the exact spacing and punctuation between them.

`AttackedText` splits a string into word tokens and the separators around them, so any rewrite
(a synonym swap, a rule that changes the number of words, an edited string) reconstructs a
naturally spaced sentence. Every derived text remembers which of its words differ from the
original (`modified`) and a human-readable list of the changes (`history`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

WORD_PATTERN = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")


def split_words(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Words and separators of `text`: `separators[i]` precedes `words[i]`; one extra trails the last word."""
    words: list[str] = []
    separators: list[str] = []
    position = 0
    for match in WORD_PATTERN.finditer(text):
        separators.append(text[position:match.start()])
        words.append(match.group())
        position = match.end()
    separators.append(text[position:])
    return tuple(words), tuple(separators)


def _merge_separators(left: str, right: str, at_start: bool, at_end: bool) -> str:
    """The separator left when the words between `left` and `right` are deleted (keeps punctuation)."""
    if at_start:
        return right.lstrip()
    if not left.strip():
        return right
    if not right.strip():
        return left.rstrip() if at_end else left
    return left.rstrip() + right.lstrip()


@dataclass(frozen=True, eq=False)
class AttackedText:
    """An immutable text with word-level edit operations.

    `modified` holds indices (into this text's `words`) of words that are not original words;
    `history` holds one description per applied change, e.g. "movie -> film".
    """

    words: tuple[str, ...]
    separators: tuple[str, ...]
    modified: frozenset[int] = frozenset()
    history: tuple[str, ...] = ()
    original_length: int = -1
    text: str = field(init=False)

    def __post_init__(self) -> None:
        parts = [sep + word for sep, word in zip(self.separators, self.words)]
        object.__setattr__(self, "text", "".join(parts) + self.separators[-1])
        if self.original_length < 0:
            object.__setattr__(self, "original_length", len(self.words))

    @classmethod
    def from_text(cls, text: str) -> "AttackedText":
        """Parse an original (unmodified) text."""
        words, separators = split_words(text)
        return cls(words, separators)

    def __len__(self) -> int:
        return len(self.words)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AttackedText) and self.text == other.text

    def __hash__(self) -> int:
        return hash(self.text)

    @property
    def perturbed_ratio(self) -> float:
        """Modified words relative to the length of the original text."""
        return len(self.modified) / max(self.original_length, 1)

    def replace_words(self, replacements: Mapping[int, str], note: str | None = None) -> "AttackedText":
        """Swap single words in place (same word count); `note` defaults to "old -> new" per word."""
        words = list(self.words)
        notes = []
        for index, new in replacements.items():
            notes.append(f"{words[index]} -> {new}")
            words[index] = new
        changed = {i for i in replacements if replacements[i] != self.words[i]}
        return AttackedText(
            tuple(words), self.separators, self.modified | changed,
            self.history + ((note,) if note else tuple(notes)), self.original_length,
        )

    def replace_span(self, start: int, end: int, new_words: Sequence[str], note: str | None = None) -> "AttackedText":
        """Replace `words[start:end]` by `new_words` (any length); separators inside the span become spaces."""
        if not 0 <= start <= end <= len(self.words):
            raise IndexError(f"span {start}:{end} outside a text of {len(self.words)} words")
        new_words = tuple(new_words)
        shift = len(new_words) - (end - start)
        words = self.words[:start] + new_words + self.words[end:]
        if new_words:
            inner = (" ",) * (len(new_words) - 1)
            separators = self.separators[: start + 1] + inner + self.separators[end:]
        else:
            merged = _merge_separators(self.separators[start], self.separators[end], start == 0, end == len(self.words))
            separators = self.separators[:start] + (merged,) + self.separators[end + 1:]
        modified = {i for i in self.modified if i < start} | {i + shift for i in self.modified if i >= end}
        old = self.words[start:end]
        modified |= {start + k for k, w in enumerate(new_words) if k >= len(old) or w != old[k]}
        default_note = f"{' '.join(old)} -> {' '.join(new_words)}".strip()
        return AttackedText(
            words, separators, frozenset(modified), self.history + (note or default_note,), self.original_length,
        )

    def delete_word(self, index: int) -> "AttackedText":
        """The text without `words[index]` (used for word-importance ranking)."""
        return self.replace_span(index, index + 1, ())

    def rewrite(self, new_text: str, note: str) -> "AttackedText":
        """Any string edit (e.g. appending "?"): modified words are found by aligning old and new words."""
        words, separators = split_words(new_text)
        matcher = difflib.SequenceMatcher(a=self.words, b=words, autojunk=False)
        kept_original: dict[int, int] = {}
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                kept_original[block.b + k] = block.a + k
        modified = {j for j in range(len(words)) if j not in kept_original or kept_original[j] in self.modified}
        return AttackedText(words, separators, frozenset(modified), self.history + (note,), self.original_length)

    def window(self, index: int, size: int) -> str:
        """`size` words centred on `index`, joined by spaces (for local similarity checks)."""
        start = max(0, min(index - size // 2, len(self.words) - size))
        return " ".join(self.words[start:start + size])
