"""The training strategies. They share one `EmbeddingPerturbation` and differ only in their inner loop.

Every strategy turns one batch into forward / backward passes through a `Passes` object (implemented by
`trainers.trainer.AdversarialTrainer`), which owns mixed precision, gradient-accumulation scaling,
distributed gradient sync and the optimizer. How `adv_steps` is counted, per strategy:

| strategy | `steps` means | passes per batch | optimizer steps per batch | passes over the data |
|---|---|---|---|---|
| vanilla | unused | 1 | 1 | epochs |
| pgd | K ascent steps | K + 1 | 1 | epochs |
| freeat | m replays; delta carried across batches | m | m | ceil(epochs / m) |
| freeat-batch | m replays; delta restarted on every batch | m | m | ceil(epochs / m) |
| freelb | K passes in total (as FreeLB's Hugging Face code; its fairseq code counts 1 + K) | K | 1 | epochs |
| yopo | m full passes, each followed by n = `inner_steps` delta updates through the embedding module | m (+ (m - 1)(n - 1) embedding-module reruns) | 1 | epochs |

Passes that are not the last one to produce parameter gradients run under `passes.sync(final=False)`,
so data-parallel training all-reduces once per optimizer step.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import ClassVar, Mapping, Protocol

import torch

from robust_eval.core.errors import RobustEvalError
from trainers.first_layer import FirstLayerCall
from trainers.perturbation import CarriedDelta, EmbeddingPerturbation
from trainers.replay import DropoutReplay

Batch = Mapping[str, torch.Tensor]
INNER_LR = ("divided", "full")
_EPOCH_TOLERANCE = 1e-9  # epochs / m within rounding error of a whole number is that number


class Passes(Protocol):
    """What a strategy may do with the model for one batch."""

    hidden_size: int

    def mask(self, inputs: Batch) -> torch.Tensor:
        """The attention mask (batch, seq): 1 on real tokens, 0 on padding."""

    def loss(self, inputs: Batch, delta: torch.Tensor | None = None) -> torch.Tensor:
        """Forward pass on word embeddings + delta (plain inputs when delta is None); the model's loss."""

    def first_layer_loss(self, inputs: Batch, delta: torch.Tensor) -> tuple[torch.Tensor, FirstLayerCall]:
        """`loss` at delta, with the embedding module's call in that pass recorded (YOPO's first layer)."""

    def backward(self, loss: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
        """Backpropagate weight * loss into the parameter gradients; the detached loss to log."""

    def sync(self, final: bool) -> AbstractContextManager:
        """Context for one pass: non-final passes skip the data-parallel gradient all-reduce."""

    def replay(self) -> DropoutReplay:
        """Capture the random state so every pass of this batch draws the same dropout masks."""

    def optimizer_step(self) -> None:
        """Clip, step the optimizer and the scheduler, zero the gradients (FreeAT's inner steps)."""


class Strategy(ABC):
    """One batch -> passes. `steps`, `inner_steps` and `inner_lr` (YOPO) are as in the module table."""

    name: ClassVar[str]
    needs_first_layer: ClassVar[bool] = False

    def __init__(self, perturbation: EmbeddingPerturbation, steps: int = 1, inner_steps: int = 1,
                 inner_lr: str = "divided") -> None:
        if steps < 1 or inner_steps < 1:
            raise RobustEvalError(f"--adv-steps and --adv-inner-steps must be >= 1, got {steps} and {inner_steps}")
        if inner_lr not in INNER_LR:
            raise RobustEvalError(f"unknown --adv-inner-lr '{inner_lr}': choose one of {', '.join(INNER_LR)}")
        self.perturbation = perturbation
        self.steps = steps
        self.inner_steps = inner_steps
        self.inner_lr = inner_lr

    @property
    def passes_per_batch(self) -> int:
        """Full forward / backward passes per batch (the cost model)."""
        return self.steps

    @property
    def optimizer_steps_per_batch(self) -> int:
        """Optimizer steps taken for each batch."""
        return 1

    def data_epochs(self, epochs: float) -> float:
        """Passes over the training set for a run of `epochs` (FreeAT: whole passes, fewer)."""
        return epochs

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
    ascends delta. Delta is initialised once and carried across batches as in the paper (a
    `CarriedDelta`: one slot per batch row and token position, cut to each batch's shape). The trainer
    takes the m-th step. `data_epochs` = ceil(epochs / m) whole passes over the training set, as the
    authors' code rounds up, so every example is seen.
    """

    name = "freeat"

    def __init__(self, perturbation: EmbeddingPerturbation, steps: int = 1, inner_steps: int = 1,
                 inner_lr: str = "divided") -> None:
        super().__init__(perturbation, steps, inner_steps, inner_lr)
        self.carried = CarriedDelta(perturbation)

    @property
    def optimizer_steps_per_batch(self) -> int:
        return self.steps

    def data_epochs(self, epochs: float) -> float:
        return float(math.ceil(epochs / self.steps - _EPOCH_TOLERANCE))

    def step(self, passes: Passes, inputs: Batch) -> torch.Tensor:
        mask = passes.mask(inputs)
        delta = self._begin(mask, passes.hidden_size)
        logged = torch.zeros((), device=mask.device)
        for replay in range(self.steps):
            logged = logged + passes.backward(passes.loss(inputs, delta)) / self.steps
            if replay == self.steps - 1:
                break
            grad = delta.grad
            passes.optimizer_step()
            delta = self.perturbation.update(delta, grad, mask)
        self._end(delta, mask)
        return logged

    def _begin(self, mask: torch.Tensor, hidden: int) -> torch.Tensor:
        """The batch's first delta: the carried one."""
        return self.carried.take(mask, hidden)

    def _end(self, delta: torch.Tensor, mask: torch.Tensor) -> None:
        """The last replay's ascent step, carried to the next batch."""
        self.carried.keep(self.perturbation.update(delta, delta.grad, mask), mask)


class FreeATBatch(FreeAT):
    """FreeAT with delta restarted on every batch (fresh init, m - 1 ascent steps within the batch)."""

    name = "freeat-batch"

    def _begin(self, mask: torch.Tensor, hidden: int) -> torch.Tensor:
        return self.perturbation.init(mask, hidden)

    def _end(self, delta: torch.Tensor, mask: torch.Tensor) -> None:
        """Nothing: the delta ends with its batch."""


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
                loss, call = self.full_pass(passes, inputs, delta)
                logged = logged + passes.backward(loss, 1.0 / self.steps)
            if not final:
                delta = self.next_delta(call, delta, mask)
        return logged

    def full_pass(self, passes: Passes, inputs: Batch, delta: torch.Tensor) -> tuple[torch.Tensor, FirstLayerCall | None]:
        """One full pass's loss at delta, and what `next_delta` needs of the pass (nothing here)."""
        return passes.loss(inputs, delta), None

    def next_delta(self, call: FirstLayerCall | None, delta: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The delta for the next pass: one ascent step from the pass's delta gradient."""
        return self.perturbation.update(delta, delta.grad, mask)


class YOPO(FreeLB):
    """YOPO-m-n (Zhang et al., NeurIPS 2019) with the embedding module as first layer, as FreeLB compares it.

    Each of the m full passes backpropagates loss / m (parameter gradients accumulate over the m passes, as
    FreeLB) and yields p = dL/d(embedding-module output). Then n updates of delta go through the embedding
    module alone (word + position + type embeddings, LayerNorm, dropout; `trainers.first_layer`) with p
    fixed: each ascends along p^T d(module output)/d(delta) at the current delta and projects. The first of
    the n needs no rerun: it is the delta gradient of the full pass itself (same delta, same dropout mask).
    Inner steps are adv_lr / n each by default (`inner_lr="divided"`: delta moves about as far per full pass
    as FreeLB's, so at one adv_lr the two differ only in how the step is taken) or adv_lr each
    (`inner_lr="full"`); the FreeLB paper tried both. Every pass and inner step of a batch uses one dropout
    mask.
    """

    name = "yopo"
    needs_first_layer = True

    @property
    def inner_scale(self) -> float:
        """Each inner step as a fraction of adv_lr."""
        return 1.0 / self.inner_steps if self.inner_lr == "divided" else 1.0

    def full_pass(self, passes: Passes, inputs: Batch, delta: torch.Tensor) -> tuple[torch.Tensor, FirstLayerCall]:
        """The pass's loss, with its call of the embedding module recorded."""
        return passes.first_layer_loss(inputs, delta)

    def next_delta(self, call: FirstLayerCall, delta: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The n inner updates of delta after a full pass, with that pass's p."""
        p = call.output.grad
        delta = self.perturbation.update(delta, delta.grad, mask, self.inner_scale)
        for _ in range(self.inner_steps - 1):
            delta = self.inner_step(call, delta, p, mask)
        return delta

    def inner_step(self, call: FirstLayerCall, delta: torch.Tensor, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """One update through the embedding module alone: rerun, vector-Jacobian product with p, ascend, project."""
        return self.perturbation.update(delta, call.delta_gradient(delta, p), mask, self.inner_scale)


STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (Vanilla, KPGD, FreeAT, FreeATBatch, FreeLB, YOPO)
}


def make_strategy(method: str, perturbation: EmbeddingPerturbation, steps: int = 1, inner_steps: int = 1,
                  inner_lr: str = "divided") -> Strategy:
    """The strategy registered under `method`."""
    try:
        cls = STRATEGIES[method]
    except KeyError:
        raise RobustEvalError(f"unknown method '{method}': choose one of {', '.join(STRATEGIES)}") from None
    return cls(perturbation, steps, inner_steps, inner_lr)
