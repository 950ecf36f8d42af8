"""YOPO's first layer in a Hugging Face encoder: the embedding module, recorded in a full pass, rerun alone.

The embedding module is the one that owns `get_input_embeddings()` (BERT's `BertEmbeddings`, MPNet's,
RoBERTa's, DistilBERT's `Embeddings`, ...): word + position (+ token-type) embeddings, LayerNorm, dropout.
The perturbation enters it through the model's `inputs_embeds` (word embeddings + delta). During a full
pass `FirstLayer.record` notes how the model calls the module, its output (whose gradient after the
backward is YOPO's p), the random state and the autocast setting just before the call;
`FirstLayerCall.delta_gradient` then reruns the module alone at another delta, with the same arguments,
dropout mask and precision, and returns the vector-Jacobian product p^T d(output)/d(delta) (parameter
gradients are never touched).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import nn

from robust_eval.core.errors import RobustEvalError
from trainers.replay import DropoutReplay


def embedding_module(model: nn.Module) -> nn.Module:
    """The sub-module owning the word embeddings, below the encoder (not the whole base model)."""
    words = model.get_input_embeddings()
    whole = {id(model), id(getattr(model, "base_model", model))}
    owners = [m for m in model.modules() if id(m) not in whole and any(c is words for c in m.children())]
    if len(owners) != 1:
        raise RobustEvalError(
            f"yopo needs the embedding module of {type(model).__name__} (a sub-module owning get_input_embeddings(), "
            "before the encoder layers) and found none: train this model with freelb or pgd"
        )
    return owners[0]


class FirstLayerCall:
    """One call of the embedding module during a full pass, to be rerun at other deltas."""

    def __init__(self, module: nn.Module, words: torch.Tensor, inputs_embeds: torch.Tensor) -> None:
        self.module = module
        self.words = words.detach()
        self._inputs_embeds = inputs_embeds
        self._autocast: tuple[bool, torch.dtype] | None = None
        self._args: list[Any] | None = None
        self._kwargs: dict[str, Any] = {}
        self._slot: int | str | None = None
        self._replay: DropoutReplay | None = None
        self.output: torch.Tensor | None = None

    def before(self, module: nn.Module, args: tuple, kwargs: dict[str, Any]) -> None:
        """Forward pre-hook: the first call that receives our `inputs_embeds` is the one recorded."""
        if self._args is not None:
            return
        slots: list[int | str] = [*range(len(args)), *kwargs]
        values = [*args, *kwargs.values()]
        found = [slot for slot, value in zip(slots, values) if value is self._inputs_embeds]
        if found:
            self._args, self._kwargs, self._slot = list(args), dict(kwargs), found[0]
            self._replay = DropoutReplay([self.words.device])
            kind = self.words.device.type
            self._autocast = (torch.is_autocast_enabled(kind), torch.get_autocast_dtype(kind))

    def after(self, module: nn.Module, args: tuple, output: Any) -> None:
        """Forward hook: keep the output of the recorded call, with its gradient retained for p."""
        if self._args is not None and self.output is None and isinstance(output, torch.Tensor):
            output.retain_grad()
            self.output = output

    @property
    def recorded(self) -> bool:
        return self.output is not None

    def rerun(self, delta: torch.Tensor) -> torch.Tensor:
        """The module's output at word embeddings + `delta`, same arguments and dropout mask as recorded."""
        args, kwargs = list(self._args), dict(self._kwargs)
        inputs = self.words + delta.to(self.words.dtype)
        if isinstance(self._slot, int):
            args[self._slot] = inputs
        else:
            kwargs[self._slot] = inputs
        self._replay.restore()
        enabled, dtype = self._autocast
        with torch.autocast(self.words.device.type, dtype=dtype, enabled=enabled):
            return self.module(*args, **kwargs)

    def delta_gradient(self, delta: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """p^T d(output)/d(delta) at `delta` (a vector-Jacobian product through this module only)."""
        delta = delta.detach().requires_grad_()
        output = self.rerun(delta)
        (grad,) = torch.autograd.grad((output.float() * p.float()).sum(), delta)
        return grad


class FirstLayer:
    """The embedding module of `model` (found once), recorded around full passes."""

    def __init__(self, model: nn.Module) -> None:
        self.module = embedding_module(model)

    @contextmanager
    def record(self, words: torch.Tensor, inputs_embeds: torch.Tensor) -> Iterator[FirstLayerCall]:
        """Record the module's call that receives `inputs_embeds` (= `words` + delta) during the block."""
        call = FirstLayerCall(self.module, words, inputs_embeds)
        handles = [self.module.register_forward_pre_hook(call.before, with_kwargs=True),
                   self.module.register_forward_hook(call.after)]
        try:
            yield call
        finally:
            for handle in handles:
                handle.remove()
        if not call.recorded:
            raise RobustEvalError(
                f"yopo: {type(self.module).__name__} was not called with the perturbed inputs_embeds or returned no "
                "tensor, so it cannot serve as the first layer: train this model with freelb or pgd"
            )
