"""SEAR-augmented training data (Ribeiro et al., ACL 2018, Section 5).

The paper fixes the bugs its rules expose by retraining on data augmented with the rules: every rule is
applied to every training sentence it matches, and each rewrite is added as a new example with the
original's label. `--augment sears` does this with the rule set `--augment-rules` (default: the shipped
mined rules); duplicates of existing texts are not added, and dev / test are never touched.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from attacks.sears.rules import Rule, load_rules
from robust_eval.core.data import Dataset, Example
from trainers.outcome import TrainingData

AUGMENTATIONS = ("", "sears")


def sear_augmented(dataset: Dataset, rules: Sequence[Rule]) -> Dataset:
    """`dataset` plus one copy per (example, rule that applies), labelled like the example it rewrites."""
    examples = list(dataset.examples)
    seen = {example.text for example in examples}
    for example in dataset.examples:
        for number, rule in enumerate(rules):
            rewritten = rule.apply(example.text)
            if rewritten is not None and rewritten not in seen:
                seen.add(rewritten)
                examples.append(Example(f"{example.id}~sear{number}", rewritten, example.label))
    added = len(examples) - len(dataset.examples)
    return replace(dataset, name=f"{dataset.name} + {added} SEAR rewrites", examples=examples)


def augmented(data: TrainingData, augment: str, rules: str) -> TrainingData:
    """The training splits with the chosen augmentation applied to `train` ('' leaves them as they are)."""
    if not augment:
        return data
    return replace(data, train=sear_augmented(data.train, load_rules(rules)))
