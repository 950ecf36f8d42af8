"""Part-of-speech-aware swaps: inflection, WordNet synonyms of the tagged part of speech, the part-of-speech
constraint, and constraints that compare with the text before the swap (real WordNet and tagger)."""

from __future__ import annotations

from typing import Sequence

import pytest

from attack_victims import LexiconVictim
from attacks.constraints import PartOfSpeech, SentenceSimilarity
from attacks.core import Attack, Constraint
from attacks.goals import UntargetedClassification
from attacks.search import GreedyWordImportance
from attacks.text import AttackedText
from attacks.transformations.inflection import inflect
from robust_eval.core import resources
from robust_eval.core.data import Example
from robust_eval.core.errors import RobustEvalError
from test_attack_engine import DictionarySwap

needs_tagger = pytest.mark.skipif(
    not (resources.is_present("tagger") and resources.is_present("wordnet")),
    reason="run `robust-eval resources fetch tagger wordnet`",
)


@pytest.mark.parametrize("lemma, tag, form", [
    ("actor", "NNS", "actors"), ("give", "VBD", "gave"), ("give", "VBZ", "gives"), ("give", "VBG", "giving"),
    ("give", "VBN", "given"), ("good", "JJR", "better"), ("fast", "RBR", "faster"), ("film", "NN", "film"),
    ("histrion", "NN", "histrion"), ("beneficial", "JJR", None), ("movie", "DT", None),
])
def test_inflection_follows_the_tag_or_gives_up(lemma: str, tag: str, form: str | None) -> None:
    assert inflect(lemma, tag) == form


@needs_tagger
def test_wordnet_synonyms_keep_part_of_speech_and_form() -> None:
    from attacks.transformations.wordnet import PosWordNetSwap, WordNetSynonymSwap

    swap = PosWordNetSwap()
    text = AttackedText.from_text("the actors gave a brilliant play , and it will play well")
    actors, gave, a, play_noun, will, play_verb = (swap.substitutes_in(text, [i])[0] for i in (1, 2, 3, 5, 8, 9))
    assert "thespians" in actors and "actor" not in actors and "thespian" not in actors
    assert "afforded" in gave and "afford" not in gave
    assert a == [] and will == []  # no WordNet part of speech for determiners and modals
    assert "drama" in play_noun and "playact" not in play_noun
    assert "playact" in play_verb and "drama" not in play_verb
    assert "drama" in WordNetSynonymSwap().substitutes("play")  # the TextDefender profile ignores the tag
    dreamt = AttackedText.from_text("she dreamt of it")
    assert "dreamed" not in swap.substitutes_in(dreamt, [1])[0]  # the word's own lemma is no substitute


@needs_tagger
def test_part_of_speech_constraint_compares_window_tags() -> None:
    original = AttackedText.from_text("the actors played their roles brilliantly")
    candidates = [original.replace_words({5: new}) for new in ("superbly", "superb", "performance")]
    candidates.append(original.replace_words({2: "acted"}))
    assert PartOfSpeech(radius=2).filter(candidates, original) == [True, False, False, True]
    assert PartOfSpeech(allow_noun_verb=False).agrees("VBD", "NN") is False
    assert PartOfSpeech(allow_noun_verb=True).agrees("VBD", "NN") is True
    assert PartOfSpeech(allow_noun_verb=True).agrees("JJ", "RB") is False


class RecordingConstraint(Constraint):
    """Keeps every candidate and remembers the reference texts it was given."""

    def __init__(self, compare_against_original: bool, lazy: bool = False) -> None:
        self.compare_against_original = compare_against_original
        self.lazy = lazy
        self.references: list[str] = []

    def filter(self, candidates: Sequence[AttackedText], original: AttackedText) -> list[bool]:
        self.references.append(original.text)
        return [True] * len(candidates)


@pytest.mark.parametrize("against_original", [True, False])
def test_constraints_see_the_original_or_the_text_before_the_swap(against_original: bool) -> None:
    recorder = RecordingConstraint(against_original)
    attack = Attack(UntargetedClassification(), DictionarySwap({"good": ["awful"], "great": ["fine"]}), [recorder],
                    GreedyWordImportance("delete"))
    result = attack.attack(LexiconVictim(), Example("r", "good and great", 1))
    assert result.status == "succeeded" and result.perturbed_text == "awful and fine"  # "great" first, then "good"
    expected = ["good and great", "good and fine"] if not against_original else ["good and great"] * 2
    assert recorder.references == expected


def test_lazy_constraints_cannot_compare_with_the_previous_text() -> None:
    with pytest.raises(RobustEvalError, match="build it with lazy=False"):
        Attack(UntargetedClassification(), DictionarySwap({}), [RecordingConstraint(False, lazy=True)],
               GreedyWordImportance())


def test_similarity_window_follows_the_newest_swap() -> None:
    words = " ".join(f"w{i}" for i in range(30))
    original = AttackedText.from_text(words)
    previous = original.replace_words({3: "x"})
    candidate = previous.replace_words({20: "y"})
    constraint = SentenceSimilarity(window=5, compare_against_original=False)
    assert constraint.pair(candidate, previous) == ("w18 w19 y w21 w22", "w18 w19 w20 w21 w22")
    assert constraint.pair(candidate, original)[0].split()[0] == "x"  # against the original: both swaps


def test_short_texts_skip_the_windowed_similarity() -> None:
    class Refusing:
        def encode(self, texts):
            raise AssertionError("a text shorter than the window was encoded")

    constraint = SentenceSimilarity(0.99, window=15, encoder=Refusing(), skip_short_texts=True)
    original = AttackedText.from_text("a short text of six words")
    assert constraint.filter([original.replace_words({1: "tiny"})], original) == [True]
