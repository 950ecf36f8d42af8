"""Checkpoints: where a `--model` value points (a local directory or a Hugging Face Hub id) and whether it
is a safe, complete sequence classifier, checked before any weight is loaded or any example attacked.

A Hub id (`owner/name`, optionally `@revision`) is resolved through `huggingface_hub`: its cache first
(so `HF_HUB_OFFLINE=1` and hosts without network access work with what is cached), else a download of the
configuration, safetensors weights, tokenizer and training card only (pickle weights only with
`trust_pickle`). A local directory always wins over a Hub id of the same spelling.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robust_eval.core.errors import RobustEvalError

SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model")
TRAINING_CARD = "training.json"
HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*(?:/[A-Za-z0-9][\w.-]*)?)(?:@(?P<revision>[\w.\-/]+))?$")
HUB_FILES = ["config.json", "*.safetensors", "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json",
             "special_tokens_map.json", "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt", "spiece.model",
             "sentencepiece.bpe.model", "tokenizer.model", TRAINING_CARD]
HUB_PICKLE_FILES = ["pytorch_model*.bin", "pytorch_model.bin.index.json"]


@dataclass(frozen=True)
class ResolvedModel:
    """A `--model` value and the local directory it resolved to (for a Hub id: the cached snapshot)."""

    spec: str
    path: Path
    hub_id: str | None = None
    revision: str | None = None  # the snapshot's commit, for Hub models

    @property
    def name(self) -> str:
        """A readable name: the Hub id, or the directory name."""
        return self.hub_id or self.path.name


def resolve_model(spec: str | Path, trust_pickle: bool = False) -> ResolvedModel:
    """The checkpoint directory of `spec`: an existing directory as it is, else a Hub id from the cache or
    the Hub; a one-line error when it is neither."""
    text = str(spec)
    path = Path(text).expanduser()
    match = HUB_ID.match(text)
    if path.exists() or match is None or text.startswith((".", "~")):
        return ResolvedModel(text, path)
    return _from_hub(text, match["repo"], match["revision"], trust_pickle)


def _from_hub(spec: str, repo: str, revision: str | None, trust_pickle: bool) -> ResolvedModel:
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    patterns = HUB_FILES + (HUB_PICKLE_FILES if trust_pickle else [])
    where = f"'{spec}' is not a local directory"
    try:
        folder = snapshot_download(repo, revision=revision, allow_patterns=patterns, local_files_only=True)
    except LocalEntryNotFoundError:
        if constants.HF_HUB_OFFLINE:
            raise RobustEvalError(
                f"{where}, and Hub model '{repo}' is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) "
                "while HF_HUB_OFFLINE is set: download it where there is network access, or unset HF_HUB_OFFLINE"
            ) from None
        try:
            folder = snapshot_download(repo, revision=revision, allow_patterns=patterns)
        except (RepositoryNotFoundError, RevisionNotFoundError):
            raise RobustEvalError(
                f"{where}, and the Hugging Face Hub has no model '{repo}'"
                f"{f' at revision {revision}' if revision else ''} (or it is private): check the path or the id"
            ) from None
        except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0][:120]
            raise RobustEvalError(
                f"{where}, and Hub model '{repo}' could not be downloaded ({first}): check the network, or copy "
                "the model into the Hugging Face cache"
            ) from None
    folder_path = Path(folder)
    return ResolvedModel(spec, folder_path, repo, folder_path.name)


def training_card(path: Path) -> dict[str, Any] | None:
    """The training record the trainers save beside the weights (None for other checkpoints)."""
    card = Path(path) / TRAINING_CARD
    if not card.is_file():
        return None
    try:
        record = json.loads(card.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise RobustEvalError(f"{card} is not valid JSON: restore or delete it") from None
    return record if isinstance(record, dict) else None


def training_max_length(path: Path) -> int | None:
    """The maximum token length the checkpoint was fine-tuned with, when its training card says."""
    card = training_card(path) or {}
    value = (card.get("hyperparameters") or {}).get("max_length")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def check_checkpoint(path: Path, trust_pickle: bool = False, single_logit: bool = False) -> None:
    """Refuse directories that are not safe, complete sequence-classification checkpoints.

    Files: config.json, safetensors weights (pickle only if trusted), tokenizer files, no custom code.
    Model: a model_type this transformers knows, a trained classification head (a base model's head would
    be random), more than one output unless `single_logit`, and a tokenizer whose ids fit the embeddings.
    """
    path = Path(path)
    config = _check_files(path, trust_pickle)
    model_type = config.get("model_type")
    from transformers import CONFIG_MAPPING, AutoConfig, AutoTokenizer

    if model_type not in CONFIG_MAPPING:
        import transformers

        named = f"model_type '{model_type}'" if model_type else "no model_type"
        raise RobustEvalError(
            f"'{path}' has {named} in config.json, which transformers {transformers.__version__} does not know: "
            "use a supported architecture or a newer transformers"
        )
    try:
        parsed = AutoConfig.from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RobustEvalError(f"'{path}/config.json' is not a usable configuration ({_first_line(error)}): re-save the checkpoint") from None
    if parsed.num_labels == 1 and not single_logit:
        raise RobustEvalError(
            f"'{path}' has a single-output head (num_labels = 1: a regression or one-logit model), whose accuracy "
            "would be meaningless: pass --single-logit to read it as the logit of class 1 of a binary classifier"
        )
    skeleton = _skeleton(parsed)
    if any((path / name).is_file() for name in SAFE_WEIGHTS):
        missing = [key for key in head_keys(skeleton) if key not in _stored_keys(path)]
        if missing:
            raise_missing_head(path, missing)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError, TypeError, ImportError, KeyError):
        raise RobustEvalError(f"'{path}' has unusable tokenizer files: save the tokenizer again beside the model") from None
    rows = skeleton.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        raise RobustEvalError(
            f"'{path}': its tokenizer has {len(tokenizer)} tokens but the model's embedding matrix {rows} rows: save "
            "the tokenizer the model was trained with (or resize the embeddings and fine-tune)"
        )


def raise_missing_head(path: Path, missing: list[str]) -> None:
    """The one-line error for a checkpoint without trained classification-head weights."""
    raise RobustEvalError(
        f"'{path}' has no trained classification head (missing {', '.join(missing[:4])}): it is a base model, whose "
        "head would be random; fine-tune it first (robust-eval train) or pass a sequence-classification checkpoint"
    )


def head_keys(model) -> list[str]:
    """Parameter names of a sequence classifier outside its base model (the classification head)."""
    prefix = getattr(model, "base_model_prefix", "") + "."
    return [key for key in model.state_dict() if not key.startswith(prefix)]


def _check_files(path: Path, trust_pickle: bool) -> dict[str, Any]:
    if not path.is_dir():
        raise RobustEvalError(
            f"checkpoint directory '{path}' does not exist: pass a directory saved by save_pretrained or a Hub id (owner/name)"
        )
    config_file = path / "config.json"
    if not config_file.is_file():
        raise RobustEvalError(f"'{path}' has no config.json: pass a Hugging Face checkpoint directory")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RobustEvalError(f"'{config_file}' is not valid JSON: re-save the checkpoint") from None
    if not isinstance(config, dict):
        raise RobustEvalError(f"'{config_file}' is not a JSON object: re-save the checkpoint")
    if "auto_map" in config:
        raise RobustEvalError(f"'{path}' needs custom code (auto_map), which is never run: use a standard architecture")
    safe = [name for name in SAFE_WEIGHTS if (path / name).is_file()]
    pickled = [name for name in PICKLE_WEIGHTS if (path / name).is_file()]
    if not safe and not pickled:
        raise RobustEvalError(f"'{path}' has no model weights (model.safetensors): re-save with save_pretrained")
    if not safe and not trust_pickle:
        raise RobustEvalError(
            f"'{path}' holds only pickle weights ({pickled[0]}), which can run code when loaded: convert them "
            "to safetensors, or pass --trust-pickle if you trust the file"
        )
    if safe:
        _stored_keys(path)
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise RobustEvalError(f"'{path}' has no tokenizer files: save the tokenizer beside the model (tokenizer.save_pretrained)")
    return config


def _stored_keys(path: Path) -> set[str]:
    """Tensor names of the safetensors weights; a one-line error for a damaged file."""
    from safetensors import safe_open

    index = path / "model.safetensors.index.json"
    try:
        files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.is_file() else ["model.safetensors"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise RobustEvalError(f"'{index}' is not a valid weight index: re-save or re-download the checkpoint") from None
    keys: set[str] = set()
    for name in files:
        try:
            with safe_open(str(path / name), framework="pt") as handle:
                keys.update(handle.keys())
        except Exception:  # safetensors raises its own error types for every kind of damage
            raise RobustEvalError(f"'{path / name}' is corrupt or truncated: re-save or re-download the checkpoint") from None
    return keys


def _skeleton(config):
    """The sequence classifier of `config` without memory (meta tensors): its parameter names and shapes."""
    import torch
    from transformers import AutoModelForSequenceClassification

    try:
        with torch.device("meta"):
            return AutoModelForSequenceClassification.from_config(config, trust_remote_code=False)
    except (ValueError, KeyError) as error:
        raise RobustEvalError(
            f"model_type '{config.model_type}' has no sequence-classification model in transformers "
            f"({_first_line(error)}): use a classifier architecture"
        ) from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:160] if text else type(error).__name__
