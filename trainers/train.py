"""`train(config)`: fine-tune a classifier with one strategy and save the best-on-dev checkpoint + card."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PrinterCallback,
    ProgressCallback,
    TrainingArguments,
    enable_full_determinism,
    set_seed,
)

from robust_eval.core import console, resources
from robust_eval.core.data import Dataset, load_dataset
from robust_eval.core.errors import RobustEvalError
from robust_eval.core.outputs import check_output_dir
from trainers.augment import augmented
from trainers.callbacks import BestOnDev, EpochClock, TrainingProgress
from trainers.card import write_card
from trainers.config import TrainConfig
from trainers.outcome import TrainingData, TrainingOutcome
from trainers.trainer import AdversarialTrainer

SPLITS = ("train", "dev", "test")


class EncodedTexts(torch.utils.data.Dataset):
    """Tokenised examples (padding is left to the collator, per batch)."""

    def __init__(self, dataset: Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int) -> None:
        texts = [example.text for example in dataset.examples]
        self.features = tokenizer(texts, truncation=True, max_length=max_length) if texts else {}
        self.labels = [example.label for example in dataset.examples]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = {key: values[index] for key, values in self.features.items()}
        item["labels"] = self.labels[index]
        return item


def load_training_data(config: TrainConfig) -> TrainingData:
    """The splits named by the config, cut to `config.limit` examples each when set."""
    splits = {name: load_dataset(config.split_spec(name)).head(config.limit or None) for name in SPLITS}
    for name, split in splits.items():
        if not split.examples:
            raise RobustEvalError(f"{name} set '{split.name}' has no examples: check --{name}-data")
        if split.label_names != splits["train"].label_names:
            raise RobustEvalError(
                f"{name} set '{split.name}' has labels {split.label_names}, the training set "
                f"{splits['train'].label_names}: use splits of one dataset"
            )
    return TrainingData(**splits)


def base_model_dir(name: str) -> Path:
    """A cached encoder by name ('minilm', 'mpnet'); otherwise a local checkpoint directory."""
    if name in resources.ENCODERS:
        return resources.require(name)
    path = Path(name)
    if not (path / "config.json").is_file():
        raise RobustEvalError(f"model '{name}' is not a checkpoint directory with config.json: pass a "
                              f"directory or one of {', '.join(resources.ENCODERS)}")
    return path


def load_base(config: TrainConfig, label_names: Sequence[str]) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The base encoder with a classification head for `label_names` (fresh when the sizes differ)."""
    path = base_model_dir(config.model)
    id2label = dict(enumerate(label_names))
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=len(label_names), id2label=id2label, label2id={v: k for k, v in id2label.items()},
            ignore_mismatched_sizes=True, use_safetensors=True,
        )
    except OSError as error:
        raise RobustEvalError(f"cannot load model '{path}' (safetensors weights required): {error}") from None
    tokenizer = AutoTokenizer.from_pretrained(path)
    return model, tokenizer


def accuracy(prediction: Any) -> dict[str, float]:
    """Accuracy of an `EvalPrediction`."""
    logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
    return {"accuracy": float((np.argmax(logits, axis=-1) == prediction.label_ids).mean())}


def warmup_argument(ratio: float) -> dict[str, float]:
    """Warm-up as a fraction of the steps: `warmup_ratio` up to transformers 4.x, a float `warmup_steps` in 5.x."""
    if "warmup_ratio" in TrainingArguments.__dataclass_fields__:
        return {"warmup_ratio": ratio}
    return {"warmup_steps": ratio}


def training_arguments(config: TrainConfig, epochs: float) -> TrainingArguments:
    """Trainer arguments: evaluate every epoch, save nothing on the way (the best weights stay in memory).

    Without CUDA, runs on CPU and, under a distributed launcher, data-parallel over gloo.
    """
    on_cuda = torch.cuda.is_available()
    return TrainingArguments(
        output_dir=config.output,
        num_train_epochs=epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.lr,
        weight_decay=config.weight_decay,
        **warmup_argument(config.warmup_ratio),
        max_grad_norm=config.max_grad_norm,
        lr_scheduler_type="linear",
        bf16=config.bf16 and on_cuda,
        use_cpu=not on_cuda,
        ddp_backend="gloo" if not on_cuda and int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        eval_strategy="epoch",
        save_strategy="no",
        logging_strategy="steps",
        logging_steps=config.logging_steps,
        report_to="none",
        seed=config.seed,
        disable_tqdm=not config.progress,
        dataloader_num_workers=0,
    )


def build_trainer(config: TrainConfig, data: TrainingData) -> AdversarialTrainer:
    """The trainer of a run, with its `BestOnDev` and `EpochClock` callbacks attached."""
    if config.deterministic:
        enable_full_determinism(config.seed, warn_only=True)
    else:
        set_seed(config.seed)
    strategy = config.strategy()
    model, tokenizer = load_base(config, data.label_names)
    epochs = strategy.data_epochs(config.epochs)
    trainer = AdversarialTrainer(
        model=model,
        args=training_arguments(config, epochs),
        train_dataset=EncodedTexts(data.train, tokenizer, config.max_length),
        eval_dataset=EncodedTexts(data.dev, tokenizer, config.max_length),
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        compute_metrics=accuracy,
        callbacks=[BestOnDev(), EpochClock()],
        strategy=strategy,
    )
    if not console.verbose():  # one bar and the dev accuracy per epoch, not the Trainer's bars and dictionaries
        for chatty in (PrinterCallback, ProgressCallback):
            trainer.remove_callback(chatty)
        if config.progress:
            trainer.add_callback(TrainingProgress())
    return trainer


def callback(trainer: AdversarialTrainer, kind: type) -> Any:
    """The trainer's callback of class `kind`."""
    return next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, kind))


def train(config: TrainConfig, data: TrainingData | None = None) -> TrainingOutcome:
    """Train with `config`, keep the best-on-dev weights, report test accuracy, save checkpoint + card."""
    if not config.output:
        raise RobustEvalError("no output directory: pass --output DIR")
    check_output_dir(Path(config.output), "--output")
    data = augmented(data if data is not None else load_training_data(config), config.augment, config.augment_rules)
    trainer = build_trainer(config, data)
    started = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - started
    best, clock = callback(trainer, BestOnDev), callback(trainer, EpochClock)
    model = trainer.accelerator.unwrap_model(trainer.model)
    best.restore(model)
    test = trainer.evaluate(EncodedTexts(data.test, trainer.processing_class, config.max_length),
                            metric_key_prefix="test")
    outcome = TrainingOutcome(
        output_dir=Path(config.output),
        dev_accuracy=best.best_accuracy,
        test_accuracy=test["test_accuracy"],
        best_epoch=best.best_epoch,
        train_seconds=train_seconds,
        epoch_seconds=clock.seconds,
        batches=trainer.state.global_step,
        optimizer_steps=trainer.state.global_step * trainer.strategy.optimizer_steps_per_batch,
        dev_history=best.history,
    )
    if trainer.is_world_process_zero():
        outcome.output_dir.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(outcome.output_dir, safe_serialization=True)
        trainer.processing_class.save_pretrained(outcome.output_dir)
        write_card(outcome, config, data, trainer.strategy)
    return outcome


def end_distributed() -> None:
    """Close the process group of a data-parallel launch before the interpreter exits (its communication
    threads otherwise abort the process at exit); nothing to do in a single process."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
