"""`AdversarialTrainer`: a `transformers.Trainer` whose `training_step` is delegated to a strategy.

Everything else stays the Trainer's: mixed precision (the model's forward runs under the Trainer's
autocast), gradient accumulation, clipping, schedulers, logging, callbacks and distributed launchers.
The perturbation enters through `get_input_embeddings()` and `inputs_embeds`, so any Hugging Face
encoder works without patching; YOPO's first layer is the model's embedding module (`trainers.first_layer`).
"""

from __future__ import annotations

import contextlib
import functools
from contextlib import AbstractContextManager
from typing import Any

import torch
from torch import nn
from transformers import Trainer

from robust_eval.core.errors import RobustEvalError
from trainers.first_layer import FirstLayer, FirstLayerCall
from trainers.replay import DropoutReplay, replica_devices
from trainers.strategies import Batch, Strategy


class AdversarialTrainer(Trainer):
    """A Trainer running `strategy` on every batch. FreeAT's extra optimizer steps are scheduled too."""

    def __init__(self, *args: Any, strategy: Strategy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.strategy = strategy
        # A classifier's loss is the batch mean and ignores `num_items_in_batch`: the Trainer must then divide
        # by the accumulation steps itself and must not multiply by the number of processes (transformers 5
        # does so under data parallelism when the model's forward accepts **kwargs).
        self.model_accepts_loss_kwargs = False
        if strategy.needs_first_layer:
            self.first_layer  # found now, so a model without an embedding module fails before training

    def training_step(
        self, model: nn.Module, inputs: dict[str, Any], num_items_in_batch: Any = None, **kwargs: Any
    ) -> torch.Tensor:
        model.train()
        if callable(getattr(self.optimizer, "train", None)):
            self.optimizer.train()
        inputs = self._prepare_inputs(inputs)
        return self.strategy.step(TrainerPasses(self, model, num_items_in_batch), inputs)

    @functools.cached_property
    def first_layer(self) -> FirstLayer:
        """YOPO's first layer: the model's embedding module."""
        return FirstLayer(self.accelerator.unwrap_model(self.model))

    def create_scheduler(self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None):
        """The Trainer counts batches; the schedule counts optimizer steps (m per batch for FreeAT)."""
        return super().create_scheduler(num_training_steps * self.strategy.optimizer_steps_per_batch, optimizer)


class TrainerPasses:
    """The `Passes` of one batch, carried out with the Trainer's machinery (see `strategies.Passes`)."""

    def __init__(self, trainer: AdversarialTrainer, model: nn.Module, num_items_in_batch: Any) -> None:
        self.trainer = trainer
        self.model = model
        self.num_items_in_batch = num_items_in_batch
        self.embeddings = trainer.accelerator.unwrap_model(model).get_input_embeddings()
        self.hidden_size = self.embeddings.embedding_dim

    def mask(self, inputs: Batch) -> torch.Tensor:
        ids = inputs["input_ids"]
        return inputs.get("attention_mask", torch.ones_like(ids))

    def loss(self, inputs: Batch, delta: torch.Tensor | None = None) -> torch.Tensor:
        return self._model_loss(self._perturbed(inputs, delta)[0] if delta is not None else dict(inputs))

    def first_layer_loss(self, inputs: Batch, delta: torch.Tensor) -> tuple[torch.Tensor, FirstLayerCall]:
        if isinstance(self.model, nn.DataParallel):
            raise RobustEvalError(
                "yopo reruns the embedding module on one device and cannot run under nn.DataParallel: launch "
                "torchrun --nproc_per_node N -m robust_eval train ... (or set CUDA_VISIBLE_DEVICES to one GPU)"
            )
        batch, words = self._perturbed(inputs, delta)
        with self.trainer.first_layer.record(words, batch["inputs_embeds"]) as call:
            loss = self._model_loss(batch)
        return loss, call

    def _perturbed(self, inputs: Batch, delta: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The batch with `inputs_embeds` = word embeddings + delta in place of `input_ids`; the word embeddings."""
        batch = dict(inputs)
        words = self.embeddings(batch.pop("input_ids"))
        batch["inputs_embeds"] = words + delta.to(words.dtype)
        return batch, words

    def _model_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        trainer = self.trainer
        with trainer.compute_loss_context_manager():
            loss = trainer.compute_loss(self.model, batch, num_items_in_batch=self.num_items_in_batch)
        return loss.mean() if trainer.args.n_gpu > 1 else loss

    def backward(self, loss: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
        """Scale as `Trainer.training_step` does for gradient accumulation, then backpropagate."""
        trainer = self.trainer
        if (not trainer.model_accepts_loss_kwargs or self.num_items_in_batch is None) and (
            trainer.compute_loss_func is None
        ):
            loss = loss / getattr(trainer, "current_gradient_accumulation_steps", trainer.args.gradient_accumulation_steps)
        loss = loss * weight
        trainer.accelerator.backward(loss)
        return loss.detach()

    def sync(self, final: bool) -> AbstractContextManager:
        if final:
            return contextlib.nullcontext()
        return self.trainer.accelerator.no_sync(self.model)

    def replay(self) -> DropoutReplay:
        return DropoutReplay(replica_devices(self.model, self.trainer.args.device))

    def optimizer_step(self) -> None:
        trainer = self.trainer
        if trainer.args.max_grad_norm > 0:
            trainer.accelerator.clip_grad_norm_(self.model.parameters(), trainer.args.max_grad_norm)
        trainer.optimizer.step()
        if not trainer.accelerator.optimizer_step_was_skipped:
            trainer.lr_scheduler.step()
        self.model.zero_grad()
