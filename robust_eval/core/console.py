"""The two consoles every command prints through: results to stdout, messages and progress to stderr.

`quiet_libraries` keeps the libraries' own output (transformers and torch warnings, log lines, Hugging Face
progress bars) off the console unless a command runs with `--verbose`; it also sets the environment, so
worker processes started later stay just as quiet, and `verbose()` tells the trainers which progress
display to use.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

# Piped output (CI logs, files) gets a wide fixed width instead of rich's 80 columns, so tables stay readable.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

VERBOSE_VARIABLE = "ROBUST_EVAL_VERBOSE"
LIBRARY_LOGGERS = ("transformers", "huggingface_hub", "datasets", "accelerate", "sentence_transformers", "torch")
QUIET_ENVIRONMENT = {
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "PYTHONWARNINGS": "ignore::FutureWarning,ignore::DeprecationWarning,ignore::UserWarning",
}
LIBRARY_MODULES = r"(transformers|torch|huggingface_hub|datasets|accelerate|sentence_transformers|nltk|sklearn)(\.|$)"


def quiet_libraries(verbose: bool = False) -> None:
    """Libraries' warnings, log lines and progress bars off the console (`verbose`: all back on)."""
    os.environ[VERBOSE_VARIABLE] = "1" if verbose else "0"
    level = logging.WARNING if verbose else logging.ERROR
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(level)
    if verbose:
        for name in QUIET_ENVIRONMENT:
            os.environ.pop(name, None)
        warnings.resetwarnings()
    else:
        os.environ.update(QUIET_ENVIRONMENT)
        for category in (FutureWarning, DeprecationWarning):
            warnings.filterwarnings("ignore", category=category)
        warnings.filterwarnings("ignore", category=UserWarning, module=LIBRARY_MODULES)
    if "transformers" in sys.modules:  # imported already: its own switches, as the variables act on import
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity(level)
        (transformers_logging.enable_progress_bar if verbose else transformers_logging.disable_progress_bar)()
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

        (enable_progress_bars if verbose else disable_progress_bars)()


def verbose() -> bool:
    """Whether the running command asked for the libraries' own output (`--verbose`)."""
    return os.environ.get(VERBOSE_VARIABLE) == "1"


def progress(show: bool = True) -> Progress:
    """A progress display on stderr: description, bar, counts, elapsed time and ETA."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("ETA"), TimeRemainingColumn(), console=err, disable=not show,
    )
