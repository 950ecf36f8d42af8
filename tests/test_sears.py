"""The `sears` and `bt-filtered` recipes: single rules, then pairs; flip rates; filter counts (real MT)."""

from __future__ import annotations

import pytest

from attack_victims import LexiconVictim
from attacks.registry import build_recipe
from attacks.sears.outcome import DETAILS_KEY, RuleApplication, SearsDetails, flip_rates
from attacks.sears.rules import Rule, load_rules, save_rules
from robust_eval.core.errors import RobustEvalError
from robust_eval.core import resources
from robust_eval.core.data import Example

needs_mt = pytest.mark.skipif(
    resources.apertium_modes_dir() is None or not resources.is_present("minilm") or not resources.is_present("wordnet"),
    reason="needs Apertium, MiniLM and WordNet (robust-eval resources fetch)",
)


def record(status: str, applications: list[RuleApplication], pair_flips: list[str] | None = None) -> dict:
    details = SearsDetails(applications, 3 if pair_flips is not None else 0, pair_flips or [])
    return {"status": status, "original_text": "The movie is good.", "details": {DETAILS_KEY: details.to_dict()}}


def test_flip_rate_is_flips_over_equivalent_applications() -> None:
    results = [
        record("succeeded", [RuleApplication("movie -> film", True, True, "The film is good."),
                             RuleApplication("is -> was", False, False)]),
        record("failed", [RuleApplication("movie -> film", True, False), RuleApplication("is -> was", True, False)]),
        record("failed", [RuleApplication("movie -> film", False, False)]),
        record("succeeded", [RuleApplication("movie -> film", True, False)], pair_flips=["movie -> film + is -> was"]),
        record("skipped", [RuleApplication("movie -> film", True, True)]),  # misclassified: not counted
    ]
    rates = flip_rates(results)
    movie = next(r for r in rates.rules if r.rule == "movie -> film")
    assert (movie.applications, movie.equivalent, movie.flips) == (4, 3, 1)
    assert movie.rate == pytest.approx(1 / 3)  # the non-equivalent application is not in the denominator
    assert movie.example == ("The movie is good.", "The film is good.")
    was = next(r for r in rates.rules if r.rule == "is -> was")
    assert (was.applications, was.equivalent, was.flips, was.rate) == (2, 1, 0, 0.0)
    assert (rates.attacked, rates.flipped_by_one_rule, rates.flipped_by_a_pair) == (4, 1, 1)
    assert rates.rate == 0.5
    assert SearsDetails.from_dict(SearsDetails([RuleApplication("a -> b", True, False)], 2, ["x"]).to_dict()).pairs_tried == 2


def test_shipped_rule_sets_load_by_name() -> None:
    mined, hand = load_rules(), load_rules("hand-written")
    assert mined and all(r.source == "mined" for r in mined)
    assert "movie -> film" in {str(r) for r in hand}
    assert {str(r) for r in load_rules("mined")} == {str(r) for r in mined}


@needs_mt
def test_sears_records_every_application_and_flips_with_an_equivalent_rule(tmp_path) -> None:
    victim = LexiconVictim({"good": 1.0, "film": -3.0, "bad": -1.0})
    attack = build_recipe("sears", {"rules": "hand-written"})
    results = [attack.attack(victim, Example(str(i), t, 1)) for i, t in enumerate(["The movie is good.", "This is a good plot."])]
    first = results[0]
    assert first.status == "succeeded" and first.perturbed_text == "The film is good."
    details = SearsDetails.from_dict(first.details[DETAILS_KEY])
    by_rule = {a.rule: a for a in details.applications}
    assert by_rule["movie -> film"] == RuleApplication("movie -> film", True, True, "The film is good.")
    assert by_rule["is -> was"].flipped is False
    assert results[1].status == "failed"
    # An antonym rule flips the lexicon victim too, but is not equivalent: recorded as such, no flip.
    rules = save_rules([Rule.parse("good", "bad")], tmp_path / "antonym.tsv")
    rejected = build_recipe("sears", {"rules": str(rules)}).attack(victim, Example("x", "The plot is good.", 1))
    assert rejected.status == "failed"
    assert SearsDetails.from_dict(rejected.details[DETAILS_KEY]).applications == [RuleApplication("good -> bad", False, False)]
    accepted = build_recipe("sears", {"rules": str(rules), "equivalence": "none"}).attack(victim, Example("x", "The plot is good.", 1))
    assert accepted.status == "succeeded" and accepted.perturbed_text == "The plot is bad."


@needs_mt
def test_sears_tries_pairs_of_rules_when_no_single_rule_flips(tmp_path) -> None:
    victim = LexiconVictim({"film": -0.6, "not": -0.6}, bias=1.0)
    rules = save_rules([Rule.parse("movie", "film"), Rule.parse("does n't", "does not")], tmp_path / "two.tsv")
    text = "The movie doesn't disappoint."
    result = build_recipe("sears", {"rules": str(rules)}).attack(victim, Example("p", text, 1))
    assert result.status == "succeeded" and result.perturbed_text == "The film does not disappoint."
    details = SearsDetails.from_dict(result.details[DETAILS_KEY])
    assert [a.flipped for a in details.applications] == [False, False]
    assert details.pairs_tried == 1 and details.pair_flips == ["movie -> film + does n't -> does not"]
    singles_only = build_recipe("sears", {"rules": str(rules), "pairs": False}).attack(victim, Example("p", text, 1))
    assert singles_only.status == "failed" and SearsDetails.from_dict(singles_only.details[DETAILS_KEY]).pairs_tried == 0


def test_pairs_need_matches_that_share_no_token() -> None:
    from attacks.sears.rules import apply_together

    film, the_film = Rule.parse("movie", "film"), Rule.parse("the movie", "this film")
    assert apply_together([film, Rule.parse("is", "was")], "The movie is fun.", noun=lambda w: False) == "The film was fun."
    assert apply_together([film, the_film], "The movie is fun.", noun=lambda w: False) is None
    assert apply_together([film, Rule.parse("plot", "story")], "The movie is fun.", noun=lambda w: False) is None


@needs_mt
def test_bt_filtered_keeps_swaps_that_survive_back_translation_and_counts_rejections() -> None:
    from attacks.constraints.back_translation import FilterCounts

    victim = LexiconVictim({"good": 1.0, "film": -3.0, "bad": -1.0, "sound": 2.0})
    result = build_recipe("bt-filtered").attack(victim, Example("y", "A movie with good sound.", 1))
    assert result.status == "succeeded"
    assert "film" in result.perturbed_text.lower()
    assert victim.predict_proba([result.perturbed_text])[0].argmax() == 0
    counts = FilterCounts.of_result(result.to_dict())
    assert counts is not None and counts.checked > counts.rejected > 0  # WordNet offers swaps MT does not keep
