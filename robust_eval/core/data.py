"""Datasets: the built-in MR split, local CSV / TSV / JSONL files, and Hugging Face dataset names.

Spec syntax: `mr:train`, `mr:dev`, `mr:test` (bare `mr` is `mr:test`), `reviews.csv`, `data.tsv`,
`data.jsonl`, `hf:rotten_tomatoes:test`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from importlib import resources as package_files
from pathlib import Path
from typing import Iterable, Sequence

from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError

MR_SPLITS = ("train", "dev", "test")
MR_LABEL_NAMES = ["negative", "positive"]
LOCAL_FORMATS = {".csv": ",", ".tsv": "\t", ".jsonl": None}


@dataclass(frozen=True)
class Example:
    """One labelled text. `label` indexes the owning dataset's `label_names`."""

    id: str
    text: str
    label: int


@dataclass(frozen=True)
class Dataset:
    """Examples plus the names of their labels, in label-index order."""

    name: str
    examples: list[Example]
    label_names: list[str]

    def head(self, limit: int | None) -> "Dataset":
        """The first `limit` examples (all when None)."""
        if limit is None:
            return self
        if limit <= 0:
            raise RobustEvalError(f"--limit must be a positive number of examples, got {limit}")
        return replace(self, examples=self.examples[:limit])

    def __len__(self) -> int:
        return len(self.examples)


def load_dataset(spec: str, text_column: str = "text", label_column: str = "label") -> Dataset:
    """Load a dataset from its spec (see the module docstring)."""
    if spec == "mr" or spec.startswith("mr:"):
        return load_mr(spec.partition(":")[2] or "test")
    if spec.startswith("hf:"):
        return load_hf(spec, text_column, label_column)
    path = Path(spec)
    if path.suffix.lower() in LOCAL_FORMATS:
        return load_local(path, text_column, label_column)
    raise RobustEvalError(
        f"unknown dataset '{spec}': use mr:train|dev|test, a .csv/.tsv/.jsonl file, or hf:NAME:SPLIT"
    )


# --- MR ---------------------------------------------------------------------------------------------


def read_mr_sentences() -> list[Example]:
    """All MR sentences with a non-zero mean rating, labelled by its sign (1 = positive)."""
    path = resources.require("mr") / "movieReviewSnippets_GroundTruth.txt"
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        sentence_id, rating, text = line.split("\t", 2)
        score = float(rating)
        if score != 0:
            examples.append(Example(f"mr-{sentence_id}", text.strip(), int(score > 0)))
    return examples


def mr_split_ids() -> dict[str, list[str]]:
    """The committed train / dev / test example ids (see `robust_eval/core/data/mr_split.json`)."""
    raw = package_files.files("robust_eval.core").joinpath("data/mr_split.json").read_text(encoding="utf-8")
    return json.loads(raw)["splits"]


def load_mr(split: str) -> Dataset:
    """One split of the built-in MR dataset, in the committed order."""
    if split not in MR_SPLITS:
        raise RobustEvalError(f"unknown MR split '{split}': choose one of {', '.join(MR_SPLITS)}")
    by_id = {example.id: example for example in read_mr_sentences()}
    ids = mr_split_ids()[split]
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise RobustEvalError(
            f"MR file lacks {len(missing)} ids of the split (e.g. {missing[0]}): run "
            "`robust-eval resources fetch mr --force`"
        )
    return Dataset(f"mr:{split}", [by_id[i] for i in ids], list(MR_LABEL_NAMES))


# --- local files ----------------------------------------------------------------------------------


def load_local(path: Path, text_column: str, label_column: str) -> Dataset:
    """A CSV / TSV / JSONL file with a text and a label column (labels as names or integers)."""
    if not path.is_file():
        raise RobustEvalError(f"dataset file '{path}' does not exist: check the path")
    try:
        content = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RobustEvalError(
            f"dataset file '{path}' is not UTF-8 (byte {error.start}): re-save it as UTF-8"
        ) from None
    rows = _parse_rows(path, content)
    if not rows:
        raise RobustEvalError(f"dataset file '{path}' has no examples: add rows below the header")
    columns = list(rows[0].keys())
    for column, option in ((text_column, "--text-column"), (label_column, "--label-column")):
        if column not in columns:
            raise RobustEvalError(
                f"dataset file '{path}' has no column '{column}' (columns: {', '.join(columns)}): "
                f"pass {option}"
            )
    texts = [str(row[text_column] or "") for row in rows]
    labels, names = _encode_labels([row[label_column] for row in rows], path)
    examples = [Example(f"{path.stem}-{i}", text, label) for i, (text, label) in enumerate(zip(texts, labels))]
    return Dataset(str(path), examples, names)


