"""SEARs rules: tokenisation, application (literals, placeholders, end anchor, case), rules files."""

from __future__ import annotations

import pytest

from attacks.sears.rules import Rule, join_tokens, load_rules, parse_rules, save_rules, tokenize
from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError


def no_nouns(word: str) -> bool:
    return False


def toy_nouns(word: str) -> bool:
    return word in {"movie", "plot", "theater"}


def test_tokenize_splits_clitics_and_keeps_spans() -> None:
    text = "It's what doesn't work, isn't it?"
    tokens = tokenize(text)
    assert [t.text for t in tokens] == ["It", "'s", "what", "does", "n't", "work", ",", "is", "n't", "it", "?"]
    assert all(text[t.start:t.end] == t.text for t in tokens)
    assert join_tokens(["What", "'s", "this", "?"]) == "What's this?"


@pytest.mark.parametrize(
    ("lhs", "rhs", "text", "expected"),
    [
        ("What is", "What 's", "What is this movie about?", "What's this movie about?"),
        ("What 's", "What is", "what's that", "what is that"),
        ("movie", "film", "A Movie about movies, a movie.", "A Film about movies, a film."),
        ("this", "that", "This is this.", "That is that."),
        ("is", "was", "The plot is thin", "The plot was thin"),
        ("It 's", "It was", "It's great, and it's fun.", "It was great, and it was fun."),
        ("does n't", "does not", "It doesn't  work.", "It does not  work."),
        ("not", "", "It is not good.", "It is good."),
        ("not", "", "Good, not", "Good,"),
        ("{END}", "?", "A good movie", "A good movie?"),
        ("{END}", "?", "Is it good?", "Is it good??"),
        ("? {END}", "!", "Is it good?", "Is it good!"),
    ],
)
def test_literal_rules(lhs: str, rhs: str, text: str, expected: str) -> None:
    assert Rule.parse(lhs, rhs).apply(text, noun=no_nouns) == expected


def test_rules_that_do_not_match_return_none() -> None:
    assert Rule.parse("movie", "film").apply("A moviegoer's delight", noun=no_nouns) is None
    assert Rule.parse("? {END}", "!").apply("Is it? Yes.", noun=no_nouns) is None
    assert Rule.parse("{END}", "?").apply("", noun=no_nouns) is None


def test_placeholders_bind_and_copy_words() -> None:
    assert Rule.parse("{DET} {NOUN}", "it").apply("The movie is great", noun=toy_nouns) == "It is great"
    assert Rule.parse("{DET} {NOUN}", "this").apply("I hated a plot", noun=toy_nouns) == "I hated this"
    assert Rule.parse("{DET} {NOUN}", "the {NOUN}").apply("This plot, that movie", noun=toy_nouns) == "The plot, the movie"
    # "no" is no {DET}: rewriting it would turn the meaning around.
    assert Rule.parse("{DET} {NOUN}", "the {NOUN}").apply("It has no plot", noun=toy_nouns) is None
    # A noun followed by another noun is a compound: replacing only its first word would break it.
    assert Rule.parse("{DET} {NOUN}", "it").apply("the movie theater", noun=toy_nouns) is None


@pytest.mark.skipif(not resources.is_present("wordnet"), reason="WordNet is not installed (robust-eval resources fetch wordnet)")
def test_wordnet_noun_heuristic() -> None:
    from attacks.sears.rules import is_noun

    assert all(is_noun(w) for w in ["movie", "film", "plot", "story", "director"])
    assert not any(is_noun(w) for w in ["great", "run", "it", "the", "movies", "quickly", "love"])
    assert Rule.parse("{DET} {NOUN}", "it").apply("The story drags.") == "It drags."


def test_invalid_rules_are_one_line_errors() -> None:
    for lhs, rhs, message in [
        ("", "x", "empty left-hand side"),
        ("{VERB}", "x", "unknown placeholder"),
        ("{END} a", "b", "may only end"),
        ("a", "{NOUN}", "not on the left"),
        ("Movie", "movie", "changes nothing"),
    ]:
        with pytest.raises(RobustEvalError, match=message):
            Rule.parse(lhs, rhs)


def test_rules_files_round_trip(tmp_path) -> None:
    rules = [Rule.parse("movie", "film", support=7, flips=2), Rule.parse("{DET} {NOUN}", "it", support=1)]
    for name in ("rules.json", "rules.tsv"):
        path = save_rules(rules, tmp_path / name, meta={"data": "test"})
        loaded = load_rules(path)
        assert [(r.lhs, r.rhs, r.support, r.flips) for r in loaded] == [(r.lhs, r.rhs, r.support, r.flips) for r in rules]


def test_rewrites_next_to_clitics_keep_their_spacing() -> None:
    assert Rule.parse("'s", "is").apply("It's fine.", noun=no_nouns) == "It is fine."
    assert Rule.parse("is", "'s").apply("It is fine.", noun=no_nouns) == "It's fine."


def test_bad_rules_files(tmp_path) -> None:
    with pytest.raises(RobustEvalError, match="neither a rule set .* nor an existing file"):
        load_rules(tmp_path / "missing.json")
    with pytest.raises(RobustEvalError, match="must end in"):
        (tmp_path / "r.yaml").write_text("x")
        load_rules(tmp_path / "r.yaml")
    with pytest.raises(RobustEvalError, match="not valid JSON"):
        parse_rules("{", "json")
    with pytest.raises(RobustEvalError, match="needs string fields"):
        parse_rules('{"rules": [{"lhs": 1}]}', "json")
    with pytest.raises(RobustEvalError, match="line 2 needs"):
        parse_rules("# comment\nonly-one-field\n", "tsv")
    with pytest.raises(RobustEvalError, match="non-integer"):
        parse_rules("a\tb\tmany\n", "tsv")


def test_hand_written_rules_cover_the_paper_kinds() -> None:
    rules = {str(r) for r in load_rules("hand-written")}
    for kind in ["What is -> What 's", "movie -> film", "film -> movie", "this -> that", "is -> was",
                 "It 's -> It was", "{DET} {NOUN} -> it", "{DET} {NOUN} -> this", "{DET} {NOUN} -> that", "{END} -> ?"]:
        assert kind in rules
