"""The five training strategies. They share one `EmbeddingPerturbation` and differ only in their inner loop.

Every strategy turns one batch into forward / backward passes through a `Passes` object (implemented by
`trainers.trainer.AdversarialTrainer`), which owns mixed precision, gradient-accumulation scaling,
distributed gradient sync and the optimizer. How `adv_steps` is counted, per strategy:

| strategy | `steps` means | passes per batch | optimizer steps per batch |
|---|---|---|---|
| vanilla | unused | 1 | 1 |
| pgd | K ascent steps | K + 1 | 1 |
| freeat | m replays | m (epochs are divided by m) | m |
| freelb | K passes in total (as FreeLB's Hugging Face code; its fairseq code counts 1 + K) | K | 1 |
| yopo | m outer passes (n = `inner_steps` delta updates each) | m | 1 |

Passes that are not the last one to produce parameter gradients run under `passes.sync(final=False)`,
so data-parallel training all-reduces once per optimizer step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import ClassVar, Mapping, Protocol

import torch

from robust_eval.core.errors import RobustEvalError
from trainers.perturbation import EmbeddingPerturbation
from trainers.replay import DropoutReplay

Batch = Mapping[str, torch.Tensor]


class Passes(Protocol):
    """What a strategy may do with the model for one batch."""

    hidden_size: int

    def mask(self, inputs: Batch) -> torch.Tensor:
        """The attention mask (batch, seq): 1 on real tokens, 0 on padding."""

    def loss(self, inputs: Batch, delta: torch.Tensor | None = None) -> torch.Tensor:
        """Forward pass on word embeddings + delta (plain inputs when delta is None); the model's loss."""

    def backward(self, loss: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
        """Backpropagate weight * loss into the parameter gradients; the detached loss to log."""

    def sync(self, final: bool) -> AbstractContextManager:
        """Context for one pass: non-final passes skip the data-parallel gradient all-reduce."""

    def replay(self) -> DropoutReplay:
        """Capture the random state so every pass of this batch draws the same dropout masks."""

    def optimizer_step(self) -> None:
        """Clip, step the optimizer and the scheduler, zero the gradients (FreeAT's inner steps)."""


class Strategy(ABC):
    """One batch -> passes. `steps` and `inner_steps` are counted as in the module table."""

    name: ClassVar[str]

    def __init__(self, perturbation: EmbeddingPerturbation, steps: int = 1, inner_steps: int = 1) -> None:
        if steps < 1 or inner_steps < 1:
            raise RobustEvalError(f"--adv-steps and --adv-inner-steps must be >= 1, got {steps} and {inner_steps}")
        self.perturbation = perturbation
        self.steps = steps
        self.inner_steps = inner_steps

    @property
    def passes_per_batch(self) -> int:
        """Forward / backward passes per batch (the cost model)."""
        return self.steps

    @property
    def optimizer_steps_per_batch(self) -> int:
        """Optimizer steps taken for each batch; epochs are divided by it."""
        return 1

    @abstractmethod
    def step(self, passes: Passes, inputs: Batch) -> torch.Tensor:
        """Run the inner loop on one batch, leaving the parameter gradients for the trainer's step."""

    def _start(self, passes: Passes, inputs: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's mask and initial delta."""
        mask = passes.mask(inputs)
        return mask, self.perturbation.init(mask, passes.hidden_size)


class Vanilla(Strategy):
    """Plain fine-tuning: one clean pass."""

    name = "vanilla"

    @property
    def passes_per_batch(self) -> int:
        return 1

    def step(self, passes: Passes, inputs: Batch) -> torch.Tensor:
        return passes.backward(passes.loss(inputs))


class KPGD(Strategy):
    """K-PGD (Madry et al., ICLR 2018): K ascent steps on delta alone, then one training pass at delta_K.

    Ascent gradients come from `torch.autograd.grad` w.r.t. delta, so parameter gradients come from the
    final adversarial loss only (the ascent backward also skips weight-gradient work).
    """

    name = "pgd"

    @property
    def passes_per_batch(self) -> int:
        return self.steps + 1

    def step(self, passes: Passes, inputs: Batch) -> torch.Tensor:
        mask, delta = self._start(passes, inputs)
        replay = passes.replay()
        for _ in range(self.steps):
            with passes.sync(final=False):
                replay.restore()
                (grad,) = torch.autograd.grad(passes.loss(inputs, delta), delta)
            delta = self.perturbation.update(delta, grad, mask)
        replay.restore()
        return passes.backward(passes.loss(inputs, delta.detach()))


class FreeAT(Strategy):
    """Free adversarial training (Shafahi et al., NeurIPS 2019): the batch is replayed m times.

    Each replay computes parameter and delta gradients in one backward, takes an optimizer step, then
    ascends delta, which is carried to the next replay. Delta restarts with each batch because padded
    lengths differ between batches. The trainer takes the m-th step; run epochs / m for vanilla's cost.
    """

    name = "freeat"

    @property
    def optimizer_steps_per_batch(self) -> int:
        return self.steps

    def step(self, passes: Passes, inputs: Batch) -> torch.Tensor:
        mask, delta = self._start(passes, inputs)
        logged = torch.zeros((), device=mask.device)
        for replay in range(self.steps):
            logged = logged + passes.backward(passes.loss(inputs, delta)) / self.steps
            if replay == self.steps - 1:
                break
            grad = delta.grad
            passes.optimizer_step()
            delta = self.perturbation.update(delta, grad, mask)
        return logged


class FreeLB(Strategy):
    """FreeLB (Zhu et al., ICLR 2020): K passes, each backpropagating loss / K at the current delta.

    Parameter gradients accumulate over the K passes (their average), and the same backward gives the
    delta gradient for the next ascent step; one optimizer step per batch.
    """

    name = "freelb"

    def step(self, passes: Passes, inputs: Batch) -> torch.Tensor:
        mask, delta = self._start(passes, inputs)
        replay = passes.replay()
        logged = torch.zeros((), device=mask.device)
        for t in range(self.steps):
            final = t == self.steps - 1
            with passes.sync(final):
                replay.restore()
                logged = logged + passes.backward(passes.loss(inputs, delta), 1.0 / self.steps)
            if not final:
                delta = self._ascend(delta, delta.grad, mask)
        return logged

    def _ascend(self, delta: torch.Tensor, grad: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The delta for the next pass."""
        return self.perturbation.update(delta, grad, mask)


class YOPO(FreeLB):
    """YOPO-m-n (Zhang et al., NeurIPS 2019): m full passes, each followed by n cheap delta updates.

    Each pass backpropagates loss / m (parameter gradients accumulate over the m passes, as FreeLB) and
    yields p = dL/d(word-embedding output). The n inner updates reuse p through the first layer. Here the
    "first layer" is the addition embeds + delta, which is linear with identity Jacobian, so p does not
    change between inner steps: the n updates amount to one step of n * adv_lr (up to projection), and
    YOPO-m-n equals FreeLB-m with a larger step. YOPO's saving needs a non-linear first layer.
    """

    name = "yopo"

    def _ascend(self, delta: torch.Tensor, grad: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for _ in range(self.inner_steps):
            delta = self.perturbation.update(delta, grad, mask)
        return delta


STRATEGIES: dict[str, type[Strategy]] = {cls.name: cls for cls in (Vanilla, KPGD, FreeAT, FreeLB, YOPO)}


def make_strategy(
    method: str, perturbation: EmbeddingPerturbation, steps: int = 1, inner_steps: int = 1
) -> Strategy:
    """The strategy registered under `method`."""
    try:
        cls = STRATEGIES[method]
    except KeyError:
        raise RobustEvalError(f"unknown method '{method}': choose one of {', '.join(STRATEGIES)}") from None
    return cls(perturbation, steps, inner_steps)
