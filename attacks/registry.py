"""Recipes registered by name, built-in or from other packages, with typed parameters.

A recipe is a factory returning an `Attack`, registered with `@recipe("name", paper=..., resources=[...])`.
Other packages add recipes without touching this one by declaring an entry point in the group
`robust_eval.recipes` that points at the module holding their decorated factories (or at a factory).
Parameters are the factory's keyword arguments: `--param max_candidates=30` is converted with the
annotation of `max_candidates` (int, float, bool, str, Literal choices, optional values); never `eval`.
"""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Callable, Mapping, Sequence

from attacks.core import Attack
from robust_eval.core.errors import RobustEvalError

ENTRY_POINT_GROUP = "robust_eval.recipes"
TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}
NONE_WORDS = {"none", "null"}


@dataclass(frozen=True)
class RecipeSpec:
    """A registered recipe: its factory, the paper it follows and the offline resources it needs."""

    name: str
    factory: Callable[..., Attack]
    paper: str
    resources: tuple[str, ...]
    origin: str

    @property
    def summary(self) -> str:
        """First line of the factory's docstring."""
        return (inspect.getdoc(self.factory) or "").partition("\n")[0]

    def parameters(self) -> dict[str, inspect.Parameter]:
        """Keyword parameters of the factory, by name."""
        return dict(inspect.signature(self.factory).parameters)


_REGISTRY: dict[str, RecipeSpec] = {}
_PLUGIN_ERRORS: dict[str, str] = {}
_SEEN_ENTRY_POINTS: set[str] = set()


def _identity(factory: Callable[..., Attack]) -> tuple[str, str]:
    return factory.__module__, factory.__qualname__


def recipe(name: str, *, paper: str = "", resources: Sequence[str] = ()) -> Callable[[Callable[..., Attack]], Callable[..., Attack]]:
    """Register the decorated factory under `name`."""

    def register(factory: Callable[..., Attack]) -> Callable[..., Attack]:
        existing = _REGISTRY.get(name)
        if existing and _identity(existing.factory) != _identity(factory):
            raise RobustEvalError(f"recipe name '{name}' is already taken by {existing.origin}: choose another name")
        for parameter in inspect.signature(factory).parameters.values():
            if parameter.default is inspect.Parameter.empty:
                raise RobustEvalError(f"recipe '{name}': parameter '{parameter.name}' needs a default value")
        _REGISTRY[name] = RecipeSpec(name, factory, paper, tuple(resources), factory.__module__)
        return factory

    return register


def _load() -> None:
    """Import the built-in recipes and every entry point of the `robust_eval.recipes` group not seen yet."""
    import_module("attacks.recipes")
    for point in entry_points(group=ENTRY_POINT_GROUP):
        key = f"{point.name}={point.value}"
        if key in _SEEN_ENTRY_POINTS:
            continue
        _SEEN_ENTRY_POINTS.add(key)
        try:
            point.load()
        except Exception as error:  # a broken plug-in must not hide the working recipes
            _PLUGIN_ERRORS[point.name] = f"{type(error).__name__}: {error}".splitlines()[0]


def available_recipes() -> dict[str, RecipeSpec]:
    """All registered recipes, by name."""
    _load()
    return dict(sorted(_REGISTRY.items()))


def plugin_errors() -> dict[str, str]:
    """Entry points that failed to load, with the reason (shown by `robust-eval recipes`)."""
    _load()
    return dict(_PLUGIN_ERRORS)


def get_recipe(name: str) -> RecipeSpec:
    """The recipe called `name`, or a one-line error listing the choices."""
    recipes = available_recipes()
    if name not in recipes:
        raise RobustEvalError(f"unknown recipe '{name}': choose from {', '.join(recipes)}")
    return recipes[name]


def parse_params(items: Sequence[str]) -> dict[str, str]:
    """`["key=value", ...]` (from repeated `--param`) into a dictionary of strings."""
    params: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RobustEvalError(f"--param '{item}' is not key=value: write e.g. --param max_candidates=30")
        params[key.strip()] = value.strip()
    return params


def convert(value: str, annotation: Any, where: str) -> Any:
    """Convert a command-line string to `annotation` (int, float, bool, str, Literal, X | None)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if type(None) in typing.get_args(annotation) and value.lower() in NONE_WORDS:
            return None
        errors = []
        for option in options:
            try:
                return convert(value, option, where)
            except RobustEvalError as error:
                errors.append(str(error))
        raise RobustEvalError(errors[-1])
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        for choice in choices:
            if str(choice) == value:
                return choice
        raise RobustEvalError(f"{where}: '{value}' is not one of {', '.join(map(str, choices))}")
    if annotation is bool:
        if value.lower() in TRUE_WORDS | FALSE_WORDS:
            return value.lower() in TRUE_WORDS
        raise RobustEvalError(f"{where}: '{value}' is not a boolean: use true or false")
    if annotation in (int, float):
        try:
            return annotation(value)
        except ValueError:
            raise RobustEvalError(f"{where}: '{value}' is not a{'n integer' if annotation is int else ' number'}") from None
    if annotation is str:
        return value
    raise RobustEvalError(f"{where}: parameters of type {annotation} cannot be set from the command line")


def check_params(name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The parameters of recipe `name` converted with the factory's annotations (strings from the command
    line; other values as given); an unknown recipe or parameter, or a value of the wrong type, is a one-line error."""
    spec = get_recipe(name)
    signature = spec.parameters()
    hints = typing.get_type_hints(spec.factory)
    kwargs = {}
    for key, value in (params or {}).items():
        if key not in signature:
            choices = ", ".join(signature) or "none"
            raise RobustEvalError(f"recipe '{name}' has no parameter '{key}': choose from {choices}")
        kwargs[key] = convert(value, hints.get(key, str), f"--param {key}") if isinstance(value, str) else value
    return kwargs


def build_recipe(name: str, params: Mapping[str, Any] | None = None) -> Attack:
    """Build recipe `name`; string values in `params` are converted with the factory's annotations."""
    spec = get_recipe(name)
    attack = spec.factory(**check_params(name, params))
    if not isinstance(attack, Attack):
        raise RobustEvalError(f"recipe '{name}' ({spec.origin}) returned {type(attack).__name__}, not an Attack: fix the recipe")
    attack.name = name
    return attack
