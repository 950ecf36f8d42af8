"""The perturbation delta added to the word-embedding output: init, ascent step and projection.

One object shared by every adversarial strategy (the geometry of MadryLab's `L2Step` / `LinfStep`, kept
apart from the loops that use it). Norms are per example over (sequence x hidden), and delta is exactly
zero on padding positions after every change. Formulas follow FreeLB (Zhu et al., ICLR 2020) and its
public code:

- init, l2:   U(-1, 1) * mask * init_mag / sqrt(len_i * hidden), len_i = real tokens of example i;
  init, linf: U(-init_mag, init_mag) * mask; init_mag = 0 starts from delta = 0.
- ascent, l2: delta + lr * g / max(||g||_2, 1e-8); linf: delta + lr * g / max(||g||_inf, 1e-8)
  (or lr * sign(g) with `sign_step`). Normalising makes the step independent of any loss scaling.
- projection: l2 rescales examples whose norm exceeds max_norm; linf clamps to [-max_norm, max_norm];
  max_norm = 0 means unbounded.

`CarriedDelta` keeps FreeAT's delta from one batch to the next (Shafahi et al., NeurIPS 2019).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from robust_eval.core.errors import RobustEvalError

NORMS = ("l2", "linf")
_TINY = 1e-8


@dataclass(frozen=True)
class EmbeddingPerturbation:
    """Init / ascend / project a padding-masked embedding perturbation of shape (batch, seq, hidden)."""

    norm: str = "l2"
    step_size: float = 0.03
    init_mag: float = 0.0
    max_norm: float = 0.0
    sign_step: bool = False

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise RobustEvalError(f"unknown perturbation norm '{self.norm}': choose one of {', '.join(NORMS)}")
        for name in ("step_size", "init_mag", "max_norm"):
            if getattr(self, name) < 0:
                raise RobustEvalError(f"perturbation {name} must be >= 0, got {getattr(self, name)}")

    def init(self, mask: torch.Tensor, hidden: int) -> torch.Tensor:
        """A fresh delta for a batch with attention `mask` (batch, seq); a leaf that requires grad."""
        weights = _expand(mask)
        shape = (*mask.shape, hidden)
        if self.init_mag == 0:
            delta = torch.zeros(shape, device=mask.device)
        elif self.norm == "l2":
            lengths = weights.sum(dim=(1, 2), keepdim=True).clamp(min=1)
            scale = self.init_mag / torch.sqrt(lengths * hidden)
            delta = torch.empty(shape, device=mask.device).uniform_(-1, 1) * weights * scale
        else:
            delta = torch.empty(shape, device=mask.device).uniform_(-self.init_mag, self.init_mag) * weights
        return self.project(delta, mask).requires_grad_()

    def ascend(self, delta: torch.Tensor, grad: torch.Tensor, mask: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """One normalised gradient-ascent step of `scale` x step_size (not projected)."""
        grad = grad.detach().float() * _expand(mask)
        if self.norm == "linf" and self.sign_step:
            direction = grad.sign()
        else:
            flat = grad.flatten(1)
            size = flat.norm(dim=1) if self.norm == "l2" else flat.abs().amax(dim=1)
            direction = grad / size.clamp(min=_TINY).view(-1, 1, 1)
        return delta.detach() + scale * self.step_size * direction

    def project(self, delta: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Delta moved into the norm ball (when bounded) and zeroed on padding."""
        delta = delta.detach() * _expand(mask)
        if self.max_norm == 0:
            return delta
        if self.norm == "linf":
            return delta.clamp(-self.max_norm, self.max_norm)
        size = delta.flatten(1).norm(dim=1).view(-1, 1, 1)
        return delta * torch.where(size > self.max_norm, self.max_norm / size.clamp(min=_TINY), 1.0)

    def update(self, delta: torch.Tensor, grad: torch.Tensor, mask: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """Ascend (a step of `scale` x step_size) then project: the next delta, a new leaf that requires grad."""
        return self.project(self.ascend(delta, grad, mask, scale), mask).requires_grad_()


class CarriedDelta:
    """FreeAT's delta over a whole run: initialised once, carried from each batch to the next.

    Shafahi et al. keep one perturbation the shape of a batch and slice it to each batch's rows. Text batches
    also differ in length, so there is one slot per (row, token position): each batch takes the slots of its
    rows and positions; a slot used for the first time is initialised by `EmbeddingPerturbation.init` with
    that batch. `keep` writes the batch's final delta back to the slots of its real tokens; slots under
    padding keep their value for the next batch that reaches them.
    """

    def __init__(self, perturbation: EmbeddingPerturbation) -> None:
        self.perturbation = perturbation
        self.values: torch.Tensor | None = None  # (rows, positions, hidden)
        self.used: torch.Tensor | None = None  # (rows, positions): the slot holds a carried value

    def take(self, mask: torch.Tensor, hidden: int) -> torch.Tensor:
        """The batch's starting delta (projected, zero on padding): a leaf that requires grad."""
        fresh = self.perturbation.init(mask, hidden).detach()
        self._extend(mask.shape, fresh)
        rows, length = mask.shape
        delta = torch.where(self.used[:rows, :length, None], self.values[:rows, :length], fresh)
        return self.perturbation.project(delta, mask).requires_grad_()

    def keep(self, delta: torch.Tensor, mask: torch.Tensor) -> None:
        """Store the batch's final delta in the slots of its real tokens."""
        delta = delta.detach().float()
        self._extend(mask.shape, delta)
        rows, length = mask.shape
        real = mask.bool()
        self.values[:rows, :length] = torch.where(real[..., None], delta, self.values[:rows, :length])
        self.used[:rows, :length] |= real

    def _extend(self, shape: torch.Size, like: torch.Tensor) -> None:
        """Grow the slots (unused, zero) to cover a batch of `shape` (rows, length)."""
        if self.values is None:
            self.values = like.new_zeros((0, 0, like.shape[-1]))
            self.used = torch.zeros((0, 0), dtype=torch.bool, device=like.device)
        rows, length = max(shape[0], self.values.shape[0]), max(shape[1], self.values.shape[1])
        if (rows, length) != tuple(self.values.shape[:2]):
            values = like.new_zeros((rows, length, like.shape[-1]))
            used = torch.zeros((rows, length), dtype=torch.bool, device=like.device)
            old_rows, old_length = self.values.shape[:2]
            values[:old_rows, :old_length] = self.values
            used[:old_rows, :old_length] = self.used
            self.values, self.used = values, used


def _expand(mask: torch.Tensor) -> torch.Tensor:
    """An attention mask (batch, seq) as float weights (batch, seq, 1)."""
    return mask.to(torch.float32).unsqueeze(-1)
