"""Same dropout mask across the passes of one batch, without patching models.

Dropout draws from the global CPU / CUDA generators. Capturing their state once per batch and restoring
it before each pass makes every pass draw the same masks, so the K losses of FreeLB, K-PGD and YOPO are
losses of one network (as the FreeLB paper requires), for any architecture.
"""

from __future__ import annotations

import torch


class DropoutReplay:
    """The random-generator state of `device` at construction time, restorable before each pass."""

    def __init__(self, device: torch.device) -> None:
        self._device = device
        self._cpu_state = torch.get_rng_state()
        self._cuda_state = torch.cuda.get_rng_state(device) if device.type == "cuda" else None

    def restore(self) -> None:
        """Rewind the generators to the captured state."""
        torch.set_rng_state(self._cpu_state)
        if self._cuda_state is not None:
            torch.cuda.set_rng_state(self._cuda_state, self._device)
