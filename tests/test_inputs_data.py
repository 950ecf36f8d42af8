"""Local dataset files as users write them: quoting, row-numbered errors, huge fields, empty texts; and the
dataset-to-model label mapping (explicit, by spelling, by position)."""

from __future__ import annotations

from pathlib import Path

import pytest

from robust_eval.core import data
from robust_eval.core.errors import RobustEvalError


def write(path: Path, content: str | bytes) -> str:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return str(path)


def rows(dataset: data.Dataset) -> list[tuple[str, str]]:
    return [(e.text, dataset.label_names[e.label]) for e in dataset.examples]


def test_tsv_quotes_are_text_and_never_merge_lines(tmp_path: Path) -> None:
    content = 'text\tlabel\n"Great" fun\tpos\nan "unclosed quote\tneg\nsays ""hi""\tpos\nlast one\tneg\n'
    dataset = data.load_dataset(write(tmp_path / "q.tsv", content))
    assert rows(dataset) == [('"Great" fun', "pos"), ('an "unclosed quote', "neg"), ('says ""hi""', "pos"), ("last one", "neg")]


def test_csv_follows_rfc_4180_quoting(tmp_path: Path) -> None:
    content = 'text,label\n"""Great"" fun",pos\n"a, b",neg\nsays "hi" twice,pos\n"two\nlines",neg\n'
    dataset = data.load_dataset(write(tmp_path / "q.csv", content))
    assert rows(dataset) == [('"Great" fun', "pos"), ("a, b", "neg"), ('says "hi" twice', "pos"), ("two\nlines", "neg")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("badquote.csv", 'text,label\ngood,pos\n"Great" fun,pos\n', r"line 3 is not valid CSV .*double its quotes"),
        ("unclosed.csv", 'text,label\ngood,pos\n"never closed,neg\nok,pos\n', r"line 3 is not valid CSV"),
        ("extra.csv", "text,label\ngood,pos\nfunny, sad,neg\n", r"line 3 has 3 fields but the header has 2 .*unquoted comma"),
        ("short.csv", "text,label,source\ngood,pos,web\nbad,neg\n", r"line 3 has 2 fields but the header has 3"),
        ("tab.tsv", "text\tlabel\na\ttab\tneg\n", r"line 2 has 3 fields but the header has 2 \(a tab inside a text"),
        ("twice.csv", "text,text,label\na,b,pos\n", r"line 1 names column 'text' twice"),
        ("nokey.jsonl", '{"text": "good", "label": 1}\n\n{"review": "bad", "label": 0}\n',
         r"line 3 has no key 'text' \(its keys: review, label\)"),
        ("nolabel.jsonl", '{"text": "good"}\n', r"has no column 'label' \(keys of line 1: text\): pass --label-column"),
        ("notext.jsonl", '{"text": ["a"], "label": 1}\n', r"line 1: 'text' is not a text \(list\)"),
        ("emptylabel.tsv", "text\tlabel\ngood\tpos\nbad\t\n", r"line 3 has an empty label"),
        ("negative.csv", "text,label\ngood,1\nbad,-1\n", r"line 3 has negative label -1"),
        ("latin1.csv", "text,label\nok,1\ncaf\xe9,1\n".encode("latin-1"), r"is not UTF-8 \(line 3, byte 19\)"),
        ("allempty.csv", 'text,label\n"  ",pos\n"\0",neg\n', r"has no example with a non-empty text"),
    ],
)
def test_bad_rows_are_one_line_errors_with_their_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    with pytest.raises(RobustEvalError, match=message) as raised:
        data.load_dataset(write(tmp_path / name, content))
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_fields_over_128_kb_are_read(tmp_path: Path, suffix: str) -> None:
    long_text = "word " * 60_000  # 300 KB
    separator = "," if suffix == ".csv" else "\t"
    dataset = data.load_dataset(write(tmp_path / f"long{suffix}", f"text{separator}label\n{long_text}{separator}1\nshort{separator}0\n"))
    assert [len(e.text) for e in dataset.examples] == [len(long_text), 5]


def test_empty_whitespace_and_nul_texts_are_left_out_and_counted(tmp_path: Path) -> None:
    content = 'text,label\ngood,pos\n,neg\n"   ",pos\n"\0\0",neg\n"\t\x07",pos\nbad,neg\n'
    dataset = data.load_dataset(write(tmp_path / "empty.csv", content))
    assert rows(dataset) == [("good", "pos"), ("bad", "neg")]
    assert dataset.empty_texts == 4
    assert [e.id for e in dataset.examples] == ["empty-0", "empty-5"]  # ids keep the row position
    assert data.load_dataset(write(tmp_path / "full.csv", "text,label\na,1\n")).empty_texts == 0
    jsonl = data.load_dataset(write(tmp_path / "e.jsonl", '{"text": null, "label": 0}\n{"text": "x", "label": 1}\n'))
    assert jsonl.empty_texts == 1 and len(jsonl) == 1


