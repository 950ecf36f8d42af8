"""What one YOPO inner step costs against one full pass, on a trainer's model and one batch.

A full pass is YOPO's forward and backward through the whole model (parameter gradients included); an
inner step is `YOPO.inner_step`: the embedding module rerun at a new delta, its vector-Jacobian product
with p, ascent and projection. Both run in train mode, in the trainer's precision (bf16 autocast when it
trains in bf16), timed as the median of `repeats` runs after warm-up, with CUDA synchronised.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch

from robust_eval.core.errors import RobustEvalError
from trainers.strategies import YOPO, Batch
from trainers.trainer import AdversarialTrainer, TrainerPasses

WARMUP = 3


@dataclass(frozen=True)
class StepCost:
    """Median seconds of one full pass and of one inner step."""

    full_pass_seconds: float
    inner_step_seconds: float
    repeats: int

    @property
    def ratio(self) -> float:
        """Inner step / full pass."""
        return self.inner_step_seconds / self.full_pass_seconds


def yopo_step_cost(trainer: AdversarialTrainer, batch: Batch, repeats: int = 20) -> StepCost:
    """Time the trainer's YOPO strategy on `batch`; the model's gradients are cleared afterwards."""
    strategy = trainer.strategy
    if not isinstance(strategy, YOPO):
        raise RobustEvalError(f"the step cost is measured for yopo, not {strategy.name}")
    model = trainer.model
    model.train()
    passes = TrainerPasses(trainer, model, None)
    inputs = trainer._prepare_inputs(batch)
    mask = passes.mask(inputs)
    delta = strategy.perturbation.init(mask, passes.hidden_size)
    device = mask.device
    precision = torch.autocast(device.type, dtype=torch.bfloat16, enabled=trainer.args.bf16)

    def full_pass():
        loss, call = passes.first_layer_loss(inputs, delta)
        passes.backward(loss)
        return call

    with precision:
        call = full_pass()
        p = call.output.grad
        full = _median_seconds(full_pass, repeats, device)
        inner = _median_seconds(lambda: strategy.inner_step(call, delta, p, mask), repeats, device)
    model.zero_grad(set_to_none=True)
    return StepCost(full, inner, repeats)


def _median_seconds(work: Callable[[], object], repeats: int, device: torch.device) -> float:
    for _ in range(WARMUP):
        work()
    seconds = []
    for _ in range(repeats):
        _synchronize(device)
        started = time.perf_counter()
        work()
        _synchronize(device)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
