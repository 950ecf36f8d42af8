"""Test support for the training-strategy tests: tiny review splits, a trainer on a tiny checkpoint, and
passes that record what every forward pass saw."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch

from robust_eval.core.data import Dataset, Example
from trainers.config import TrainConfig
from trainers.outcome import TrainingData
from trainers.perturbation import EmbeddingPerturbation
from trainers.strategies import make_strategy
from trainers.train import build_trainer
from trainers.trainer import AdversarialTrainer, TrainerPasses

LABELS = ["negative", "positive"]
TONE = {0: "bad awful dull boring terrible".split(), 1: "good great fun charming superb".split()}


def split(name: str, size: int, seed: int) -> Dataset:
    """`size` short reviews of mixed lengths (so batches have padding), labels alternating."""
    rng = random.Random(seed)
    examples = []
    for i in range(size):
        words = ["the", "movie", "was", rng.choice(TONE[i % 2])] + ["really"] * rng.randrange(6)
        examples.append(Example(f"{name}-{i}", " ".join(words), i % 2))
    return Dataset(name, examples, LABELS)


def tiny_data(train_size: int = 16) -> TrainingData:
    return TrainingData(split("train", train_size, 0), split("dev", 8, 1), split("test", 8, 2))


def make_trainer(checkpoint: Path, tmp_path: Path, train_size: int = 16, data: TrainingData | None = None,
                 **options: Any) -> AdversarialTrainer:
    settings = dict(model=str(checkpoint), output=str(tmp_path / "out"), batch_size=8, epochs=1,
                    progress=False, logging_steps=1000)
    return build_trainer(TrainConfig(**{**settings, **options}), data or tiny_data(train_size))


def first_batch(trainer: AdversarialTrainer) -> dict[str, torch.Tensor]:
    batch = next(iter(trainer.get_train_dataloader()))
    assert (batch["attention_mask"] == 0).any(), "the batch must contain padding"
    return batch


def use_strategy(trainer: AdversarialTrainer, method: str, steps: int = 1, inner_steps: int = 1,
                 inner_lr: str = "divided", **perturbation: Any) -> None:
    """Give the trainer a fresh `method` strategy with an l2 perturbation of the given settings."""
    trainer.strategy = make_strategy(method, EmbeddingPerturbation(**perturbation), steps, inner_steps, inner_lr)


def gradients_after(trainer: AdversarialTrainer, batch: dict[str, torch.Tensor], method: str,
                    **settings: Any) -> dict[str, torch.Tensor]:
    """Parameter gradients of one training step of `method`, from a fixed random state."""
    settings = {"step_size": 0.0, "init_mag": 0.0, **settings}
    use_strategy(trainer, method, **settings)
    trainer.model.zero_grad(set_to_none=True)
    torch.manual_seed(1234)
    trainer.training_step(trainer.model, batch)
    return {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}


def same_gradients(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> bool:
    assert first.keys() == second.keys() and len(first) > 10
    return all(torch.allclose(first[n], second[n], atol=1e-6, rtol=1e-4) for n in first)


class RecordingPasses(TrainerPasses):
    """TrainerPasses that record, at every forward pass, delta and whether any parameter has a gradient."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.deltas: list[torch.Tensor] = []
        self.had_gradients: list[bool] = []
        self.logits: list[torch.Tensor] = []
        self.rng_state: torch.Tensor | None = None

    def _note(self, delta: torch.Tensor) -> None:
        self.deltas.append(delta.detach().clone())
        self.had_gradients.append(any(p.grad is not None for p in self.model.parameters()))

    def loss(self, inputs, delta=None):
        self._note(delta)
        return super().loss(inputs, delta)

    def first_layer_loss(self, inputs, delta):
        self._note(delta)
        return super().first_layer_loss(inputs, delta)

    def replay(self):
        self.rng_state = torch.get_rng_state()
        return super().replay()


def recorded_step(trainer: AdversarialTrainer, batch: dict[str, torch.Tensor], **strategy: Any) -> RecordingPasses:
    """One `strategy.step` on `batch` (the strategy as given, or the trainer's own when none is given)."""
    if strategy:
        use_strategy(trainer, **strategy)
    trainer.model.train()
    trainer.model.zero_grad(set_to_none=True)
    inputs = trainer._prepare_inputs(batch)
    passes = RecordingPasses(trainer, trainer.model, None)
    hook = trainer.model.register_forward_hook(lambda m, i, out: passes.logits.append(out.logits.detach().clone()))
    try:
        trainer.strategy.step(passes, inputs)
    finally:
        hook.remove()
    return passes
