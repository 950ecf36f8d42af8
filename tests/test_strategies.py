"""The five strategies on tiny random models: gradient identities, dropout replay, FreeAT's step count,
and end-to-end training of every strategy on every architecture with a loadable checkpoint."""

from __future__ import annotations

import contextlib
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
import torch

from robust_eval.core.data import Dataset, Example
from robust_eval.core.victim import load_victim
from trainers.config import TrainConfig
from trainers.strategies import STRATEGIES, make_strategy
from trainers.trainer import AdversarialTrainer, TrainerPasses
from trainers.outcome import TrainingData
from trainers.train import build_trainer, train

ARCHITECTURES = ("bert", "mpnet", "roberta", "distilbert")
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


def make_trainer(checkpoint: Path, tmp_path: Path, train_size: int = 16, **options: Any) -> AdversarialTrainer:
    settings = dict(model=str(checkpoint), output=str(tmp_path / "out"), batch_size=8, epochs=1,
                    progress=False, logging_steps=1000)
    return build_trainer(TrainConfig(**{**settings, **options}), tiny_data(train_size))


def first_batch(trainer: AdversarialTrainer) -> dict[str, torch.Tensor]:
    batch = next(iter(trainer.get_train_dataloader()))
    assert (batch["attention_mask"] == 0).any(), "the batch must contain padding"
    return batch


