"""Recipe registry: typed --param values, one-line errors with choices, third-party plug-ins."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Literal

import pytest

from attacks import registry
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.registry import build_recipe, convert, get_recipe, parse_params, recipe
from attacks.search import BeamSearch
from attacks.text import AttackedText
from attacks.transformations import CompositeTransformation
from robust_eval.core.data import Example
from robust_eval.core.errors import RobustEvalError

PLUGIN = Path(__file__).parent / "plugin_pkg"


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recipes registered inside a test disappear after it."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def test_parse_params() -> None:
    assert parse_params(["max_candidates=30", " ranking = unk ", "note=a=b"]) == {
        "max_candidates": "30", "ranking": "unk", "note": "a=b"}
    with pytest.raises(RobustEvalError, match="not key=value"):
        parse_params(["max_candidates"])


@pytest.mark.parametrize("value, annotation, expected", [
    ("30", int, 30), ("0.5", float, 0.5), ("true", bool, True), ("no", bool, False), ("pwws", str, "pwws"),
    ("none", float | None, None), ("0.8", float | None, 0.8), ("unk", Literal["delete", "unk"], "unk"),
])
def test_convert(value: str, annotation: object, expected: object) -> None:
    assert convert(value, annotation, "--param x") == expected


@pytest.mark.parametrize("value, annotation, message", [
    ("3.5", int, "not an integer"), ("abc", float, "not a number"), ("maybe", bool, "not a boolean"),
    ("beam", Literal["delete", "unk"], "not one of delete, unk"),
])
def test_convert_errors_name_the_problem(value: str, annotation: object, message: str) -> None:
    with pytest.raises(RobustEvalError, match=message):
        convert(value, annotation, "--param x")


def test_unknown_recipe_lists_choices() -> None:
    with pytest.raises(RobustEvalError, match="unknown recipe 'nope': choose from .*wordnet-swap"):
        get_recipe("nope")


def test_builtin_recipes_declare_paper_and_resources() -> None:
    for name in ("wordnet-swap", "embedding-swap"):
        spec = get_recipe(name)
        assert spec.paper and "wordnet" in spec.resources and spec.summary


def test_parameters_come_from_the_factory_signature(scratch_registry: None) -> None:
    @recipe("test-beam", paper="test", resources=[])
    def test_beam(width: int = 1, max_candidates: int = 5) -> Attack:
        """A beam search with a given width."""
        return Attack(UntargetedClassification(), CompositeTransformation([]), [], BeamSearch(width))

    with pytest.raises(RobustEvalError, match="at least one part"):
        build_recipe("test-beam", {"width": "3"})
    with pytest.raises(RobustEvalError, match="has no parameter 'depth': choose from width, max_candidates"):
        build_recipe("test-beam", {"depth": "3"})
    with pytest.raises(RobustEvalError, match="not an integer"):
        build_recipe("test-beam", {"width": "wide"})


def test_factories_must_return_an_attack_and_names_are_unique(scratch_registry: None) -> None:
    @recipe("test-broken")
    def broken() -> Attack:
        """Returns the wrong thing."""
        return "not an attack"  # type: ignore[return-value]

    with pytest.raises(RobustEvalError, match="not an Attack"):
        build_recipe("test-broken")
    with pytest.raises(RobustEvalError, match="already taken"):
        recipe("test-broken")(lambda: None)
    with pytest.raises(RobustEvalError, match="needs a default value"):
        recipe("test-no-default")(lambda width: None)


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The example plug-in package, installed as a user would (CI installs it; else into a temp dir)."""
    try:
        distribution("robust-eval-plugin-example")
    except PackageNotFoundError:
        pass
    else:
        yield
        return
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(PLUGIN)],
        check=True, capture_output=True,
    )
    sys.path.insert(0, str(target))
    yield
    sys.path.remove(str(target))


def test_plugin_recipe_is_discovered_and_runs(installed_plugin: None, tiny_checkpoint) -> None:
    from robust_eval.core.victim import load_victim

    spec = registry.available_recipes()["adjacent-char-swap"]
    assert spec.origin == "robust_eval_plugin_example"
    attack = build_recipe("adjacent-char-swap", {"max_rate": "0.5"})
    victim = load_victim(tiny_checkpoint())
    text = "the acting was charming and the story was moving"
    label = int(victim.predict_proba([text])[0].argmax())
    result = attack.attack(victim, Example("p1", text, label))
    assert result.status in ("succeeded", "failed") and result.queries > 1
    for change in result.details["changes"]:
        old, new = change.split(" -> ")
        assert sorted(old) == sorted(new) and old != new
    if result.status == "succeeded":
        assert victim.predict_proba([result.perturbed_text])[0].argmax() != label
    transformation = attack.transformation
    candidates = transformation(AttackedText.from_text("the story ."), [1])
    assert [c.text for c in candidates] == ["the sotry .", "the stroy ."]
