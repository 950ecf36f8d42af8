"""SEAR mining: alignment into small rules, support, the 10 % equivalence rejection, selection on held-out data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from attack_victims import LexiconVictim
from attacks.sears.mining import (
    Candidate, CheckedRule, MiningSettings, candidate_rules, check_equivalence, mine, propose,
)
from attacks.sears.rules import Rule
from attacks.sears.selection import HeldOutEvidence, held_out_evidence, select
from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError

needs_mt = pytest.mark.skipif(
    resources.apertium_modes_dir() is None or not resources.is_present("minilm") or not resources.is_present("wordnet"),
    reason="needs Apertium, MiniLM and WordNet (robust-eval resources fetch)",
)


def toy_nouns(word: str) -> bool:
    return word in {"movie", "film", "plot", "story"}


def rules_of(found) -> set[str]:
    return {f"{' '.join(lhs)} -> {' '.join(rhs)}" for lhs, rhs in found}


def test_propose_aligns_each_change_with_context() -> None:
    found = rules_of(propose("It is a smart movie about love.", "It is a clever movie on love.", noun=toy_nouns,
                             generalise=False))
    # Each changed block alone and with one token of context on either side or both ...
    assert {"smart -> clever", "a smart -> a clever", "smart movie -> clever movie", "a smart movie -> a clever movie",
            "about -> on", "movie about -> movie on", "about love -> on love", "movie about love -> movie on love"} <= found
    # ... and the span holding every difference (the paper's candidate), within four tokens a side.
    assert {"smart movie about -> clever movie on", "a smart movie about -> a clever movie on"} <= found
    assert "a smart movie about love -> a clever movie on love" not in found
    assert all(len(side.split()) <= 4 for rule in found for side in rule.split(" -> "))


def test_propose_keeps_at_most_four_tokens_a_side() -> None:
    found = rules_of(propose("one two three four five six", "uno dos tres cuatro cinco six", noun=toy_nouns))
    assert found == set()  # five tokens changed in one block
    found = rules_of(propose("a b c d e", "a x y z w e", max_tokens=4, noun=toy_nouns, generalise=False))
    assert found == {"b c d -> x y z w"}  # with a token of context the right-hand side has five


def test_propose_only_keeps_rules_that_reproduce_the_change() -> None:
    # "movie -> film" would also rewrite the first "movie", which the paraphrase kept.
    found = rules_of(propose("a movie and the movie", "a movie and the film", noun=toy_nouns, generalise=False))
    assert found == {"the movie -> the film"}


def test_propose_generalises_determiners_and_nouns() -> None:
    found = rules_of(propose("I liked this plot a lot.", "I liked the plot a lot.", noun=toy_nouns))
    assert "this -> the" in found
    assert "{DET} plot -> the plot" in found and "this {NOUN} -> the {NOUN}" in found
    assert "{DET} {NOUN} -> the {NOUN}" in found


def test_candidates_count_support_per_sentence_over_pivots() -> None:
    sentences = ["the movie was fun", "a movie , a movie", "the plot"]
    paraphrases = {"spa": ["the film was fun", "a film , a film", "the story"], "cat": ["the film was fun", "", ""]}
    candidates = candidate_rules(sentences, paraphrases, MiningSettings(min_support=2, generalise=False), toy_nouns)
    movie = next(c for c in candidates if str(c.rule) == "movie -> film")
    assert movie.support == 2 and movie.sentences == {0, 1} and movie.pivots == ("cat", "spa")
    assert all(c.support >= 2 for c in candidates)
    assert "plot -> story" not in {str(c.rule) for c in candidates}  # one sentence only


def test_rule_rejected_when_more_than_ten_percent_are_not_equivalent() -> None:
    settings = MiningSettings(min_applications=5, max_rejected=0.1)
    candidate = Candidate(Rule.parse("movie", "film"), frozenset({0}), ("spa",))
    assert CheckedRule(candidate, 10, 1).kept(settings)  # exactly 10 %
    assert not CheckedRule(candidate, 10, 2).kept(settings)  # 20 %
    assert not CheckedRule(candidate, 4, 0).kept(settings)  # too few applications to judge
    with pytest.raises(RobustEvalError, match="max rejected"):
        MiningSettings(max_rejected=1.0)


def evidence(rule: str, flips: dict[int, float], applications: int = 10, equivalent: int = 10) -> HeldOutEvidence:
    return HeldOutEvidence(Rule.parse(*rule.split(" -> ")), applications, equivalent, flips)


def test_selection_maximises_coverage_of_equivalent_flips() -> None:
    many = evidence("movie -> film", {0: 1.0, 1: 1.0, 2: 1.0})
    same = evidence("film -> movie", {0: 1.0, 1: 1.0})  # covers nothing new once `many` is chosen
    other = evidence("is -> was", {3: 1.0, 4: 1.0})
    unsafe = evidence("good -> bad", {5: 1.0, 6: 1.0, 7: 1.0, 8: 1.0}, applications=10, equivalent=8)
    chosen = select([same, many, other, unsafe], sentences=10, budget=5)
    assert [str(e.rule) for e in chosen.chosen] == ["movie -> film", "is -> was"]
    assert chosen.gains == [3.0, 2.0] and chosen.covered == 5
    assert [str(e.rule) for e in select([many, other], sentences=10, budget=1).chosen] == ["movie -> film"]
    rules = chosen.rules()
    assert rules[0].flips == 3 and rules[0].extra["heldout_flip_rate"] == 0.3
    # The unsafe rule is not eligible at all; the redundant one can follow the chosen ones with gain 0.
    assert [str(e.rule) for e in chosen.unchosen] == ["film -> movie"]
    assert [(str(r), r.extra["selection_gain"]) for r in chosen.rules(with_unchosen=True)][2] == ("film -> movie", 0.0)


def test_review_file_verdicts(tmp_path) -> None:
    from attacks.sears.selection import read_review

    path = tmp_path / "review.tsv"
    path.write_text("# read by a person\nrule\tverdict\treason\nits -> his\treject\tchanges the referent\n"
                    "movie -> film\taccept\tsame meaning\n")
    assert read_review(path) == {"its -> his": "reject", "movie -> film": "accept"}
    path.write_text("rule\tverdict\treason\nits -> his\tmaybe\t\n")
    with pytest.raises(RobustEvalError, match="row 2 needs a rule and a verdict"):
        read_review(path)


def test_selection_weights_flips_by_their_equivalence_score() -> None:
    weak = evidence("a -> one", {0: 0.5, 1: 0.5, 2: 0.5})
    strong = evidence("movie -> film", {0: 1.0, 1: 1.0})
    chosen = select([weak, strong], sentences=3, budget=2)
    assert [str(e.rule) for e in chosen.chosen] == ["movie -> film", "a -> one"]
    assert chosen.gains == [2.0, 0.5]


@needs_mt
def test_equivalence_check_and_held_out_evidence_with_real_mt() -> None:
    from attacks.constraints.back_translation import DEFAULT_THRESHOLD, BackTranslationScore

    texts = [f"The movie is {w}." for w in ["long", "short", "fun", "slow", "loud", "odd"]]
    candidates = [Candidate(Rule.parse("movie", "film"), frozenset({0}), ("spa",)),
                  Candidate(Rule.parse("is", "is not"), frozenset({0}), ("spa",))]
    score = BackTranslationScore()
    checked = check_equivalence(candidates, texts, [score], MiningSettings(applications=6))
    assert [(c.applications, c.not_equivalent) for c in checked][0] == (6, 0)
    assert checked[1].not_equivalent >= 5 and not checked[1].kept(MiningSettings())
    victim = LexiconVictim({"film": -3.0, "movie": 1.0})
    found, correct = held_out_evidence([Rule.parse("movie", "film")], texts, [1] * 6, victim.predict_proba, score,
                                       DEFAULT_THRESHOLD)
    assert correct == 6 and found[0].applications == 6 and set(found[0].flips) == set(range(6))
    assert found[0].flip_rate == 1.0 and found[0].example == (texts[0], "The film is long.")


@needs_mt
def test_a_second_pivot_rejects_what_the_first_cannot_tell_apart() -> None:
    from attacks.constraints.back_translation import BackTranslationScore
    from attacks.translation import ApertiumTranslator

    texts = ["The film wears its heart on its sleeve.", "The town and its people.", "A story with its own logic.",
             "The band and its music.", "The show lost its way.", "The company and its workers."]
    candidate = Candidate(Rule.parse("its", "his"), frozenset({0}), ("spa",))
    spanish = BackTranslationScore()  # Spanish "su" is its and his alike
    esperanto = BackTranslationScore(ApertiumTranslator("en", "eo"), spanish.encoder)
    settings = MiningSettings(applications=6)
    assert check_equivalence([candidate], texts, [spanish], settings)[0].kept(settings)
    assert not check_equivalence([candidate], texts, [spanish, esperanto], settings)[0].kept(settings)
    with pytest.raises(RobustEvalError, match="check pivot"):
        MiningSettings(check_pivots=("xx",))


@needs_mt
def test_mine_end_to_end_keeps_equivalent_supported_rules() -> None:
    sentences = [f"The movie is {w}." for w in ["long", "short", "fun", "slow", "loud", "odd", "new"]]
    result = mine(sentences, pivots=[("eng", "spa")], settings=MiningSettings(min_support=3))
    assert result.sentences == 7 and result.paraphrases["spa"] >= 3
    kept = {str(c.candidate.rule) for c in result.kept(MiningSettings(min_support=3))}
    assert "movie -> film" in kept
    with pytest.raises(RobustEvalError, match="pivot"):
        mine(sentences, pivots=[])


@needs_mt
def test_sears_mine_and_select_commands_write_rules_and_statistics(tmp_path, tiny_checkpoint) -> None:
    import typer
    from typer.testing import CliRunner

    from attacks.sears.cli import register
    from attacks.sears.rules import load_rules

    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"The movie is {w}.,1\n" for w in ["long", "short", "fun", "slow", "odd"]))
    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    mined, selected, stats = tmp_path / "mined.json", tmp_path / "selected.json", tmp_path / "stats.json"
    result = CliRunner().invoke(app, ["sears", "mine", "--data", str(data), "--pivots", "spa", "--output", str(mined),
                                      "--stats", str(stats), "--min-support", "2"])
    assert result.exit_code == 0, result.output
    assert "movie -> film" in {str(r) for r in load_rules(mined)}
    assert json.loads(mined.read_text())["meta"]["mine_command"].startswith("robust-eval sears mine --data")
    review = tmp_path / "review.tsv"
    review.write_text("rule\tverdict\treason\nmovie -> film\treject\tfor the test\n")
    result = CliRunner().invoke(app, ["sears", "select", "--rules", str(mined), "--model", str(tiny_checkpoint()),
                                      "--heldout", str(data), "--output", str(selected), "--stats", str(stats),
                                      "--review", str(review)])
    assert result.exit_code == 0, result.output
    assert "movie -> film" not in {str(r) for r in load_rules(selected)}
    meta = json.loads(selected.read_text())["meta"]
    assert meta["select_command"].startswith("robust-eval sears select") and meta["pivots"] == ["spa"]
    assert meta["review"]["rejected"] == 1
    record = json.loads(stats.read_text())
    assert record["sentences"] == 5 and record["kept"] >= 1 and record["selection"]["heldout_correct"] >= 0
    assert stats.with_suffix(".md").read_text().startswith("# SEAR mining statistics")
    assert all(r.flips >= 1 for r in load_rules(selected))  # the selection keeps only rules that flip something
    test_split = CliRunner().invoke(app, ["sears", "select", "--rules", str(mined), "--model", "x", "--heldout", "mr:test"])
    assert test_split.exit_code != 0 and "never on the test split" in str(test_split.exception)


def test_held_out_evidence_needs_a_label_per_text() -> None:
    victim = LexiconVictim()
    with pytest.raises(RobustEvalError, match="one label per text"):
        held_out_evidence([Rule.parse("movie", "film")], ["a movie"], [], victim.predict_proba,
                          lambda a, b: np.ones(len(a)), 0.9)
