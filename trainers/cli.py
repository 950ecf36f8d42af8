"""`robust-eval train`: its flags are generated from `TrainConfig`, so flags and config files share one schema."""

from __future__ import annotations

import inspect
import os
from dataclasses import fields
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from robust_eval.core.console import quiet_libraries
from trainers.config import TrainConfig, flag, load_config

TYPES = {"str": str, "int": int, "float": float, "bool": bool}


def train_command(config: Optional[Path] = None, verbose: bool = False, **flags: Any) -> None:
    """Adversarially fine-tune a classifier and save the best-on-dev checkpoint with its training card.

    Flags override the values of --config (a .json or .toml file with the same keys). Data-parallel on N
    GPUs: `torchrun --nproc_per_node N -m robust_eval train ...` (--batch-size is per GPU).
    """
    from trainers.train import end_distributed, train

    quiet_libraries(verbose)
    outcome = train(load_config(config, **flags))
    end_distributed()
    if os.environ.get("RANK", "0") == "0":  # one line from a data-parallel launch, not one per process
        typer.echo(
            f"saved {outcome.output_dir}: dev accuracy {outcome.dev_accuracy:.4f}, "
            f"test accuracy {outcome.test_accuracy:.4f}, {outcome.train_seconds:.1f} s"
        )


def _signature() -> inspect.Signature:
    """`--config` plus one optional flag per `TrainConfig` field (None = keep the file's or default value)."""
    parameters = [
        inspect.Parameter(
            "config", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[Path],
            default=typer.Option(None, "--config", help="JSON or TOML file of training options (same keys).",
                                 show_default="none: the defaults below"),
        ),
        inspect.Parameter(
            "verbose", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
            default=typer.Option(False, "--verbose", help="Also show the libraries' warnings, the Trainer's progress bars "
                                 "and its metric dictionaries.", show_default="off"),
        ),
    ]
    for item in fields(TrainConfig):
        kind = TYPES[item.type]
        names = [f"--{flag(item.name)}/--no-{flag(item.name)}"] if kind is bool else [f"--{flag(item.name)}"]
        parameters.append(
            inspect.Parameter(
                item.name, inspect.Parameter.KEYWORD_ONLY, annotation=Optional[kind],
                default=typer.Option(None, *names, show_default=False,  # escaped: help text is rich markup
                                     help=f"{item.metadata['help']} {escape(f'[default: {item.default or None}]')}"),
            )
        )
    return inspect.Signature(parameters)


def register(app: typer.Typer) -> None:
    """Add the `train` command to the `robust-eval` app."""

    def train(**values: Any) -> None:
        train_command(**values)

    signature = _signature()
    train.__signature__ = signature  # type: ignore[attr-defined]
    train.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    train.__doc__ = train_command.__doc__
    app.command("train")(train)