def _parse_rows(path: Path, content: str) -> list[dict]:
    delimiter = LOCAL_FORMATS[path.suffix.lower()]
    if delimiter is not None:
        return list(csv.DictReader(io.StringIO(content), delimiter=delimiter))
    rows = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise RobustEvalError(f"{path}: line {number} is not valid JSON: fix or remove it") from None
        if not isinstance(row, dict):
            raise RobustEvalError(f"{path}: line {number} is not a JSON object: write one object per line")
        rows.append(row)
    return rows


def _encode_labels(raw: Sequence[object], source: object) -> tuple[list[int], list[str]]:
    """Integer labels stay as they are (names are their digits); names are indexed in sorted order."""
    values = [str(value).strip() if value is not None else "" for value in raw]
    if "" in values:
        row = values.index("")
        raise RobustEvalError(f"{source}: example {row} has an empty label: give every example a label")
    if all(_is_int(v) for v in values):
        labels = [int(v) for v in values]
        if min(labels) < 0:
            raise RobustEvalError(f"{source}: negative label {min(labels)}: labels must be 0..N-1 or names")
        return labels, [str(i) for i in range(max(labels) + 1)]
    names = sorted(set(values))
    index = {name: i for i, name in enumerate(names)}
    return [index[v] for v in values], names


def _is_int(value: str) -> bool:
    return value.lstrip("-").isdigit()


# --- Hugging Face datasets ------------------------------------------------------------------------


def load_hf(spec: str, text_column: str, label_column: str) -> Dataset:
    """A Hugging Face dataset by name (needs network access or a local datasets cache)."""
    parts = spec.split(":")
    if len(parts) != 3 or not all(parts[1:]):
        raise RobustEvalError(f"bad dataset spec '{spec}': write hf:NAME:SPLIT, e.g. hf:rotten_tomatoes:test")
    _, name, split = parts
    try:
        import datasets
    except ImportError:
        raise RobustEvalError("hf: datasets need the 'datasets' package: pip install datasets") from None
    try:
        table = datasets.load_dataset(name, split=split)
    except Exception as error:  # the hub client raises many types; all mean the same to the user
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RobustEvalError(
            f"could not load Hugging Face dataset '{name}' split '{split}' ({first_line[:120]}): it needs "
            "network access or a local cache; otherwise export it to CSV/JSONL and pass the file"
        ) from None
    for column in (text_column, label_column):
        if column not in table.column_names:
            raise RobustEvalError(
                f"Hugging Face dataset '{name}' has no column '{column}' "
                f"(columns: {', '.join(table.column_names)}): pass --text-column / --label-column"
            )
    feature = table.features[label_column]
    raw_labels = table[label_column]
    if hasattr(feature, "names"):
        names, labels = list(feature.names), [int(v) for v in raw_labels]
    else:
        labels, names = _encode_labels(raw_labels, spec)
    examples = [Example(f"{name}-{split}-{i}", str(t), l) for i, (t, l) in enumerate(zip(table[text_column], labels))]
    if not examples:
        raise RobustEvalError(f"Hugging Face dataset '{name}' split '{split}' is empty: choose another split")
    return Dataset(spec, examples, names)


# --- aligning a dataset with a model ----------------------------------------------------------------


def align_labels(dataset: Dataset, model_label_names: Iterable[str]) -> Dataset:
    """Re-index the dataset's labels to the model's label order, matching names case-insensitively.

    Integer-labelled datasets keep their indices but must fit in the model's label count.
    """
    model_names = list(model_label_names)
    if dataset.label_names == [str(i) for i in range(len(dataset.label_names))]:
        if len(dataset.label_names) > len(model_names):
            raise RobustEvalError(
                f"dataset {dataset.name} has label {len(dataset.label_names) - 1} but the model has "
                f"{len(model_names)} labels ({', '.join(model_names)}): use a dataset with matching labels"
            )
        return replace(dataset, label_names=model_names)
    lookup = {name.lower(): i for i, name in enumerate(model_names)}
    unknown = [name for name in dataset.label_names if name.lower() not in lookup]
    if unknown:
        raise RobustEvalError(
            f"dataset label '{unknown[0]}' is not among the model's labels ({', '.join(model_names)}): "
            "rename the labels or use the matching checkpoint"
        )
    remap = [lookup[name.lower()] for name in dataset.label_names]
    examples = [replace(example, label=remap[example.label]) for example in dataset.examples]
    return Dataset(dataset.name, examples, model_names)
