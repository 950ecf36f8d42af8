"""Safe checkpoint loading and the batched, cached, counted victim."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from robust_eval.core.errors import RobustEvalError
from robust_eval.core.victim import load_victim


@pytest.mark.parametrize("arch", ["bert", "mpnet", "roberta", "distilbert"])
def test_loads_every_architecture_with_label_names(tiny_checkpoint, arch: str) -> None:
    victim = load_victim(tiny_checkpoint(arch, num_labels=3), device="cpu")
    assert victim.label_names == ["negative", "positive", "neutral"]
    probabilities = victim.predict_proba(["a good movie", "the plot was dull and slow"])
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_batches_pad_to_longest_and_match_single_predictions(tiny_checkpoint) -> None:
    victim = load_victim(tiny_checkpoint(), device="cpu", batch_size=2)
    texts = ["good", "a very long and dull movie with bad acting and a weak plot", "fine", "bad film"]
    together = victim.predict_proba(texts)
    alone = np.concatenate([load_victim(tiny_checkpoint(), device="cpu").predict_proba([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    encoded = victim.tokenizer(texts[:2], padding=True, return_tensors="pt")
    assert encoded["input_ids"].shape[1] < 64  # padded to the longest text, not to model_max_length


def test_cache_and_query_count(tiny_checkpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    victim = load_victim(tiny_checkpoint(), device="cpu")
    forwarded: list[int] = []
    original = victim._forward
    monkeypatch.setattr(victim, "_forward", lambda batch: forwarded.append(len(batch)) or original(batch))
    first = victim.predict_proba(["good", "bad", "good"])
    second = victim.predict_proba(["bad"])
    assert victim.queries == 4
    assert sum(forwarded) == 2  # "good" and "bad" each evaluated once
    np.testing.assert_array_equal(first[1], second[0])
    assert victim.predict_proba([]).shape == (0, 2)


def test_model_is_left_in_eval_mode_without_gradients(tiny_checkpoint) -> None:
    victim = load_victim(tiny_checkpoint(), device="cpu")
    victim.predict_proba(["good"])
    assert not victim.model.training
    assert all(p.grad is None for p in victim.model.parameters())


def test_missing_directory_and_config(tmp_path: Path, tiny_checkpoint) -> None:
    with pytest.raises(RobustEvalError, match="does not exist"):
        load_victim(tmp_path / "absent")
    checkpoint = tiny_checkpoint()
    (checkpoint / "config.json").unlink()
    with pytest.raises(RobustEvalError, match="has no config.json"):
        load_victim(checkpoint)


def test_corrupt_safetensors(tiny_checkpoint) -> None:
    checkpoint = tiny_checkpoint()
    weights = checkpoint / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(RobustEvalError, match="corrupt or truncated"):
        load_victim(checkpoint)


def test_no_weights(tiny_checkpoint) -> None:
    checkpoint = tiny_checkpoint()
    (checkpoint / "model.safetensors").unlink()
    with pytest.raises(RobustEvalError, match="no model weights"):
        load_victim(checkpoint)


def pickle_only(checkpoint: Path) -> Path:
    """Turn a safetensors checkpoint into a pickle-only one (as old checkpoints are)."""
    from safetensors.torch import load_file

    state = load_file(checkpoint / "model.safetensors")
    torch.save(state, checkpoint / "pytorch_model.bin")
    (checkpoint / "model.safetensors").unlink()
    return checkpoint


def test_pickle_weights_refused_unless_trusted(tiny_checkpoint) -> None:
    checkpoint = pickle_only(tiny_checkpoint())
    with pytest.raises(RobustEvalError, match="only pickle weights .*--trust-pickle"):
        load_victim(checkpoint)
    victim = load_victim(checkpoint, trust_pickle=True, device="cpu")
    assert victim.predict_proba(["good"]).shape == (1, 2)


def test_custom_code_is_never_loaded(tiny_checkpoint) -> None:
    checkpoint = tiny_checkpoint()
    config = (checkpoint / "config.json").read_text()
    (checkpoint / "config.json").write_text(config.replace("{", '{"auto_map": {"AutoModel": "x.Y"},', 1))
    with pytest.raises(RobustEvalError, match="custom code"):
        load_victim(checkpoint)


def test_missing_tokenizer(tiny_checkpoint) -> None:
    checkpoint = tiny_checkpoint()
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        (checkpoint / name).unlink(missing_ok=True)
    with pytest.raises(RobustEvalError, match="tokenizer"):
        load_victim(checkpoint)


@pytest.mark.integration
def test_real_minilm_predicts(tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from robust_eval.core import resources

    base = resources.require("minilm")
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=2)
    model.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(base).save_pretrained(tmp_path)
    victim = load_victim(tmp_path, device="cpu")
    probabilities = victim.predict_proba(["A gorgeous, witty film.", "Dull and lifeless."])
    assert probabilities.shape == (2, 2) and np.isfinite(probabilities).all()
    assert victim.model.config.hidden_size == 384


def test_out_of_memory_halves_the_batch_and_continues(tiny_checkpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    victim = load_victim(tiny_checkpoint(), device="cpu", batch_size=8)
    expected = load_victim(tiny_checkpoint(), device="cpu").predict_proba(["good", "bad", "fine", "dull", "fun"])
    original = victim._forward

    def limited_memory(batch: list[str]) -> np.ndarray:
        if len(batch) > 2:  # pretend the device only fits two texts at a time
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return original(batch)

    monkeypatch.setattr(victim, "_forward", limited_memory)
    probabilities = victim.predict_proba(["good", "bad", "fine", "dull", "fun"])
    assert victim.batch_size == 2
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)


def test_a_call_larger_than_the_cache_answers_every_text(tiny_checkpoint) -> None:
    victim = load_victim(tiny_checkpoint(), device="cpu")
    victim.cache_size = 3
    texts = ["good", "bad", "fine", "dull", "fun", "good"]
    first = victim.predict_proba(texts[:2])
    together = victim.predict_proba(texts)  # "good" and "bad" come from the cache while new rows push them out
    assert together.shape == (6, 2) and len(victim._cache) == 3
    np.testing.assert_allclose(together[:2], first, atol=1e-6)
    np.testing.assert_array_equal(together[0], together[5])


def test_fast_tokenisation_gives_the_tokenizer_s_own_ids(tiny_checkpoint) -> None:
    from robust_eval.core.batched import tokenize

    victim = load_victim(tiny_checkpoint(), device="cpu")
    texts = ["good", "a bad , bad movie that never ends and ends", "fine dull fun " * 30]
    expected = victim.tokenizer(texts, padding=True, truncation=True, max_length=16, return_tensors="pt")
    fast = tokenize(victim.tokenizer, texts, 16)
    assert set(fast) == set(expected) and fast["input_ids"].shape[1] == 16
    for name, values in expected.items():
        assert torch.equal(fast[name], values), name
