"""Datasets: the built-in MR split, local CSV / TSV / JSONL files, and Hugging Face dataset names.

Spec syntax: `mr:train`, `mr:dev`, `mr:test` (bare `mr` is `mr:test`), `reviews.csv`, `data.tsv`,
`data.jsonl`, `hf:rotten_tomatoes:test`.

Local files: CSV follows RFC 4180 (Python's csv module, strict: a field with quotes or commas is quoted
and its quotes doubled; anything else is refused with its line number); TSV has no quoting at all (each line
one row, quotes are text; a field cannot hold a tab or a line break); JSONL holds one object per line.
Fields of any size are read. Every row needs as many fields as the header, a text and a label.

Examples whose text is empty once whitespace and control characters (NUL included) are removed are left
out and counted in `Dataset.empty_texts`: they cannot be attacked, and scoring them would report a
classifier's guess on nothing as robustness. A dataset with no text left is refused.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import dataclass, field, replace
from importlib import resources as package_files
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Sequence

from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError

MR_SPLITS = ("train", "dev", "test")
MR_LABEL_NAMES = ["negative", "positive"]
LOCAL_FORMATS = {".csv": ",", ".tsv": "\t", ".jsonl": None}
FIELD_SIZE_LIMIT = 2**31 - 1  # the csv module's default, 128 KB, refuses long documents


@dataclass(frozen=True)
class Example:
    """One labelled text. `label` indexes the owning dataset's `label_names`."""

    id: str
    text: str
    label: int


@dataclass(frozen=True)
class LabelAlignment:
    """How a dataset's labels were matched to a model's: `pairs` (dataset label, model label) in dataset
    label order, found by `method` ("same names", "indices", "--label-map", "spelling" or "position")."""

    method: Literal["same names", "indices", "--label-map", "spelling", "position"]
    pairs: tuple[tuple[str, str], ...]

    @property
    def message(self) -> str | None:
        """One line for the console when the labels were not simply the same names (else None)."""
        if self.method in ("same names", "indices"):
            return None
        shown = ", ".join(f"{d} -> {m}" for d, m in self.pairs)
        advice = "" if self.method == "--label-map" else "; pass --label-map DATASET=MODEL,... to map them otherwise"
        return f"labels mapped by {self.method}: {shown}{advice}"

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "pairs": [list(pair) for pair in self.pairs]}


@dataclass(frozen=True)
class Dataset:
    """Examples plus the names of their labels, in label-index order.

    `empty_texts`: rows left out because their text was empty (see the module docstring); `alignment`:
    set by `align_labels`, how the labels were matched to a model's.
    """

    name: str
    examples: list[Example]
    label_names: list[str]
    empty_texts: int = 0
    alignment: LabelAlignment | None = field(default=None, compare=False)

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


@dataclass(frozen=True)
class Row:
    """One data row of a local file: its first line number and its fields by column name."""

    line: int
    fields: Mapping[str, Any]


def load_local(path: Path, text_column: str, label_column: str) -> Dataset:
    """A CSV / TSV / JSONL file with a text and a label column (labels as names or integers)."""
    if not path.is_file():
        raise RobustEvalError(f"dataset file '{path}' does not exist: check the path")
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise RobustEvalError(
            f"dataset file '{path}' is not UTF-8 (line {line}, byte {error.start}): re-save it as UTF-8"
        ) from None
    rows = _parse_rows(path, content, text_column, label_column)
    if not rows:
        raise RobustEvalError(f"dataset file '{path}' has no examples: add rows below the header")
    texts = [_text(row, text_column, path) for row in rows]
    labels, names = _encode_labels([row.fields[label_column] for row in rows], [f"line {row.line}" for row in rows], path)
    examples = [Example(f"{path.stem}-{i}", text, label) for i, (text, label) in enumerate(zip(texts, labels))]
    return _without_empty_texts(Dataset(str(path), examples, names), f"dataset file '{path}'")


def _parse_rows(path: Path, content: str, text_column: str, label_column: str) -> list[Row]:
    if path.suffix.lower() == ".jsonl":
        return _jsonl_rows(path, content, text_column, label_column)
    return _delimited_rows(path, content, LOCAL_FORMATS[path.suffix.lower()], text_column, label_column)


