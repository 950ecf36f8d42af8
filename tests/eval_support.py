"""Test support for the runner and report tests: a small real recipe over the tiny vocabulary, datasets.

`tiny-swap` is registered through the public `@recipe` decorator, exactly like a third-party recipe, and
composes real engine parts (word swap, modification limits, greedy word-importance search).
"""

from __future__ import annotations

import json
from pathlib import Path

from attacks.constraints.modification import MaxModificationRate, RepeatModification
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.search import GreedyWordImportance
from attacks.transformations import WordSwap

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


def fit_tiny(directory: Path, steps: int = 60, seed: int = 0) -> Path:
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
