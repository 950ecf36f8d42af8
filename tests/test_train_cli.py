"""`robust-eval train`: flags and config files share one schema; bad input is a one-line error."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from robust_eval.core.errors import RobustEvalError
from trainers.cli import register
from trainers.config import TrainConfig, flag, load_config

REVIEWS = [("the movie was good", "positive"), ("a dull and boring film", "negative"),
           ("great acting and a fun story", "positive"), ("the plot was a mess", "negative")]


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer(pretty_exceptions_enable=False)
    register(application)

    @application.command("version")
    def version() -> None:  # a second command, so `train` stays a named sub-command
        """Print nothing."""

    return application


@pytest.fixture
def splits(tmp_path: Path) -> list[str]:
    """--train-data / --dev-data / --test-data flags pointing at small JSONL files."""
    arguments = []
    for name, copies in (("train", 4), ("dev", 2), ("test", 2)):
        path = tmp_path / f"{name}.jsonl"
        rows = [{"text": text, "label": label} for text, label in REVIEWS * copies]
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        arguments += [f"--{name}-data", str(path)]
    return arguments


def invoke(app: typer.Typer, *arguments: str):
    return CliRunner().invoke(app, ["train", *arguments], catch_exceptions=True)


def test_help_lists_every_config_field(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for item in fields(TrainConfig):
        assert f"--{flag(item.name)}" in result.output


def test_train_from_flags_saves_checkpoint_and_card(app, splits, tiny_checkpoint, tmp_path: Path) -> None:
    output = tmp_path / "model"
    result = invoke(app, "--method", "freelb", "--model", str(tiny_checkpoint("bert")), *splits,
                    "--output", str(output), "--epochs", "1", "--batch-size", "8", "--adv-steps", "2",
                    "--adv-norm", "linf", "--no-progress")
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "dev accuracy" in result.output
    card = json.loads((output / "training.json").read_text())
    assert card["method"] == "freelb" and card["hyperparameters"]["adv_norm"] == "linf"
    assert card["passes_per_batch"] == 2 and card["label_names"] == ["negative", "positive"]
    assert (output / "config.json").is_file() and (output / "model.safetensors").is_file()
    assert json.loads((output / "config.json").read_text())["id2label"] == {"0": "negative", "1": "positive"}


def test_flags_override_config_file(app, splits, tiny_checkpoint, tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text(f'method = "pgd"\nadv-steps = 2\nseed = 5\nepochs = 1\nbatch_size = 8\n'
                      f'model = "{tiny_checkpoint("roberta")}"\nprogress = false\n', encoding="utf-8")
    output = tmp_path / "model"
    result = invoke(app, "--config", str(config), "--seed", "7", *splits, "--output", str(output))
    assert result.exit_code == 0, result.output + repr(result.exception)
    card = json.loads((output / "training.json").read_text())
    assert (card["method"], card["seed"], card["hyperparameters"]["adv_steps"]) == ("pgd", 7, 2)
    assert card["passes_per_batch"] == 3


def test_json_config_matches_toml(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"method": "yopo", "adv_inner_steps": 4, "adv-lr": 0.1}))
    (tmp_path / "a.toml").write_text('method = "yopo"\nadv_inner_steps = 4\nadv-lr = 0.1\n')
    assert load_config(tmp_path / "a.json") == load_config(tmp_path / "a.toml")
    assert load_config(tmp_path / "a.json").adv_lr == 0.1


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"adv_rate": 0.1}', "unknown key 'adv_rate'"),
        ('{"epochs": "three"}', "'epochs' must be float"),
        ('{"batch_size": 8.5}', "'batch_size' must be int"),
        ('{"bf16": "yes"}', "'bf16' must be bool"),
        ('{"method": "fgsm"}', "unknown method 'fgsm'"),
        ('{"adv_norm": "l1"}', "unknown --adv-norm 'l1'"),
        ('{"method": "freeat", "grad_accum": 2}', "use --grad-accum 1"),
        ('{"method": "freeat-batch", "grad_accum": 2}', "freeat-batch takes an optimizer step per replay"),
        ('{"adv_inner_lr": "half"}', "unknown --adv-inner-lr 'half'"),
        ('{"adv_steps": 0}', "--adv-steps must be > 0"),
        ('[1, 2]', "must hold one table"),
        ('{"epochs": ', "is not valid JSON"),
    ],
)
def test_bad_config_is_one_line_error(content: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(RobustEvalError, match=message) as error:
        load_config(path)
    assert "\n" not in str(error.value)


def test_bad_flags_are_errors(app, splits, tmp_path: Path) -> None:
    assert isinstance(invoke(app, "--method", "fgsm", "--output", str(tmp_path)).exception, RobustEvalError)
    missing_output = invoke(app, *splits, "--model", str(tmp_path))
    assert isinstance(missing_output.exception, RobustEvalError) and "--output" in str(missing_output.exception)
    assert invoke(app, "--epochs", "many").exit_code == 2  # typer rejects the type itself
    assert not invoke(app, "--config", str(tmp_path / "absent.toml")).exit_code == 0


@pytest.mark.integration
def test_minilm_on_an_mr_slice(app, tmp_path: Path) -> None:
    output = tmp_path / "minilm"
    result = invoke(app, "--method", "freelb", "--limit", "32", "--epochs", "1", "--batch-size", "16",
                    "--adv-steps", "2", "--output", str(output), "--no-progress")
    assert result.exit_code == 0, result.output + repr(result.exception)
    card = json.loads((output / "training.json").read_text())
    assert card["data"]["train"] == {"spec": "mr:train", "examples": 32}
    assert card["hyperparameters"]["model"] == "minilm"
