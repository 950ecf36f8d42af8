"""The `sears` and `bt-filtered` recipes and rule mining, with a transparent lexicon victim and real MT."""

from __future__ import annotations

import pytest

from attack_victims import LexiconVictim
from attacks.registry import build_recipe
from attacks.sears.mining import MiningSettings, candidate_rules, extract_replacements, mine_rules
from attacks.sears.rules import Rule, save_rules
from attacks.sears.search import rule_flip_rates
from robust_eval.core import resources
from robust_eval.core.data import Example

needs_mt = pytest.mark.skipif(
    resources.apertium_modes_dir() is None or not resources.is_present("minilm") or not resources.is_present("wordnet"),
    reason="needs Apertium, MiniLM and WordNet (robust-eval resources fetch)",
)


def test_extract_replacements_aligns_small_spans() -> None:
    found = extract_replacements("It's a movie about love, and it's fun.", "It is a film about love, and it is funny.")
    assert (("'s",), ("is",)) in found
    assert (("movie",), ("film",)) in found
    assert (("'s", "fun"), ("is", "funny")) in found  # adjacent changes form one span
    assert not extract_replacements("a b c d e f", "u v w x y z", max_tokens=4)


def test_candidate_rules_count_support_per_sentence() -> None:
    sentences = ["the movie was fun", "a movie , a movie", "the plot"]
    paraphrases = ["the film was fun", "a film , a film", "the story"]
    rules = candidate_rules(sentences, paraphrases, MiningSettings(min_support=2))
    assert [(str(r), r.support) for r in rules] == [("movie -> film", 2)]


@needs_mt
def test_sears_flips_with_an_equivalent_rule_and_counts_flips(tmp_path) -> None:
    victim = LexiconVictim({"good": 1.0, "film": -3.0, "bad": -1.0})
    attack = build_recipe("sears")
    results = [attack.attack(victim, Example(str(i), t, 1)) for i, t in enumerate(["The movie is good.", "This is a good plot."])]
    first = results[0]
    assert first.status == "succeeded" and first.perturbed_text == "The film is good."
    assert victim.predict_proba([first.perturbed_text])[0].argmax() != 1
    assert first.details["rule_flips"] == {"movie -> film": 1}
    assert "is -> was" in first.details["rules_applied"]
    assert results[1].status == "failed"
    rates = rule_flip_rates(results)
    assert rates["movie -> film"] == {"applied": 1, "flips": 1, "rate": 1.0}
    assert rates["all"]["rate"] == 0.5
    # An antonym rule flips the lexicon victim too, but the back-translation filter rejects it.
    rules = save_rules([Rule.parse("good", "bad")], tmp_path / "antonym.tsv")
    rejected = build_recipe("sears", {"rules": str(rules)}).attack(victim, Example("x", "The plot is good.", 1))
    assert rejected.status == "failed" and rejected.details["rule_flips"] == {}
    accepted = build_recipe("sears", {"rules": str(rules), "equivalence": "none"}).attack(victim, Example("x", "The plot is good.", 1))
    assert accepted.status == "succeeded" and accepted.perturbed_text == "The plot is bad."


@needs_mt
def test_bt_filtered_keeps_swaps_that_survive_back_translation() -> None:
    victim = LexiconVictim({"good": 1.0, "film": -3.0, "bad": -1.0, "sound": 2.0})
    result = build_recipe("bt-filtered").attack(victim, Example("y", "A movie with good sound.", 1))
    assert result.status == "succeeded"
    assert "film" in result.perturbed_text.lower()
    assert victim.predict_proba([result.perturbed_text])[0].argmax() == 0


@needs_mt
def test_mining_finds_equivalent_rules_and_ranks_by_flips() -> None:
    sentences = [f"The movie is {w}." for w in ["long", "short", "fun", "slow", "loud", "odd"]] + ["I saw the movie twice."]
    victim = LexiconVictim({"film": -3.0, "movie": 1.0})
    rules = mine_rules(sentences, predict=victim.predict_proba, settings=MiningSettings(min_support=3))
    best = rules[0]
    assert str(best) == "movie -> film"
    assert best.support >= 3 and best.flips == best.extra["applications"] == 7
    assert best.extra["equivalent_rate"] >= 0.9


@needs_mt
def test_sears_mine_command_writes_a_rules_file_the_recipe_loads(tmp_path) -> None:
    import typer
    from typer.testing import CliRunner

    from attacks.sears.cli import register

    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"The movie is {w}.,1\n" for w in ["long", "short", "fun", "slow"]))
    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    output = tmp_path / "mined.tsv"
    result = CliRunner().invoke(app, ["sears", "mine", "--data", str(data), "--output", str(output), "--min-support", "2"])
    assert result.exit_code == 0, result.output
    assert "movie -> film" in result.output
    attack = build_recipe("sears", {"rules": str(output)})
    assert [str(r) for r in attack.transformation.rules][0] == "movie -> film"
