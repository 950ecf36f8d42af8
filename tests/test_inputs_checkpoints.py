"""Checkpoints users bring: base models without a head, one-output heads, unknown architectures, a tokenizer
larger than the embeddings, DistilBERT fed token types, bad devices, Hub ids (a fake Hub cache built here),
and the truncation length (training card, model limit, --max-length) with the count of cut texts."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoModelForSequenceClassification

from cli_helpers import run_cli
from conftest import build_tiny_checkpoint, tiny_config, tiny_tokenizer
from eval_support import write_dataset
from robust_eval.core.checkpoints import ResolvedModel, check_checkpoint, resolve_model
from robust_eval.core.errors import RobustEvalError
from robust_eval.pipeline.plan import describe_checkpoints, unique_names
from robust_eval.pipeline.store import read_records, read_run
from robust_eval.core.victim import MaxLength, checkpoint_max_length, load_victim, resolve_device


def base_model(directory: Path, arch: str = "bert") -> Path:
    """An encoder saved without any classification head (what a pretrained base checkpoint is)."""
    tokenizer = tiny_tokenizer(directory, arch)
    AutoModel.from_config(tiny_config(arch, len(tokenizer))).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def edit_config(directory: Path, **changes) -> Path:
    config = json.loads((directory / "config.json").read_text())
    config.update(changes)
    (directory / "config.json").write_text(json.dumps(config))
    return directory


@pytest.mark.parametrize("arch", ["bert", "distilbert", "roberta"])
def test_a_base_model_without_head_is_refused(tmp_path: Path, arch: str) -> None:
    with pytest.raises(RobustEvalError, match="has no trained classification head .*classifier"):
        check_checkpoint(base_model(tmp_path / arch, arch))


def test_a_pickled_base_model_is_refused_when_loaded(tmp_path: Path) -> None:
    directory = base_model(tmp_path / "base")
    weights = AutoModel.from_pretrained(directory).state_dict()
    (directory / "model.safetensors").unlink()
    torch.save(weights, directory / "pytorch_model.bin")
    with pytest.raises(RobustEvalError, match="has no trained classification head"):
        load_victim(directory, trust_pickle=True, device="cpu")


def test_a_one_output_head_needs_single_logit(tiny_checkpoint) -> None:
    directory = tiny_checkpoint(num_labels=1)
    with pytest.raises(RobustEvalError, match=r"single-output head \(num_labels = 1.*--single-logit"):
        load_victim(directory, device="cpu")
    victim = load_victim(directory, device="cpu", single_logit=True)
    probabilities = victim.predict_proba(["a good film", "bad"])
    assert victim.label_names == ["0", "1"] and probabilities.shape == (2, 2)
    logit = victim.model(**victim.tokenizer(["bad"], return_tensors="pt")).logits[0, 0].item()
    np.testing.assert_allclose(probabilities[1], [1 - torch.sigmoid(torch.tensor(logit)), torch.sigmoid(torch.tensor(logit))], atol=1e-5)


@pytest.mark.parametrize(("changes", "message"), [
    ({"model_type": "nonsense"}, r"model_type 'nonsense' in config.json, which transformers .* does not know"),
    ({"model_type": None}, r"no model_type in config.json"),
])
def test_unknown_architectures_are_refused(tiny_checkpoint, changes: dict, message: str) -> None:
    with pytest.raises(RobustEvalError, match=message):
        load_victim(edit_config(tiny_checkpoint(), **changes))


def test_a_tokenizer_larger_than_the_embeddings_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "small-vocab"
    tokenizer = tiny_tokenizer(directory)
    AutoModelForSequenceClassification.from_config(tiny_config("bert", len(tokenizer) - 20)).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    with pytest.raises(RobustEvalError, match=rf"tokenizer has {len(tokenizer)} tokens but the model's embedding matrix {len(tokenizer) - 20} rows"):
        load_victim(directory)


def test_distilbert_ignores_token_types_its_tokenizer_emits(tmp_path: Path) -> None:
    directory = build_tiny_checkpoint(tmp_path / "distil", "distilbert")
    plain = load_victim(directory, device="cpu").predict_proba(["a good film", "bad acting"])
    tiny_tokenizer(directory, "bert").save_pretrained(directory)  # a BERT tokenizer: emits token_type_ids
    victim = load_victim(directory, device="cpu")
    assert "token_type_ids" in victim.tokenizer(["x"])
    np.testing.assert_allclose(victim.predict_proba(["a good film", "bad acting"]), plain, atol=1e-6)


@pytest.mark.parametrize(("device", "message"), [
    ("nonsense", "--device 'nonsense' is not a device: use cpu, cuda or cuda:N"),
    ("cuda", "CUDA is not available here"),
    ("cuda:7", "CUDA is not available here"),
])
def test_devices_that_cannot_run_are_one_line_errors(device: str, message: str) -> None:
    if torch.cuda.is_available() and device.startswith("cuda"):
        pytest.skip("this host has CUDA")
    with pytest.raises(RobustEvalError, match=message):
        resolve_device(device)
    assert resolve_device("cpu") == torch.device("cpu")


# --- Hub ids ---------------------------------------------------------------------------------------


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fake_hub_cache(cache: Path, repo: str, source: Path, commit: str = COMMIT) -> Path:
    """The huggingface_hub cache layout for `repo` at `commit`: blobs, refs/main, a snapshot of symlinks."""
    root = cache / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / commit
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(commit)
    for file in sorted(source.iterdir()):
        blob = root / "blobs" / hashlib.sha256(file.read_bytes()).hexdigest()
        shutil.copyfile(file, blob)
        (snapshot / file.name).symlink_to(Path("..") / ".." / "blobs" / blob.name)
    return snapshot


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    fake_hub_cache(cache, "someone/tiny-sentiment", build_tiny_checkpoint(tmp_path / "source"))
    return cache


def test_hub_ids_resolve_through_the_cache(hub_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    resolved = resolve_model("someone/tiny-sentiment")
    assert resolved == ResolvedModel("someone/tiny-sentiment", hub_cache / "models--someone--tiny-sentiment" / "snapshots" / COMMIT,
                                     "someone/tiny-sentiment", COMMIT)
    assert resolved.name == "someone/tiny-sentiment"
    assert resolve_model(f"someone/tiny-sentiment@{COMMIT}").path == resolved.path
    victim = load_victim(resolved.path, device="cpu")
    assert victim.predict_proba(["a good film"]).shape == (1, 2)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "someone" / "tiny-sentiment").mkdir(parents=True)
    assert resolve_model("someone/tiny-sentiment") == ResolvedModel("someone/tiny-sentiment", Path("someone/tiny-sentiment"))


def test_hub_ids_not_cached_offline_are_one_line_errors(hub_cache: Path) -> None:
    with pytest.raises(RobustEvalError, match=r"'someone/other' is not a local directory, and Hub model 'someone/other' is not "
                                               r"in the Hugging Face cache .* while HF_HUB_OFFLINE is set"):
        resolve_model("someone/other")
    for path_like in ("./someone/other", "a/b/c"):
        assert resolve_model(path_like).hub_id is None  # paths stay paths: check_checkpoint names them


def test_hub_checkpoints_are_named_by_their_id_in_run_records_and_report(capsys, hub_cache: Path, tmp_path: Path) -> None:
    fake_hub_cache(hub_cache, "other/tiny-sentiment", build_tiny_checkpoint(tmp_path / "other", seed=1))
    local = build_tiny_checkpoint(tmp_path / "mine" / "tiny-sentiment", seed=2)
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "evaluate", "--model", "someone/tiny-sentiment", "--model", "other/tiny-sentiment",
                           "--model", str(local), "--data", str(write_dataset(tmp_path / "d.jsonl")), "--out", str(out),
                           "--no-progress")
    assert code == 0, err
    names = ["someone/tiny-sentiment", "other/tiny-sentiment", "tiny-sentiment"]
    run = read_run(out)
    assert [c["name"] for c in run["config"]["checkpoints"]] == names
    assert run["environment"]["checkpoint_paths"]["someone/tiny-sentiment"].endswith(f"models--someone--tiny-sentiment/snapshots/{COMMIT}")
    assert {r["checkpoint"] for r in read_records(out)} == set(names)
    assert set(json.loads((out / "summary.json").read_text())["metrics"]["checkpoints"]) == set(names)
    assert COMMIT not in (out / "report.md").read_text()


def test_two_snapshots_of_one_id_and_lookalike_directories_get_unique_names(hub_cache: Path, tmp_path: Path) -> None:
    second = "fedcba9876543210fedcba9876543210fedcba98"
    fake_hub_cache(hub_cache, "someone/tiny-sentiment", build_tiny_checkpoint(tmp_path / "retrained", seed=3), second)
    checkpoints = describe_checkpoints([resolve_model(f"someone/tiny-sentiment@{COMMIT}"), resolve_model("someone/tiny-sentiment")])
    assert [c.name for c in checkpoints] == [f"someone/tiny-sentiment@{COMMIT}", f"someone/tiny-sentiment@{second}"]
    with pytest.raises(RobustEvalError, match="is given twice"):  # main is now the second snapshot
        describe_checkpoints([resolve_model("someone/tiny-sentiment"), resolve_model(f"someone/tiny-sentiment@{second}")])
    hub = ResolvedModel("someone/tiny-sentiment", Path("/cache/snapshots") / COMMIT, "someone/tiny-sentiment", COMMIT)
    lookalike, other = ResolvedModel("x", Path("/x/someone/tiny-sentiment")), ResolvedModel("y", Path("/y/tiny-sentiment"))
    assert unique_names([hub, lookalike]) == ["someone/tiny-sentiment", "tiny-sentiment"]
    names = unique_names([hub, lookalike, other])
    assert names == ["someone/tiny-sentiment", "x/someone/tiny-sentiment", "y/tiny-sentiment"]
    at_root, beside = ResolvedModel("z", Path("/someone/tiny-sentiment")), ResolvedModel("w", Path("/other/tiny-sentiment"))
    assert unique_names([hub, at_root, beside]) == ["someone/tiny-sentiment", "/someone/tiny-sentiment", "/other/tiny-sentiment"]


def test_hub_snapshots_keep_the_safety_rules(hub_cache: Path) -> None:
    snapshot = resolve_model("someone/tiny-sentiment").path
    edit_config(snapshot, auto_map={"AutoModel": "evil.Model"})  # writes through the symlink into the blob
    with pytest.raises(RobustEvalError, match="needs custom code"):
        check_checkpoint(snapshot)


# --- truncation ------------------------------------------------------------------------------------


LONG = " ".join(["good film"] * 60)  # 120 words, more than the tiny model's 64 tokens


def test_the_training_card_sets_the_length_and_max_length_overrides(tiny_checkpoint) -> None:
    directory = tiny_checkpoint()
    assert load_victim(directory, device="cpu").max_length == MaxLength(64, "model limit")
    (directory / "training.json").write_text(json.dumps({"hyperparameters": {"max_length": 16}}))
    victim = load_victim(directory, device="cpu")
    assert victim.max_length == MaxLength(16, "training card")
    assert load_victim(directory, device="cpu", max_length=32).max_length == MaxLength(32, "--max-length")
    assert victim.cut([LONG, "good film", " ".join(["good"] * 14), " ".join(["good"] * 15)]) == [True, False, False, True]
    assert checkpoint_max_length(directory) == victim.max_length
    cut_by_hand = victim.tokenizer.decode(victim.tokenizer(LONG, truncation=True, max_length=16)["input_ids"][1:-1])
    np.testing.assert_allclose(victim.predict_proba([LONG]), victim.predict_proba([cut_by_hand]), atol=1e-6)
    with pytest.raises(RobustEvalError, match="--max-length must be a positive"):
        load_victim(directory, max_length=0)


def test_the_model_limit_respects_position_offsets(tiny_checkpoint) -> None:
    directory = tiny_checkpoint("roberta")
    tokenizer_config = json.loads((directory / "tokenizer_config.json").read_text())
    tokenizer_config.pop("model_max_length")
    (directory / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    assert load_victim(directory, device="cpu").max_length == MaxLength(80 - 1, "model limit")  # pad id 0: positions 1..80


def test_a_huge_text_is_read_as_its_first_tokens_quickly(tiny_checkpoint) -> None:
    victim = load_victim(tiny_checkpoint(), device="cpu")
    huge = "good film " * 1_000_000  # 10 MB
    np.testing.assert_allclose(victim.predict_proba([huge]), victim.predict_proba(["good film " * 100]), atol=1e-6)
    assert victim.cut([huge]) == [True] and victim.cut([]) == []
