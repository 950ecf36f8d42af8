"""The strategies on tiny random models: gradient identities, dropout replay on every replica device, and
end-to-end training of every strategy on every architecture with a loadable checkpoint. YOPO's first layer
and FreeAT's carried delta have their own files (test_yopo.py, test_freeat.py)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from robust_eval.core.victim import load_victim
from strategy_support import (LABELS, first_batch, gradients_after, make_trainer, recorded_step, same_gradients,
                              tiny_data)
from trainers.config import TrainConfig
from trainers.replay import DropoutReplay, replica_devices
from trainers.strategies import STRATEGIES
from trainers.train import train
from trainers.trainer import TrainerPasses

ARCHITECTURES = ("bert", "mpnet", "roberta", "distilbert")


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_freelb_one_pass_from_zero_equals_vanilla(arch: str, tiny_checkpoint, tmp_path: Path) -> None:
    trainer = make_trainer(tiny_checkpoint(arch), tmp_path)
    batch = first_batch(trainer)
    vanilla = gradients_after(trainer, batch, "vanilla")
    assert same_gradients(vanilla, gradients_after(trainer, batch, "freelb", steps=1, step_size=0.5))
    attacked = gradients_after(trainer, batch, "freelb", steps=2, step_size=0.5)
    assert not same_gradients(vanilla, attacked), "a real second pass at a non-zero delta must change the gradients"


def test_pgd_ascent_steps_leave_parameter_gradients_untouched(tiny_checkpoint, tmp_path: Path) -> None:
    trainer = make_trainer(tiny_checkpoint("bert"), tmp_path)
    batch = first_batch(trainer)
    passes = recorded_step(trainer, batch, method="pgd", steps=3, step_size=0.5, init_mag=0.2)
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
    passes = recorded_step(trainer, batch, method=method, steps=3, inner_steps=2, step_size=0.0, init_mag=0.0)
    assert len(passes.logits) == STRATEGIES[method](trainer.strategy.perturbation, 3).passes_per_batch
    for logits in passes.logits[1:]:
        assert torch.equal(logits, passes.logits[0])
    inputs = trainer._prepare_inputs(batch)
    with torch.no_grad():
        assert not torch.equal(trainer.model(**inputs).logits, trainer.model(**inputs).logits), \
            "dropout must be active in train mode, or the test proves nothing"


def test_replay_rewinds_the_cpu_generator_of_a_single_device_model() -> None:
    model = nn.Linear(2, 2)
    assert replica_devices(model, torch.device("cpu")) == [torch.device("cpu")]
    replay = DropoutReplay(replica_devices(model, torch.device("cpu")))
    first = torch.rand(5)
    replay.restore()
    assert torch.equal(torch.rand(5), first)


def test_replay_restores_the_generator_of_every_data_parallel_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    """nn.DataParallel runs a replica on each listed GPU, each drawing from its own generator: all are
    captured and restored (CUDA generators stood in for by per-device states, as this host has no GPU)."""
    generators = {0: torch.tensor([10]), 1: torch.tensor([20])}
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device: generators[device.index].clone())
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device: generators.__setitem__(device.index, state))
    parallel = nn.DataParallel(nn.Linear(2, 2))
    parallel.device_ids = [0, 1]  # what the wrapper holds on a host with two GPUs
    devices = replica_devices(parallel, torch.device("cuda", 0))
    assert devices == [torch.device("cuda", 0), torch.device("cuda", 1)]
    replay = DropoutReplay(devices)
    generators.update({0: torch.tensor([11]), 1: torch.tensor([21])})  # both replicas drew dropout masks
    replay.restore()
    assert [int(generators[index]) for index in (0, 1)] == [10, 20]


@pytest.mark.parametrize("arch, method", [(arch, method) for method in sorted(STRATEGIES) for arch in ARCHITECTURES
                                          if method != "freeat-batch" or arch == "bert"])
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
    return {"vanilla": 1, "pgd": 3, "freeat": 2, "freeat-batch": 2, "freelb": 2, "yopo": 2}[method]


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


@pytest.mark.parametrize("method", sorted(STRATEGIES))
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
