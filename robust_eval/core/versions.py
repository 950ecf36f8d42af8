"""The library versions recorded with every training card and evaluation run."""

from __future__ import annotations

import platform


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries that decide numerical results."""
    import accelerate
    import numpy
    import torch
    import transformers

    import robust_eval

    return {
        "python": platform.python_version(),
        "robust-eval": robust_eval.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "accelerate": accelerate.__version__,
        "numpy": numpy.__version__,
    }
