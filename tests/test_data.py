"""Dataset specs, local file parsing, label alignment and the committed MR split."""

from __future__ import annotations

from pathlib import Path

import pytest

from robust_eval.core import data
from robust_eval.core.errors import RobustEvalError


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_csv_with_label_names(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", 'text,label\n"good, really",pos\nawful film,neg\nfine,pos\n')
    dataset = data.load_dataset(str(path))
    assert dataset.label_names == ["neg", "pos"]
    assert [(e.text, e.label) for e in dataset.examples] == [("good, really", 1), ("awful film", 0), ("fine", 1)]
    assert len({e.id for e in dataset.examples}) == 3


def test_tsv_with_custom_columns_and_int_labels(tmp_path: Path) -> None:
    path = write(tmp_path / "d.tsv", "sentence\ty\nthe plot was dull\t0\nloved it\t1\n")
    dataset = data.load_dataset(str(path), text_column="sentence", label_column="y")
    assert [e.label for e in dataset.examples] == [0, 1]
    assert dataset.label_names == ["0", "1"]


def test_jsonl_skips_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", '{"text": "good", "label": 1}\n\n{"text": "bad", "label": 0}\n')
    assert [e.text for e in data.load_dataset(str(path)).examples] == ["good", "bad"]


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("empty.csv", "", "has no examples"),
        ("header_only.csv", "text,label\n", "has no examples"),
        ("no_label.csv", "text,stars\ngood,5\n", "no column 'label'"),
        ("no_text.jsonl", '{"sentence": "x", "label": 1}\n', "no column 'text'"),
        ("latin1.csv", "text,label\ncaf\xe9,1\n".encode("latin-1"), "is not UTF-8"),
        ("broken.jsonl", '{"text": "x", "label": 1}\n{"text": \n', "line 2 is not valid JSON"),
        ("blank_label.csv", "text,label\ngood,\n", "empty label"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, name: str, content: str | bytes, fragment: str) -> None:
    with pytest.raises(RobustEvalError, match=fragment) as raised:
        data.load_dataset(str(write(tmp_path / name, content)))
    assert "\n" not in str(raised.value)


def test_missing_file_and_unknown_spec(tmp_path: Path) -> None:
    with pytest.raises(RobustEvalError, match="does not exist"):
        data.load_dataset(str(tmp_path / "absent.csv"))
    with pytest.raises(RobustEvalError, match="unknown dataset 'imdb'"):
        data.load_dataset("imdb")
    with pytest.raises(RobustEvalError, match="unknown MR split 'validation'"):
        data.load_dataset("mr:validation")
    with pytest.raises(RobustEvalError, match="hf:NAME:SPLIT"):
        data.load_dataset("hf:rotten_tomatoes")


def test_head_rejects_non_positive_limits(tmp_path: Path) -> None:
    dataset = data.load_dataset(str(write(tmp_path / "d.csv", "text,label\na,0\nb,1\n")))
    assert len(dataset.head(1)) == 1 and len(dataset.head(None)) == 2
    for limit in (0, -3):
        with pytest.raises(RobustEvalError, match="--limit must be a positive"):
            dataset.head(limit)


def test_align_labels_maps_names_to_model_order(tmp_path: Path) -> None:
    dataset = data.load_dataset(str(write(tmp_path / "d.csv", "text,label\na,Positive\nb,negative\n")))
    aligned = data.align_labels(dataset, ["negative", "positive"])
    assert [e.label for e in aligned.examples] == [1, 0]
    with pytest.raises(RobustEvalError, match="'Positive' is not among the model's labels"):
        data.align_labels(dataset, ["spam", "ham"])


def test_align_labels_checks_integer_range(tmp_path: Path) -> None:
    dataset = data.load_dataset(str(write(tmp_path / "d.csv", "text,label\na,0\nb,2\n")))
    with pytest.raises(RobustEvalError, match="has label 2 but the model has 2 labels"):
        data.align_labels(dataset, ["negative", "positive"])


def test_committed_mr_split_is_disjoint_and_sized() -> None:
    splits = data.mr_split_ids()
    sizes = {name: len(ids) for name, ids in splits.items()}
    assert sizes == {"train": 8568, "dev": 1000, "test": 1000}
    assert len(set().union(*splits.values())) == sum(sizes.values())


def test_hf_dataset_offline_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RobustEvalError, match="could not load Hugging Face dataset 'no_such_dataset_xyz'"):
        data.load_dataset("hf:no_such_dataset_xyz:test")


@pytest.mark.integration
def test_mr_splits_from_the_real_file() -> None:
    examples = data.read_mr_sentences()
    assert len(examples) == 10_568
    assert sum(e.label for e in examples) == 5_242
    test = data.load_dataset("mr:test")
    assert len(test) == 1000 and test.label_names == ["negative", "positive"]
    assert 0.45 < sum(e.label for e in test.examples) / len(test) < 0.55
    train_ids = {e.id for e in data.load_dataset("mr:train").examples}
    assert len(train_ids) == 8568 and not train_ids & {e.id for e in test.examples}
