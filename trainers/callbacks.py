"""Trainer callbacks: keep the best-on-dev weights in memory, time each epoch, show one progress bar."""

from __future__ import annotations

import time
from typing import Any

import torch
from transformers import TrainerCallback

from robust_eval.core import console


class BestOnDev(TrainerCallback):
    """After each evaluation, keep a CPU copy of the weights when dev accuracy improved (no disk I/O)."""

    def __init__(self) -> None:
        self.best_accuracy = -1.0
        self.best_epoch = 0.0
        self.history: list[dict[str, float]] = []
        self._state: dict[str, torch.Tensor] | None = None

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None,
                    model: torch.nn.Module | None = None, **kwargs: Any) -> None:
        if not metrics or "eval_accuracy" not in metrics or model is None:
            return
        accuracy = metrics["eval_accuracy"]
        improved = accuracy > self.best_accuracy
        self.history.append({"epoch": round(state.epoch or 0.0, 4), "dev_accuracy": accuracy})
        if improved:
            self.best_accuracy, self.best_epoch = accuracy, state.epoch or 0.0
            self._state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        if state.is_world_process_zero:
            mark = " (best)" if improved else ""
            print(f"epoch {state.epoch:.2f}: dev accuracy {accuracy:.4f}{mark}", flush=True)

    def restore(self, model: torch.nn.Module) -> None:
        """Load the best weights back into `model` (no-op when nothing was evaluated)."""
        if self._state is not None:
            model.load_state_dict(self._state)


class EpochClock(TrainerCallback):
    """Wall seconds of every training epoch (evaluation excluded), synchronising CUDA at the edges."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        _synchronize()
        self._start = time.perf_counter()

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        _synchronize()
        self.seconds.append(time.perf_counter() - self._start)


def _synchronize() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


class TrainingProgress(TrainerCallback):
    """One progress bar for the optimizer steps of a run, with ETA (instead of the Trainer's bars and metric
    dictionaries; the dev accuracy of each epoch is printed by `BestOnDev`)."""

    def __init__(self) -> None:
        self._display = console.progress()
        self._task = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self._display.start()
            self._task = self._display.add_task("training", total=state.max_steps)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._task is not None:
            self._display.update(self._task, completed=state.global_step)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._task is not None:
            self._display.stop()
            self._task = None