def gradients_after(trainer: AdversarialTrainer, batch: dict[str, torch.Tensor], method: str,
                    **adv: Any) -> dict[str, torch.Tensor]:
    """Parameter gradients of one training step of `method`, from a fixed random state."""
    settings = {"steps": 1, "inner_steps": 1, **adv}
    perturbation = trainer.strategy.perturbation.__class__(
        norm="l2", step_size=settings.pop("step_size", 0.0), init_mag=settings.pop("init_mag", 0.0)
    )
    trainer.strategy = make_strategy(method, perturbation, **settings)
    trainer.model.zero_grad(set_to_none=True)
    torch.manual_seed(1234)
    trainer.training_step(trainer.model, batch)
    return {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_freelb_one_pass_from_zero_equals_vanilla(arch: str, tiny_checkpoint, tmp_path: Path) -> None:
    trainer = make_trainer(tiny_checkpoint(arch), tmp_path)
    batch = first_batch(trainer)
    vanilla = gradients_after(trainer, batch, "vanilla")
    freelb = gradients_after(trainer, batch, "freelb", steps=1, step_size=0.5)
    assert vanilla.keys() == freelb.keys() and len(vanilla) > 10
    for name in vanilla:
        assert torch.allclose(vanilla[name], freelb[name], atol=1e-6, rtol=1e-4), name
    attacked = gradients_after(trainer, batch, "freelb", steps=2, step_size=0.5)
    assert any(not torch.allclose(vanilla[n], attacked[n], atol=1e-6, rtol=1e-4) for n in vanilla), \
        "a real second pass at a non-zero delta must change the gradients"


class RecordingPasses(TrainerPasses):
    """TrainerPasses that record, at every forward pass, delta and whether any parameter has a gradient."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.deltas: list[torch.Tensor] = []
        self.had_gradients: list[bool] = []
        self.logits: list[torch.Tensor] = []
        self.rng_state: torch.Tensor | None = None

    def loss(self, inputs, delta=None):
        self.deltas.append(delta.detach().clone())
        self.had_gradients.append(any(p.grad is not None for p in self.model.parameters()))
        return super().loss(inputs, delta)

    def replay(self):
        self.rng_state = torch.get_rng_state()
        return super().replay()


def recorded_step(trainer: AdversarialTrainer, batch: dict[str, torch.Tensor], method: str, steps: int,
                  **perturbation: float) -> RecordingPasses:
    trainer.strategy = make_strategy(method, trainer.strategy.perturbation.__class__(**perturbation), steps, 2)
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


def test_pgd_ascent_steps_leave_parameter_gradients_untouched(tiny_checkpoint, tmp_path: Path) -> None:
    trainer = make_trainer(tiny_checkpoint("bert"), tmp_path)
    batch = first_batch(trainer)
    passes = recorded_step(trainer, batch, "pgd", 3, step_size=0.5, init_mag=0.2)
    assert len(passes.deltas) == 4
    assert passes.had_gradients == [False] * 4, "ascent passes must not write parameter gradients"
    assert not torch.equal(passes.deltas[0], passes.deltas[-1])
    adversarial = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}

    trainer.model.zero_grad(set_to_none=True)
    torch.set_rng_state(passes.rng_state)
    single = TrainerPasses(trainer, trainer.model, None)
    single.backward(single.loss(trainer._prepare_inputs(batch), passes.deltas[-1]))
    for name, grad in trainer.model.named_parameters():
        assert torch.allclose(grad.grad, adversarial[name], atol=1e-6, rtol=1e-4), name


@pytest.mark.parametrize("method", ["freelb", "pgd", "yopo"])
def test_passes_of_one_batch_share_dropout_masks(method: str, tiny_checkpoint, tmp_path: Path) -> None:
    trainer = make_trainer(tiny_checkpoint("bert"), tmp_path)
    batch = first_batch(trainer)
    passes = recorded_step(trainer, batch, method, 3, step_size=0.0, init_mag=0.0)
    assert len(passes.logits) == STRATEGIES[method](trainer.strategy.perturbation, 3).passes_per_batch
    for logits in passes.logits[1:]:
        assert torch.equal(logits, passes.logits[0])
    inputs = trainer._prepare_inputs(batch)
    with torch.no_grad():
        assert not torch.equal(trainer.model(**inputs).logits, trainer.model(**inputs).logits), \
            "dropout must be active in train mode, or the test proves nothing"


def test_freeat_takes_m_optimizer_steps_per_batch_over_epochs_divided_by_m(tiny_checkpoint, tmp_path: Path) -> None:
    trainer = make_trainer(tiny_checkpoint("bert"), tmp_path, method="freeat", adv_steps=3, epochs=3,
                           train_size=24, warmup_ratio=0.0)
    trainer.train()
    assert trainer.state.global_step == 3  # 24 examples / batch 8 = 3 batches, 3 epochs / m=3 = one pass
    assert trainer.state.epoch == pytest.approx(1.0)
    steps = {int(state["step"]) for state in trainer.optimizer.state.values()}
    assert steps == {9}
    assert trainer.lr_scheduler.get_last_lr()[0] == pytest.approx(0.0), "the schedule must span all 9 steps"


@pytest.mark.parametrize("method", sorted(STRATEGIES))
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_strategy_trains_every_architecture(arch: str, method: str, tiny_checkpoint, tmp_path: Path) -> None:
    output = tmp_path / "model"
    config = TrainConfig(method=method, model=str(tiny_checkpoint(arch)), output=str(output), epochs=1,
                         batch_size=8, lr=1e-3, adv_steps=2, adv_inner_steps=2, adv_init_mag=0.1,
                         adv_max_norm=0.5, progress=False, logging_steps=1000)
    before = load_victim(config.model).model.state_dict()
    outcome = train(config, tiny_data())
    assert sorted(p.name for p in output.iterdir() if p.suffix in {".safetensors", ".bin"}) == ["model.safetensors"]
    victim = load_victim(output)
    assert victim.label_names == LABELS
    assert victim.predict_proba(["the movie was good"]).shape == (1, 2)
    after = victim.model.state_dict()
    assert any(not torch.equal(before[k], after[k].cpu()) for k in before), "training must change the weights"
    card = json.loads((output / "training.json").read_text())
    assert card["method"] == method and card["seed"] == 0
    assert card["hyperparameters"]["adv_steps"] == 2
    assert card["dev_accuracy"] == outcome.dev_accuracy and 0 <= card["test_accuracy"] <= 1
    assert card["passes_per_batch"] == trainer_passes(method)
    assert card["data"]["train"]["examples"] == 16
    assert "# " + method in (output / "README.md").read_text()


def trainer_passes(method: str) -> int:
    """Passes per batch at adv_steps 2, from the table in trainers/strategies.py."""
    return {"vanilla": 1, "pgd": 3, "freeat": 2, "freelb": 2, "yopo": 2}[method]


def test_deterministic_option_turns_on_deterministic_kernels(tiny_checkpoint, tmp_path: Path) -> None:
    environment = dict(os.environ)  # the option sets CUBLAS_WORKSPACE_CONFIG and friends
    try:
        make_trainer(tiny_checkpoint("bert"), tmp_path)
        assert not torch.are_deterministic_algorithms_enabled()
        make_trainer(tiny_checkpoint("bert"), tmp_path, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)
        os.environ.clear()
        os.environ.update(environment)


@pytest.mark.parametrize("method", ["vanilla", "pgd", "freeat", "freelb", "yopo"])
def test_gradients_are_synchronised_once_per_optimizer_step(method: str, tiny_checkpoint, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Under data parallelism every backward outside `sync(final=False)` all-reduces: exactly one per
    optimizer step, the last before it."""
    events: list[str] = []
    held: list[bool] = []
    sync, backward, optimizer_step = TrainerPasses.sync, TrainerPasses.backward, TrainerPasses.optimizer_step

    @contextlib.contextmanager
    def recorded_sync(self: TrainerPasses, final: bool):
        held.append(not final)
        try:
            with sync(self, final):
                yield
        finally:
            held.pop()

    def recorded_backward(self: TrainerPasses, loss: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
        events.append("held" if any(held) else "synced")
        return backward(self, loss, weight)

    def recorded_step(self: TrainerPasses) -> None:
        events.append("step")
        optimizer_step(self)

    monkeypatch.setattr(TrainerPasses, "sync", recorded_sync)
    monkeypatch.setattr(TrainerPasses, "backward", recorded_backward)
    monkeypatch.setattr(TrainerPasses, "optimizer_step", recorded_step)
    trainer = make_trainer(tiny_checkpoint("bert"), tmp_path, method=method, adv_steps=3)
    trainer.create_optimizer_and_scheduler(num_training_steps=2)  # FreeAT steps inside the batch
    trainer.training_step(trainer.model, first_batch(trainer))
    events.append("step")  # the Trainer's own step after `training_step`
    between_steps = " ".join(events).split("step")[:-1]
    assert len(between_steps) == trainer.strategy.optimizer_steps_per_batch
    for backwards in between_steps:
        assert backwards.split()[-1] == "synced" and backwards.split().count("synced") == 1, events
    assert events.count("held") == {"freelb": 2, "yopo": 2}.get(method, 0)