def _delimited_rows(path: Path, content: str, delimiter: str, text_column: str, label_column: str) -> list[Row]:
    """CSV (RFC 4180 quoting, strict) or TSV (no quoting): one Row per non-blank record, fields checked."""
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    tsv = delimiter == "\t"
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter, strict=True,
                        quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL)
    rows: list[Row] = []
    header: list[str] | None = None
    first_line = 1
    try:
        for record in reader:
            line, first_line = first_line, reader.line_num + 1
            if not record or record == [""]:
                continue
            if header is None:
                header = record
                _check_header(path, header, line, text_column, label_column)
                continue
            if len(record) != len(header):
                where = "a tab inside a text" if tsv else "an unquoted comma inside a text"
                raise RobustEvalError(
                    f"{path}: line {line} has {len(record)} fields but the header has {len(header)} "
                    f"({where}?): fix that line" + ("" if tsv else ", quoting fields that contain commas")
                )
            rows.append(Row(line, dict(zip(header, record))))
    except csv.Error as error:
        raise RobustEvalError(
            f"{path}: line {first_line} is not valid CSV ({error}): put a field with quotes, commas or line "
            'breaks in double quotes and double its quotes ("a ""quoted"" word"), or save the file as TSV'
        ) from None
    return rows


def _check_header(path: Path, header: list[str], line: int, text_column: str, label_column: str) -> None:
    if len(set(header)) < len(header):
        duplicate = next(name for name in header if header.count(name) > 1)
        raise RobustEvalError(f"{path}: line {line} names column '{duplicate}' twice: give each column its own name")
    for column, option in ((text_column, "--text-column"), (label_column, "--label-column")):
        if column not in header:
            raise RobustEvalError(
                f"dataset file '{path}' has no column '{column}' (columns: {', '.join(header)}): pass {option}"
            )


