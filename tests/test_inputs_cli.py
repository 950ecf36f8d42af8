"""The inputs users bring, through `robust-eval evaluate`: one-line errors with exit status 2, label mapping
with its printed line, per-example limits and truncation in the records, Hub ids."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModel

from cli_helpers import assert_one_line_error
from conftest import build_tiny_checkpoint, tiny_config, tiny_tokenizer
from eval_support import TEXTS, fitted_checkpoints, main, write_dataset  # noqa: F401 (fixture)
from robust_eval.pipeline.store import read_records, read_run


def evaluate(capsys, model: Path | str, data: Path, out: Path, *extra: str) -> tuple[int, str]:
    code = main(["evaluate", "--model", str(model), "--data", str(data), "--no-progress", "--out", str(out), *extra])
    return code, capsys.readouterr().err


def relabelled(source: Path, directory: Path, names: list[str]) -> Path:
    """A copy of a fitted checkpoint whose labels are called `names`."""
    import shutil

    shutil.copytree(source, directory)
    config = json.loads((directory / "config.json").read_text())
    config["id2label"] = {str(i): name for i, name in enumerate(names)}
    config["label2id"] = {name: i for i, name in enumerate(names)}
    (directory / "config.json").write_text(json.dumps(config))
    return directory


def test_model_label_spellings_are_mapped_with_one_line(capsys, fitted_checkpoints, tmp_path: Path) -> None:
    model = relabelled(fitted_checkpoints[0], tmp_path / "upper", ["NEGATIVE", "POSITIVE"])
    code, err = evaluate(capsys, model, write_dataset(tmp_path / "d.jsonl"), tmp_path / "out")
    assert code == 0, err
    assert "labels mapped by spelling: negative -> NEGATIVE, positive -> POSITIVE" in " ".join(err.split())
    entry = read_run(tmp_path / "out")["config"]["checkpoints"][0]
    assert entry["label_alignment"] == {"method": "spelling", "pairs": [["negative", "NEGATIVE"], ["positive", "POSITIVE"]]}


def test_label_map_maps_integer_datasets(capsys, fitted_checkpoints, tmp_path: Path) -> None:
    data = tmp_path / "ints.csv"
    with data.open("w", newline="") as handle:
        csv.writer(handle).writerows([("text", "label")] + [(t, int(l == "positive")) for t, l in TEXTS])
    model = relabelled(fitted_checkpoints[0], tmp_path / "short", ["neg", "pos"])
    code, err = evaluate(capsys, model, data, tmp_path / "out", "--label-map", "0=neg,1=pos")
    assert code == 0, err
    config = read_run(tmp_path / "out")["config"]
    assert config["label_map"] == {"0": "neg", "1": "pos"}
    clean = [r for r in read_records(tmp_path / "out") if r["kind"] == "clean"]
    assert [r["label"] for r in clean] == [int(l == "positive") for _, l in TEXTS]


def test_limits_and_truncation_are_recorded(capsys, fitted_checkpoints, tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    long_text = " ".join(["really good and fun"] * 10)  # 40 words
    data.write_text("\n".join(json.dumps({"text": t, "label": l}) for t, l in TEXTS + [(long_text, "positive")]) + "\n")
    code, err = evaluate(capsys, fitted_checkpoints[0], data, tmp_path / "out", "--recipe", "tiny-swap",
                         "--max-words", "12", "--max-length", "16", "--max-queries", "30", "--example-timeout", "60")
    assert code == 0, err
    records = read_records(tmp_path / "out")
    clean = {r["example_id"]: r for r in records if r["kind"] == "clean"}
    long_id = f"d-{len(TEXTS)}"
    assert clean[long_id].get("truncated") and sum(bool(r.get("truncated")) for r in clean.values()) == 1
    attacks = {r["example_id"]: r["result"] for r in records if r["kind"] == "attack"}
    if long_id in attacks:
        assert attacks[long_id]["limit"] == "max_words" and attacks[long_id]["status"] == "skipped"
    assert all(r["queries"] <= 30 for r in attacks.values())
    run = read_run(tmp_path / "out")
    assert run["config"]["limits"] == {"max_words": 12, "max_queries": 30, "seconds": 60.0}
    assert run["config"]["max_length"] == 16
    assert run["environment"]["max_length"] == {fitted_checkpoints[0].name: {"tokens": 16, "source": "--max-length"}}


@pytest.mark.parametrize(("arguments", "fragments"), [
    (["--device", "nonsense"], ["--device 'nonsense' is not a device"]),
    (["--label-map", "negative"], ["--label-map item 'negative' is not DATASET=MODEL"]),
    (["--label-map", "negative=NEG,positive=POS"], ["--label-map target 'NEG' is not a label of the model"]),
    (["--max-words", "0"], ["max_words must be positive"]),
    (["--example-timeout", "-1"], ["seconds must be positive"]),
    (["--max-length", "0"], ["--max-length must be a positive number of tokens"]),
])
def test_bad_options_are_one_line_errors(capsys, fitted_checkpoints, tmp_path: Path, arguments, fragments) -> None:
    code, err = evaluate(capsys, fitted_checkpoints[0], write_dataset(tmp_path / "d.jsonl"), tmp_path / "out", *arguments)
    assert_one_line_error(code, err, *fragments)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this host has CUDA")
def test_cuda_without_cuda_is_a_one_line_error(capsys, fitted_checkpoints, tmp_path: Path) -> None:
    code, err = evaluate(capsys, fitted_checkpoints[0], write_dataset(tmp_path / "d.jsonl"), tmp_path / "out", "--device", "cuda")
    assert_one_line_error(code, err, "CUDA is not available here", "--device cpu")


def bad_checkpoint(kind: str, directory: Path) -> Path:
    if kind == "base model":
        tokenizer = tiny_tokenizer(directory)
        AutoModel.from_config(tiny_config("bert", len(tokenizer))).save_pretrained(directory)
        tokenizer.save_pretrained(directory)
        return directory
    build_tiny_checkpoint(directory, num_labels=1 if kind == "regression" else 2)
    if kind == "unknown type":
        config = json.loads((directory / "config.json").read_text())
        (directory / "config.json").write_text(json.dumps(config | {"model_type": "qwertynet"}))
    return directory


@pytest.mark.parametrize(("kind", "fragments"), [
    ("base model", ["has no trained classification head", "fine-tune it first"]),
    ("regression", ["single-output head (num_labels = 1", "--single-logit"]),
    ("unknown type", ["model_type 'qwertynet'", "does not know"]),
])
def test_unusable_checkpoints_are_one_line_errors(capsys, tmp_path: Path, kind: str, fragments) -> None:
    code, err = evaluate(capsys, bad_checkpoint(kind, tmp_path / "bad"), write_dataset(tmp_path / "d.jsonl"), tmp_path / "out")
    assert_one_line_error(code, err, *fragments)


@pytest.mark.parametrize(("content", "fragments"), [
    ('{"text": "good", "label": "positive"}\n{"sentence": "bad", "label": "negative"}\n', ["line 2 has no key 'text'"]),
    ("text,label\ngood,positive\nfunny, sad,negative\n", ["line 3 has 3 fields but the header has 2"]),
])
def test_bad_dataset_rows_are_one_line_errors(capsys, fitted_checkpoints, tmp_path: Path, content: str, fragments) -> None:
    data = tmp_path / ("d.jsonl" if content.startswith("{") else "d.csv")
    data.write_text(content)
    code, err = evaluate(capsys, fitted_checkpoints[0], data, tmp_path / "out")
    assert_one_line_error(code, err, *fragments)


def test_empty_texts_are_left_out_with_one_line(capsys, fitted_checkpoints, tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    rows = [{"text": t, "label": l} for t, l in TEXTS] + [{"text": "  ", "label": "positive"}, {"text": "\u0000", "label": "negative"}]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, err = evaluate(capsys, fitted_checkpoints[0], data, tmp_path / "out")
    assert code == 0 and "left out 2 examples" in err
    assert read_run(tmp_path / "out")["config"]["data"]["examples"] == len(TEXTS)


def test_a_hub_id_not_in_the_cache_offline_is_a_one_line_error(capsys, tmp_path: Path, monkeypatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    code, err = evaluate(capsys, "textattack/bert-base-uncased-rotten-tomatoes", write_dataset(tmp_path / "d.jsonl"), tmp_path / "out")
    assert_one_line_error(code, err, "'textattack/bert-base-uncased-rotten-tomatoes' is not a local directory",
                          "HF_HUB_OFFLINE is set")
