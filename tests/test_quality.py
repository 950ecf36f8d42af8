"""Example quality: the typed record, the language model, the grammar checker, the word-embedding check,
the batched scorer, and the quality columns of a report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from attacks.constraints.grammar import LinkGrammar, NoNewGrammarErrors, parser_input
from attacks.constraints.perplexity import PerplexityRatio
from attacks.constraints.word_embedding import WordEmbeddingCosine
from attacks.counterfit import CounterFittedVectors
from attacks.quality import swapped_positions
from attacks.result import AttackResult, ExampleQuality
from attacks.text import AttackedText
from eval_support import TEXTS, fitted_checkpoints, main  # noqa: F401 (fixtures)
from quality_support import tiny_language_model
from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError

needs_link_grammar = pytest.mark.skipif(
    resources.link_parser() is None and not os.environ.get("CI"),
    reason="run `robust-eval resources fetch link-grammar`",
)


def result(quality: ExampleQuality | None) -> AttackResult:
    return AttackResult("x1", "a good film", "a fine film", 1, 1, 0, 0.9, 0.4, 7, [1], 3, 1 / 3, "succeeded", 0.1,
                        {"changes": ["good -> fine"]}, quality=quality)


def test_quality_is_stored_with_the_result_and_old_records_load_without() -> None:
    quality = ExampleQuality(0.93, 1.4, 1.0, 0, 1)
    stored = json.loads(json.dumps(result(quality).to_dict()))
    assert stored["quality"] == {"similarity": 0.93, "perplexity_ratio": 1.4, "pos_match": 1.0,
                                 "grammar_errors_added": 0, "swapped_words": 1}
    assert AttackResult.from_dict(stored).quality == quality
    old = {k: v for k, v in stored.items() if k != "quality"}
    assert AttackResult.from_dict(old).quality is None


def test_perplexity_is_the_same_alone_and_in_a_padded_batch(tmp_path: Path) -> None:
    model = tiny_language_model(tmp_path)
    short, long = "a good film", "the story was good and the acting was great , really great"
    alone = model.perplexities([short])[0]
    model._cache.clear()
    batched = model.perplexities([long, short])
    assert batched[1] == pytest.approx(alone, rel=1e-5)
    assert batched[0] != pytest.approx(batched[1])
    vocab_size = model.model.config.vocab_size
    assert 1 < alone < vocab_size * 10  # a random model is near-uniform


def test_perplexity_ratio_keeps_candidates_under_the_bound(tmp_path: Path) -> None:
    model = tiny_language_model(tmp_path)
    original = AttackedText.from_text("the movie was good")
    candidates = [original.replace_words({3: w}) for w in ("great", "fine", "bad")]
    ratios = PerplexityRatio(1.0, model).ratios(candidates, original)
    bound = float(np.median(ratios))
    kept = PerplexityRatio(bound, model).filter(candidates, original)
    assert kept == [bool(r <= bound) for r in ratios] and 1 <= sum(kept) <= 2
    assert PerplexityRatio(1.0, model).filter([original], original) == [True]


def test_swapped_positions_are_one_for_one_replacements_only() -> None:
    original = AttackedText.from_text("The movie is good.")
    assert swapped_positions(original, AttackedText.from_text("The film is good.")) == [1]
    assert swapped_positions(original, AttackedText.from_text("the movie is good.")) == []
    assert swapped_positions(original, AttackedText.from_text("The movie is very good.")) == []


def test_scorer_scores_many_pairs_at_once(tiny_scorer) -> None:
    pairs = [("the movie was good", "the movie was good"), ("the movie was good", "the film was great"),
             ("it is good", "it's good")]
    scores = tiny_scorer.score(pairs)
    assert [q.swapped_words for q in scores] == [0, 2, 0]
    assert scores[0].similarity == pytest.approx(1.0, abs=1e-5)
    assert scores[0].perplexity_ratio == pytest.approx(1.0)
    assert scores[1].similarity < 1 and scores[1].perplexity_ratio != pytest.approx(1.0)
    assert all(q.pos_match is None and q.grammar_errors_added is None for q in scores)  # no tagger, no checker
    assert tiny_scorer.score([]) == []


def test_scorer_attaches_quality_to_successes_only(tiny_scorer) -> None:
    done, failed = result(None), result(None)
    failed.status = "failed"
    tiny_scorer.score_results([done, failed])
    assert done.quality is not None and done.quality.swapped_words == 1 and failed.quality is None


@needs_link_grammar
def test_link_grammar_counts_unlinked_words() -> None:
    checker = LinkGrammar()
    assert checker.unlinked_words(["The movie was great.", "The movies was great.", "The movie was great."]) == [0, 2, 0]
    assert parser_input("!verbosity=5\nhello") == "verbosity=5 hello"
    original = AttackedText.from_text("He goes to the store.")
    good, bad = original.replace_words({1: "walks"}), original.replace_words({1: "go"})
    assert NoNewGrammarErrors(checker).filter([good, bad], original) == [True, False]


class ParserDroppingOneSentence(LinkGrammar):
    """The real parser, except that a batch holding `dropped` yields one result too few (as the parser does
    for the rare line it prints no result for)."""

    dropped = "The film , the film ."

    def _parse(self, texts: list[str]) -> list[int] | None:
        counts = super()._parse(texts)
        return None if self.dropped in texts else counts


@needs_link_grammar
def test_parser_processes_split_a_batch_and_a_sentence_without_result_is_unknown() -> None:
    texts = [f"The movie number {i} was great." for i in range(20)] + ["The movies was great."]
    assert LinkGrammar(processes=3).unlinked_words(texts) == LinkGrammar(processes=1).unlinked_words(texts)
    checker = ParserDroppingOneSentence(processes=1)
    assert checker.unlinked_words(["The movie was great.", checker.dropped, "The movies was great."]) == [0, None, 2]
    original = AttackedText.from_text("The film was the film .")
    unknown, fine = original.replace_words({2: ","}), original.replace_words({1: "movie"})
    assert unknown.text == checker.dropped and NoNewGrammarErrors(checker).filter([unknown, fine], original) == [False, True]
    with pytest.raises(RobustEvalError, match="parser processes must be positive"):
        LinkGrammar(processes=0)


def tiny_vectors(directory: Path) -> CounterFittedVectors:
    """Four words in 2-d: good ~ great, good _|_ bad, film = movie."""
    directory.mkdir()
    words = ["good", "great", "bad", "film", "movie"]
    vectors = np.array([[1, 0], [0.8, 0.6], [0, 1], [0.6, 0.8], [0.6, 0.8]], dtype=np.float32)
    (directory / "words.txt").write_text("\n".join(words), encoding="utf-8")
    np.save(directory / "vectors.npy", vectors)
    np.save(directory / "neighbours.npy", np.zeros((5, 1), dtype=np.int64))
    np.save(directory / "neighbour_cos.npy", np.zeros((5, 1), dtype=np.float32))
    (directory / "info.json").write_text("{}", encoding="utf-8")
    return CounterFittedVectors(directory)


def test_word_embedding_cosine_checks_every_swap(tmp_path: Path) -> None:
    constraint = WordEmbeddingCosine(0.75, vectors=tiny_vectors(tmp_path / "v"))
    original = AttackedText.from_text("a good film")
    great, bad = original.replace_words({1: "great"}), original.replace_words({1: "bad"})
    both = great.replace_words({2: "movie"})
    unknown = original.replace_words({1: "splendid"})
    case = original.replace_words({1: "Good"})
    assert constraint.filter([great, bad, both, unknown, case], original) == [True, False, True, False, True]
    assert WordEmbeddingCosine(0.9, vectors=constraint.vectors).filter([great, both], original) == [False, False]


def test_report_shows_quality_and_dashes_for_records_without(fitted_checkpoints, tmp_path: Path, capsys) -> None:
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in TEXTS), encoding="utf-8")
    out = tmp_path / "run"
    args = ["evaluate", "--data", str(data), "--recipe", "tiny-swap", "--out", str(out), "--no-progress",
            "--model", str(fitted_checkpoints[0])]
    assert main(args) == 0, capsys.readouterr().err
    assert "attacks and example quality" in capsys.readouterr().out
    records = [json.loads(line) for line in (out / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    succeeded = [r for r in records if r["kind"] == "attack" and r["result"]["status"] == "succeeded"]
    assert succeeded and all(r["result"]["quality"]["swapped_words"] >= 1 for r in succeeded)
    assert all(r["result"]["quality"] is None for r in records if r["kind"] == "attack" and r not in succeeded)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    quality = summary["quality"]["tiny-seed0"]["tiny-swap"]
    similarities = [r["result"]["quality"]["similarity"] for r in succeeded]
    assert quality["scored"] == len(succeeded)
    assert quality["similarity_mean"] == pytest.approx(float(np.mean(similarities)))
    assert quality["similarity_median"] == pytest.approx(float(np.median(similarities)))
    assert "## Example quality" in (out / "report.md").read_text(encoding="utf-8")
    for record in records:
        if record["kind"] == "attack":
            record["result"].pop("quality")
    (out / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert main(["report", str(out)]) == 0
    old = json.loads((out / "summary.json").read_text(encoding="utf-8"))["quality"]["tiny-seed0"]["tiny-swap"]
    assert old["scored"] == 0 and old["similarity_mean"] is None
    rows = [line for line in (out / "report.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| tiny-seed0 | tiny-swap |")]
    assert any(line.endswith("| 0 | - | - | - | - | - |") for line in rows)


@pytest.mark.integration
@pytest.mark.skipif(not resources.is_present("smollm2"), reason="run `robust-eval resources fetch smollm2`")
def test_language_model_travels_as_gguf_and_matches_the_fetched_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from attacks.constraints.perplexity import CausalLanguageModel
    from robust_eval import bundle

    texts = ["a good film", "the acting was great"]
    fetched = CausalLanguageModel(resources.require("smollm2"), device="cpu").perplexities(texts)
    manifest = bundle.create(tmp_path / "b", ["smollm2"], [])
    assert manifest["items"]["smollm2"]["archive"] == "smollm2.tar" and manifest["size_bytes"] < 100e6
    monkeypatch.setenv("ROBUST_EVAL_HOME", str(tmp_path / "elsewhere"))
    assert not resources.is_present("smollm2")
    assert bundle.install([tmp_path / "b"]) == ["smollm2"]
    installed = CausalLanguageModel(resources.require("smollm2"), device="cpu").perplexities(texts)
    assert installed == pytest.approx(fetched, rel=1e-4)


def test_quality_command_scores_successes_recorded_without_it(fitted_checkpoints, tmp_path: Path, capsys,
                                                              monkeypatch) -> None:
    import attacks.quality

    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in TEXTS), encoding="utf-8")
    out = tmp_path / "run"
    args = ["evaluate", "--data", str(data), "--recipe", "tiny-swap", "--out", str(out), "--no-progress",
            "--model", str(fitted_checkpoints[0])]
    assert main(args) == 0, capsys.readouterr().err
    scored = [json.loads(line) for line in (out / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    unscored = json.loads(json.dumps(scored))
    for record in unscored[::2]:  # half of the records as if scored where MiniLM was missing
        if record["kind"] == "attack":
            record["result"]["quality"] = None
    (out / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in unscored), encoding="utf-8")
    (out / "annotation").mkdir()
    (out / "annotation" / "key.json").write_text("{}", encoding="utf-8")
    assert main(["quality", str(out), "--out", str(tmp_path / "scored"), "--no-progress"]) == 0
    missing = sum(1 for r in unscored if r["kind"] == "attack" and r["result"]["status"] == "succeeded"
                  and r["result"]["quality"] is None)
    assert missing and f"scored the example quality of {missing} successful attacks" in capsys.readouterr().err
    again = [json.loads(line) for line in (tmp_path / "scored" / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    key = lambda r: (r["kind"], r["checkpoint"], r.get("recipe", ""), r["example_id"])  # noqa: E731
    assert sorted(again, key=key) == sorted(scored, key=key)  # the same scorer gives the same quality
    assert (tmp_path / "scored" / "annotation" / "key.json").is_file()
    assert main(["quality", str(out), "--out", str(tmp_path / "scored"), "--no-progress"]) != 0
    assert "not empty" in capsys.readouterr().err
    monkeypatch.setattr(attacks.quality, "default_scorer", lambda: None)
    assert main(["quality", str(out), "--out", str(tmp_path / "without"), "--no-progress"]) != 0
    assert "needs the minilm resource" in capsys.readouterr().err
