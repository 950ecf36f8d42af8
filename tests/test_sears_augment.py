"""SEAR-augmented training: rewritten copies with the original labels, selectable from `robust-eval train`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from attacks.sears.rules import Rule
from robust_eval.core import resources
from robust_eval.core.data import Dataset, Example
from robust_eval.core.errors import RobustEvalError
from trainers.augment import augmented, sear_augmented
from trainers.config import TrainConfig
from trainers.outcome import TrainingData


def reviews() -> Dataset:
    texts = [("The movie is fun.", 1), ("This film is a mess.", 0), ("A dull plot.", 0)]
    return Dataset("toy", [Example(f"e{i}", t, y) for i, (t, y) in enumerate(texts)], ["negative", "positive"])


def test_augmented_training_set_holds_rewritten_copies_with_original_labels() -> None:
    rules = [Rule.parse("movie", "film"), Rule.parse("film", "movie"), Rule.parse("is", "was")]
    data = sear_augmented(reviews(), rules)
    added = {e.text: e.label for e in data.examples[3:]}
    assert data.examples[:3] == reviews().examples
    assert added == {"The film is fun.": 1, "The movie was fun.": 1, "This movie is a mess.": 0, "This film was a mess.": 0}
    assert data.name == "toy + 4 SEAR rewrites"
    assert len({e.id for e in data.examples}) == len(data.examples)
    again = sear_augmented(data, rules)
    assert not {e.text for e in again.examples[len(data.examples):]} & {e.text for e in data.examples}  # no duplicates


def test_augmentation_touches_only_the_training_split() -> None:
    splits = TrainingData(reviews(), reviews(), reviews())
    assert augmented(splits, "", "hand-written") is splits
    with pytest.raises(RobustEvalError, match="unknown --augment"):
        TrainConfig(augment="eda")


@pytest.mark.skipif(not resources.is_present("wordnet"), reason="the hand-written rules' {NOUN} needs WordNet")
def test_train_with_augment_records_it_in_the_card(tiny_checkpoint, tmp_path: Path) -> None:
    import typer

    from trainers.cli import register

    app = typer.Typer(pretty_exceptions_enable=False)
    register(app)
    app.command("noop")(lambda: None)
    arguments = []
    for name in ("train", "dev", "test"):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"text": e.text, "label": e.label}) + "\n" for e in reviews().examples * 2))
        arguments += [f"--{name}-data", str(path)]
    output = tmp_path / "model"
    result = CliRunner().invoke(app, ["train", "--model", str(tiny_checkpoint()), *arguments, "--output", str(output),
                                      "--epochs", "1", "--augment", "sears", "--augment-rules", "hand-written",
                                      "--no-progress"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    card = json.loads((output / "training.json").read_text())
    assert card["hyperparameters"]["augment"] == "sears" and card["hyperparameters"]["augment_rules"] == "hand-written"
    assert "SEAR rewrites" in card["data"]["train"]["spec"] and card["data"]["train"]["examples"] > 6
    assert card["data"]["dev"]["examples"] == 6