def test_is_empty_text() -> None:
    assert data.is_empty_text("") and data.is_empty_text(" \t\n\0\x1b") and not data.is_empty_text("\0a")


# --- label mapping ---------------------------------------------------------------------------------


def dataset_with(labels: list[str]) -> data.Dataset:
    names = sorted(set(labels)) if not all(x.isdigit() for x in labels) else [str(i) for i in range(max(map(int, labels)) + 1)]
    examples = [data.Example(f"e{i}", f"text {i}", names.index(label)) for i, label in enumerate(labels)]
    return data.Dataset("d", examples, names)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("negative=NEGATIVE,positive=POSITIVE", {"negative": "NEGATIVE", "positive": "POSITIVE"}),
        ("0=neg, 1=pos", {"0": "neg", "1": "pos"}),
        ("", {}),
        (None, {}),
    ],
)
def test_parse_label_map(text: str | None, expected: dict[str, str]) -> None:
    assert data.parse_label_map(text) == expected


@pytest.mark.parametrize(("text", "message"), [("negative", "not DATASET=MODEL"), ("a=b,a=c", "maps dataset label 'a' twice"),
                                               ("=x", "not DATASET=MODEL")])
def test_bad_label_maps(text: str, message: str) -> None:
    with pytest.raises(RobustEvalError, match=message):
        data.parse_label_map(text)


def test_explicit_label_map_reorders_and_is_recorded() -> None:
    dataset = dataset_with(["negative", "positive", "positive"])
    aligned = data.align_labels(dataset, ["POS", "NEG"], data.parse_label_map("negative=NEG,positive=POS"))
    assert [e.label for e in aligned.examples] == [1, 0, 0] and aligned.label_names == ["POS", "NEG"]
    assert aligned.alignment == data.LabelAlignment("--label-map", (("negative", "NEG"), ("positive", "POS")))
    assert aligned.alignment.to_dict() == {"method": "--label-map", "pairs": [["negative", "NEG"], ["positive", "POS"]]}
    assert aligned.alignment.message == "labels mapped by --label-map: negative -> NEG, positive -> POS"
    integers = data.align_labels(dataset_with(["0", "1"]), ["pos", "neg"], {"0": "neg", "1": "pos"})
    assert [e.label for e in integers.examples] == [1, 0]


@pytest.mark.parametrize(
    ("model", "method", "labels"),
    [
        (["negative", "positive"], "same names", [0, 1, 1]),
        (["NEGATIVE", "POSITIVE"], "spelling", [0, 1, 1]),
        (["pos", "neg"], "spelling", [1, 0, 0]),
        (["LABEL_0", "LABEL_1"], "position", [0, 1, 1]),
        (["Neutral", "Negative", "Positive"], "spelling", [1, 2, 2]),
    ],
)
def test_usual_spellings_are_mapped_with_one_line(model: list[str], method: str, labels: list[int]) -> None:
    aligned = data.align_labels(dataset_with(["negative", "positive", "positive"]), model)
    assert aligned.alignment.method == method and [e.label for e in aligned.examples] == labels
    if method == "same names":
        assert aligned.alignment.message is None
    else:
        assert aligned.alignment.message.startswith(f"labels mapped by {method}: negative -> ")
        assert "--label-map" in aligned.alignment.message and "\n" not in aligned.alignment.message


@pytest.mark.parametrize(
    ("label_map", "model", "message"),
    [
        ({"negative": "NEG"}, ["NEG", "POS"], "does not map dataset label 'positive'"),
        ({"negative": "NEG", "positive": "POS", "meh": "NEG"}, ["NEG", "POS"], "names 'meh', which is not a label"),
        ({"negative": "NEG", "positive": "GOOD"}, ["NEG", "POS"], "target 'GOOD' is not a label of the model"),
        ({"negative": "NEG", "positive": "NEG"}, ["NEG", "POS"], "two dataset labels to model label 'NEG'"),
        (None, ["spam", "ham"], r"dataset label 'negative' is not among the model's labels \(spam, ham\): pass --label-map"),
    ],
)
def test_label_mapping_errors(label_map: dict[str, str] | None, model: list[str], message: str) -> None:
    with pytest.raises(RobustEvalError, match=message):
        data.align_labels(dataset_with(["negative", "positive"]), model, label_map)
