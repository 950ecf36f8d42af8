"""`robust-eval recipes`: list the attack recipes (built-in and plug-ins), their papers and resources."""

from __future__ import annotations

import inspect

import typer
from rich.table import Table

from attacks.registry import available_recipes, plugin_errors
from robust_eval.core import resources
from robust_eval.core.console import err, out


def _parameters(spec) -> str:
    return ", ".join(f"{p.name}={p.default}" for p in spec.parameters().values() if p.default is not inspect.Parameter.empty)


def _resources(spec) -> str:
    marks = [f"{name}" if resources.is_present(name) else f"{name} [red](missing)[/red]" for name in spec.resources]
    return ", ".join(marks) or "-"


def list_recipes() -> None:
    """List every recipe: name, paper, resources needed, and the parameters --param can set."""
    table = Table(title="attack recipes (set parameters with --param key=value)")
    for column in ("name", "paper", "resources", "parameters (defaults)", "from"):
        table.add_column(column, overflow="fold")
    for name, spec in available_recipes().items():
        table.add_row(name, spec.paper or spec.summary, _resources(spec), _parameters(spec), spec.origin)
    out.print(table)
    for name, reason in plugin_errors().items():
        err.print(f"[yellow]plug-in '{name}' could not be loaded[/yellow] ({reason}): fix or uninstall its package")


def register(app: typer.Typer) -> None:
    """Add the `recipes` command to the `robust-eval` app."""
    app.command("recipes")(list_recipes)
