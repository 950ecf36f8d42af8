"""The training card saved inside every checkpoint: `training.json` (machine-readable) and `README.md`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import torch

from robust_eval.core.versions import library_versions
from trainers.strategies import Strategy

if TYPE_CHECKING:
    from trainers.config import TrainConfig
    from trainers.outcome import TrainingData, TrainingOutcome

CARD_JSON = "training.json"


def card_record(outcome: TrainingOutcome, config: TrainConfig, data: TrainingData, strategy: Strategy) -> dict[str, Any]:
    """Everything needed to judge or repeat the run."""
    return {
        "method": config.method,
        "hyperparameters": config.to_dict(),
        "seed": config.seed,
        "data": {name: {"spec": split.name, "examples": len(split.examples)}
                 for name, split in (("train", data.train), ("dev", data.dev), ("test", data.test))},
        "label_names": data.label_names,
        "dev_accuracy": outcome.dev_accuracy,
        "test_accuracy": outcome.test_accuracy,
        "best_epoch": outcome.best_epoch,
        "dev_history": outcome.dev_history,
        "train_seconds": outcome.train_seconds,
        "epoch_seconds": outcome.epoch_seconds,
        "passes_per_batch": strategy.passes_per_batch,
        "optimizer_steps_per_batch": strategy.optimizer_steps_per_batch,
        "batches": outcome.batches,
        "optimizer_steps": outcome.optimizer_steps,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "versions": library_versions(),
    }


def render_readme(record: dict[str, Any]) -> str:
    """A short Hugging Face model card (Markdown with YAML front matter)."""
    hp = record["hyperparameters"]
    rows = "\n".join(f"| {key} | {value} |" for key, value in hp.items())
    return f"""---
library_name: transformers
pipeline_tag: text-classification
tags: [robust-eval, adversarial-training, {record['method']}]
---
# {record['method']} fine-tuned classifier

Trained with `robust-eval train --method {record['method']}` from `{hp['model']}` on `{record['data']['train']['spec']}`
({record['data']['train']['examples']} examples), seed {record['seed']}; the checkpoint is the best of each epoch's
dev accuracy (`{record['data']['dev']['spec']}`, epoch {record['best_epoch']:.2f}).

| metric | value |
|---|---|
| dev accuracy | {record['dev_accuracy']:.4f} |
| test accuracy (`{record['data']['test']['spec']}`) | {record['test_accuracy']:.4f} |
| training wall time | {record['train_seconds']:.1f} s on {record['device']} |
| forward/backward passes per batch | {record['passes_per_batch']} |
| optimizer steps per batch | {record['optimizer_steps_per_batch']} |

Labels: {', '.join(record['label_names'])}.

## Hyper-parameters
| name | value |
|---|---|
{rows}

Library versions: {', '.join(f'{k} {v}' for k, v in record['versions'].items())}.
Full record: `{CARD_JSON}`.
"""


def write_card(outcome: TrainingOutcome, config: TrainConfig, data: TrainingData, strategy: Strategy) -> None:
    record = card_record(outcome, config, data, strategy)
    (outcome.output_dir / CARD_JSON).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    (outcome.output_dir / "README.md").write_text(render_readme(record), encoding="utf-8")