def _jsonl_rows(path: Path, content: str, text_column: str, label_column: str) -> list[Row]:
    rows = []
    for number, line in enumerate(content.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise RobustEvalError(f"{path}: line {number} is not valid JSON: fix or remove it") from None
        if not isinstance(row, dict):
            raise RobustEvalError(f"{path}: line {number} is not a JSON object: write one object per line")
        for column, option in ((text_column, "--text-column"), (label_column, "--label-column")):
            if column not in row:
                keys = ", ".join(map(str, row)) or "none"
                raise RobustEvalError(
                    f"{path}: line {number} has no key '{column}' (its keys: {keys}): add it, or pass {option}"
                    if rows else
                    f"dataset file '{path}' has no column '{column}' (keys of line {number}: {keys}): pass {option}"
                )
        rows.append(Row(number, row))
    return rows


def _text(row: Row, column: str, path: Path) -> str:
    value = row.fields[column]
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise RobustEvalError(f"{path}: line {row.line}: '{column}' is not a text ({type(value).__name__}): write a string")
    return str(value)


def is_empty_text(text: str) -> bool:
    """True when nothing but whitespace and control characters (NUL included) is left."""
    return not any(not c.isspace() and unicodedata.category(c) != "Cc" for c in text)


def _without_empty_texts(dataset: Dataset, where: str) -> Dataset:
    """Leave out (and count) the examples with empty texts; refuse a dataset with no text at all."""
    kept = [e for e in dataset.examples if not is_empty_text(e.text)]
    if not kept:
        raise RobustEvalError(f"{where} has no example with a non-empty text: check --text-column")
    return replace(dataset, examples=kept, empty_texts=len(dataset.examples) - len(kept))


def _encode_labels(raw: Sequence[object], rows: Sequence[str], source: object) -> tuple[list[int], list[str]]:
    """Integer labels stay as they are (names are their digits); names are indexed in sorted order.
    `rows` names each value's place ("line 5") for error messages."""
    values = [str(value).strip() if value is not None else "" for value in raw]
    if "" in values:
        raise RobustEvalError(f"{source}: {rows[values.index('')]} has an empty label: give every example a label")
    if all(_is_int(v) for v in values):
        labels = [int(v) for v in values]
        if min(labels) < 0:
            place = rows[labels.index(min(labels))]
            raise RobustEvalError(f"{source}: {place} has negative label {min(labels)}: labels must be 0..N-1 or names")
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
        labels, names = _encode_labels(raw_labels, [f"example {i}" for i in range(len(raw_labels))], spec)
    texts = ["" if t is None else str(t) for t in table[text_column]]
    examples = [Example(f"{name}-{split}-{i}", t, l) for i, (t, l) in enumerate(zip(texts, labels))]
    if not examples:
        raise RobustEvalError(f"Hugging Face dataset '{name}' split '{split}' is empty: choose another split")
    return _without_empty_texts(Dataset(spec, examples, names), f"Hugging Face dataset '{name}' split '{split}'")


# --- aligning a dataset with a model ----------------------------------------------------------------

# Usual spellings of the same label: compared lower-cased, after these abbreviations are expanded.
LABEL_SYNONYMS = {"neg": "negative", "pos": "positive", "neu": "neutral"}


def parse_label_map(text: str | None) -> dict[str, str]:
    """`--label-map` `DATASET=MODEL,...` (e.g. `negative=NEGATIVE,positive=POSITIVE`, `0=neg,1=pos`)."""
    if not text:
        return {}
    mapping: dict[str, str] = {}
    for item in text.split(","):
        dataset_label, equals, model_label = (part.strip() for part in item.partition("="))
        if not equals or not dataset_label or not model_label:
            raise RobustEvalError(
                f"--label-map item '{item.strip()}' is not DATASET=MODEL: write e.g. --label-map negative=NEG,positive=POS"
            )
        if dataset_label in mapping:
            raise RobustEvalError(f"--label-map maps dataset label '{dataset_label}' twice: give it once")
        mapping[dataset_label] = model_label
    return mapping


def align_labels(dataset: Dataset, model_label_names: Iterable[str], label_map: Mapping[str, str] | None = None) -> Dataset:
    """Re-index the dataset's labels to the model's label order; the result's `alignment` says how.

    In order: `label_map` (dataset label -> model label) when given; the same names; integer labels kept
    as indices; the same names up to case and the usual abbreviations (neg/negative, pos/positive,
    neu/neutral); a model with the default names LABEL_0..LABEL_N-1 taken by position.
    """
    model_names = list(model_label_names)
    pairs = _match_labels(dataset, model_names, dict(label_map or {}))
    remap = [model_names.index(model) for _, model in pairs.pairs]
    examples = [replace(example, label=remap[example.label]) for example in dataset.examples]
    return replace(dataset, examples=examples, label_names=model_names, alignment=pairs)


def _match_labels(dataset: Dataset, model_names: list[str], label_map: dict[str, str]) -> LabelAlignment:
    names = dataset.label_names
    if label_map:
        return _mapped(dataset, model_names, label_map)
    if all(name in model_names for name in names):
        return LabelAlignment("same names", tuple((name, name) for name in names))
    if names == [str(i) for i in range(len(names))]:
        if len(names) > len(model_names):
            raise RobustEvalError(
                f"dataset {dataset.name} has label {len(names) - 1} but the model has {len(model_names)} labels "
                f"({', '.join(model_names)}): use a dataset with matching labels, or pass --label-map"
            )
        return LabelAlignment("indices", tuple((name, model_names[i]) for i, name in enumerate(names)))
    spelled = {_spelling(model): model for model in model_names}
    if len(spelled) == len(model_names) and all(_spelling(name) in spelled for name in names):
        return LabelAlignment("spelling", tuple((name, spelled[_spelling(name)]) for name in names))
    if model_names == [f"LABEL_{i}" for i in range(len(model_names))] and len(names) <= len(model_names):
        return LabelAlignment("position", tuple((name, model_names[i]) for i, name in enumerate(names)))
    unknown = next(name for name in names if name not in model_names and _spelling(name) not in spelled)
    raise RobustEvalError(
        f"dataset label '{unknown}' is not among the model's labels ({', '.join(model_names)}): pass "
        f"--label-map {','.join(f'{n}=MODEL_LABEL' for n in names[:2])},... or use the matching checkpoint"
    )


def _mapped(dataset: Dataset, model_names: list[str], label_map: dict[str, str]) -> LabelAlignment:
    missing = [name for name in dataset.label_names if name not in label_map]
    if missing:
        raise RobustEvalError(
            f"--label-map does not map dataset label '{missing[0]}' (dataset labels: {', '.join(dataset.label_names)}): "
            "map every dataset label"
        )
    extra = [name for name in label_map if name not in dataset.label_names]
    if extra:
        raise RobustEvalError(
            f"--label-map names '{extra[0]}', which is not a label of dataset {dataset.name} "
            f"({', '.join(dataset.label_names)}): use the dataset's label names"
        )
    targets = [label_map[name] for name in dataset.label_names]
    for target in targets:
        if target not in model_names:
            raise RobustEvalError(
                f"--label-map target '{target}' is not a label of the model ({', '.join(model_names)}): use the model's names"
            )
    if len(set(targets)) < len(targets):
        twice = next(t for t in targets if targets.count(t) > 1)
        raise RobustEvalError(f"--label-map maps two dataset labels to model label '{twice}': map each to its own label")
    return LabelAlignment("--label-map", tuple(zip(dataset.label_names, targets)))


def _spelling(name: str) -> str:
    folded = name.strip().lower()
    return LABEL_SYNONYMS.get(folded, folded)
