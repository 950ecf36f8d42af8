"""Integration-test support: the real MiniLM with a seeded random classification head and short MR sentences."""

from __future__ import annotations

from robust_eval.core import resources
from robust_eval.core.data import Example, load_dataset


def seeded_victim_and_examples(count: int):
    """MiniLM with a classification head drawn with seed 0 (easy to flip) and the first `count` MR test
    sentences of 6 to 12 words, labelled as that victim predicts them."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from robust_eval.core.victim import HFVictim

    torch.manual_seed(0)
    path = resources.require("minilm")
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2, use_safetensors=True)
    victim = HFVictim(model, AutoTokenizer.from_pretrained(path), device="cpu")
    texts = [e.text for e in load_dataset("mr:test").examples if 6 <= len(e.text.split()) <= 12][:count]
    labels = victim.predict_proba(texts).argmax(axis=1)
    return victim, [Example(f"t{i}", text, int(label)) for i, (text, label) in enumerate(zip(texts, labels))]
