"""A tiny example-quality scorer for unit tests: a random 2-layer encoder and a random 2-layer causal LM
over the tiny test vocabulary, built in the test (the real one loads MiniLM and SmolLM2)."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from attacks.constraints.perplexity import CausalLanguageModel
from attacks.constraints.similarity import SentenceEncoder
from attacks.quality import QualityScorer
from conftest import build_tiny_checkpoint, tiny_tokenizer


def tiny_language_model(directory: Path, seed: int = 0) -> CausalLanguageModel:
    """A randomly initialised Llama (2 layers, 32 wide) with the tiny word-level tokenizer."""
    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer(directory)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
                         bos_token_id=tokenizer.cls_token_id, pad_token_id=0)
    return CausalLanguageModel(model=LlamaForCausalLM(config), tokenizer=tokenizer, device="cpu")


def tiny_quality_scorer(directory: Path) -> QualityScorer:
    """Encoder and language model only (no tagger, no grammar checker)."""
    encoder = SentenceEncoder(build_tiny_checkpoint(directory / "encoder"), device="cpu")
    return QualityScorer(encoder, tiny_language_model(directory / "lm"))
