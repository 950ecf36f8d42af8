"""Same dropout mask across the passes of one batch, without patching models.

Dropout draws from the global CPU generator and from the CUDA generator of the device it runs on.
Capturing those states once per batch and restoring them before each pass makes every pass draw the same
masks, so the K losses of FreeLB, K-PGD and YOPO are losses of one network (as the FreeLB paper requires),
for any architecture. Under `nn.DataParallel` each replica draws from its own GPU's generator, so every
replica device is captured and restored (`replica_devices`).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class DropoutReplay:
    """The CPU generator state and that of every CUDA device in `devices`, restorable before each pass."""

    def __init__(self, devices: Sequence[torch.device] = ()) -> None:
        self._cpu_state = torch.get_rng_state()
        self._cuda_states = [(device, torch.cuda.get_rng_state(device)) for device in devices if device.type == "cuda"]

    def restore(self) -> None:
        """Rewind the generators to the captured state."""
        torch.set_rng_state(self._cpu_state)
        for device, state in self._cuda_states:
            torch.cuda.set_rng_state(state, device)


def replica_devices(model: nn.Module, device: torch.device) -> list[torch.device]:
    """The devices whose generators a forward pass of `model` draws from: each `nn.DataParallel` replica's
    GPU, otherwise the training device alone."""
    if isinstance(model, nn.DataParallel) and model.device_ids:
        return [torch.device("cuda", index) for index in model.device_ids]
    return [device]
