"""Shared fixtures: tiny randomly initialised checkpoints built in the test, never downloaded."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest
import torch
from tokenizers import Tokenizer
from tokenizers.models import WordPiece
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer
from tokenizers.processors import TemplateProcessing
from transformers import (
    AutoModelForSequenceClassification,
    BertConfig,
    DistilBertConfig,
    MPNetConfig,
    PretrainedConfig,
    PreTrainedTokenizerFast,
    RobertaConfig,
)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "a an the this that it is was are be not no very too so and but or of in on at to for with by "
    "movie film story plot actor actors acting script director scene scenes cast characters "
    "good great fine nice excellent wonderful brilliant superb fun funny charming moving "
    "bad poor awful terrible horrible boring dull weak bland mess slow "
    "love loved like liked enjoy enjoyed hate hated dislike "
    "really quite rather just only even still never always "
    "one two all some most more less much many every "
    "i you he she we they me his her their its my your "
    "what who how why where when ? . , ! ' s 's"
).split()

ARCHITECTURES = ("bert", "mpnet", "roberta", "distilbert")


def tiny_tokenizer(directory: Path, arch: str = "bert") -> PreTrainedTokenizerFast:
    """A word-level tokenizer over a small fixed vocabulary, built with `tokenizers` (same on transformers
    4.x and 5.x); no token types where the architecture has none."""
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS + WORDS)}
    backend = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    backend.normalizer = BertNormalizer(lowercase=True)
    backend.pre_tokenizer = BertPreTokenizer()
    backend.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    input_names = ["input_ids", "token_type_ids", "attention_mask"] if arch == "bert" else ["input_ids", "attention_mask"]
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_input_names=input_names, model_max_length=64,
    )
    directory.mkdir(parents=True, exist_ok=True)
    return tokenizer


def tiny_config(arch: str, vocab_size: int, num_labels: int = 2) -> PretrainedConfig:
    """A 2-layer, 32-wide configuration of the given architecture."""
    labels = {"id2label": {i: name for i, name in enumerate(["negative", "positive", "neutral"][:num_labels])}}
    labels["label2id"] = {name: i for i, name in labels["id2label"].items()}
    if arch == "distilbert":
        return DistilBertConfig(
            vocab_size=vocab_size, dim=32, n_layers=2, n_heads=2, hidden_dim=64,
            max_position_embeddings=64, pad_token_id=0, **labels,
        )
    common = dict(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=80, pad_token_id=0, **labels,
    )
    if arch == "bert":
        return BertConfig(**common)
    if arch == "mpnet":
        return MPNetConfig(**common)
    if arch == "roberta":
        return RobertaConfig(**common, bos_token_id=2, eos_token_id=3, type_vocab_size=1)
    raise ValueError(f"unknown architecture {arch!r}")


def build_tiny_checkpoint(directory: Path, arch: str = "bert", num_labels: int = 2, seed: int = 0) -> Path:
    """Save a randomly initialised tiny classifier (safetensors) with its tokenizer to `directory`."""
    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer(directory, arch)
    model = AutoModelForSequenceClassification.from_config(tiny_config(arch, len(tokenizer), num_labels))
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Callable[..., Path]:
    """Factory fixture: `tiny_checkpoint(arch="bert", num_labels=2)` returns a checkpoint directory."""
    counter = iter(range(1000))

    def make(arch: str = "bert", num_labels: int = 2, seed: int = 0) -> Path:
        return build_tiny_checkpoint(tmp_path / f"{arch}-{next(counter)}", arch, num_labels, seed)

    return make


@pytest.fixture(scope="session")
def tiny_scorer(tmp_path_factory: pytest.TempPathFactory):
    """A quality scorer over tiny random models (see tests/quality_support.py)."""
    from quality_support import tiny_quality_scorer

    return tiny_quality_scorer(tmp_path_factory.mktemp("quality"))


@pytest.fixture(autouse=True)
def _tiny_quality_scorer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests score successful attacks with tiny models; integration tests use the real ones."""
    if "integration" in request.keywords:
        return
    import attacks.quality

    monkeypatch.setattr(attacks.quality, "default_scorer", lambda: request.getfixturevalue("tiny_scorer"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Integration tests need the real MiniLM: skip them with a clear reason when it is not fetched."""
    from robust_eval.core import resources

    if resources.is_present("minilm") or os.environ.get("CI"):
        return  # in CI a missing resource must fail loudly, never skip
    skip = pytest.mark.skip(reason="MiniLM not fetched: run `robust-eval resources fetch minilm`")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)
