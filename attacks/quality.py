"""Example quality of successful attacks: how similar, fluent and grammatical the adversarial text stays.

Following Morris et al. (2020, "Reevaluating Adversarial Examples in Natural Language"), each pair
(original, perturbed) gets
- `similarity`: cosine of MiniLM mean-pooled embeddings of the whole two texts;
- `perplexity_ratio`: SmolLM2-135M perplexity of the perturbed text / of the original (see
  attacks.constraints.perplexity); > 1 means the perturbation made the text less fluent;
- `pos_match`: share of swapped words whose part of speech (universal tag from spaCy's tagger,
  attacks.tagging; each text tagged whole, so in context) equals the original word's;
- `grammar_errors_added`: Link Grammar unlinked words of the perturbed text minus the original's.
A `QualityScorer` takes many pairs per call: every model runs once over the batch (the language model
pads the batch, see `CausalLanguageModel`). Parts whose resource is absent give None.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

import numpy as np

from attacks.result import AttackResult, ExampleQuality
from attacks.text import AttackedText
from robust_eval.core import resources

if TYPE_CHECKING:
    from attacks.constraints.grammar import LinkGrammar
    from attacks.constraints.perplexity import CausalLanguageModel
    from attacks.constraints.similarity import SentenceEncoder


class Tagger(Protocol):
    """Part-of-speech tags of every word of each text (tagged in context)."""

    def word_tags(self, texts: Sequence[AttackedText]) -> list[tuple[str, ...]]: ...


def swapped_positions(original: AttackedText, perturbed: AttackedText) -> list[int]:
    """Indices of words replaced one for one (case-insensitively); none when the word count changed."""
    if len(original) != len(perturbed):
        return []
    return [i for i, (a, b) in enumerate(zip(original.words, perturbed.words)) if a.lower() != b.lower()]


class QualityScorer:
    """Scores (original, perturbed) pairs in batches; `language_model`, `tagger` and `grammar` are optional."""

    def __init__(
        self,
        encoder: "SentenceEncoder",
        language_model: "CausalLanguageModel | None" = None,
        tagger: Tagger | None = None,
        grammar: "LinkGrammar | None" = None,
        coarse_tag: Callable[[str], str] = str,
    ) -> None:
        """`coarse_tag` maps the tagger's tags to the classes compared (e.g. Penn Treebank -> universal)."""
        self.encoder = encoder
        self.language_model = language_model
        self.tagger = tagger
        self.grammar = grammar
        self.coarse_tag = coarse_tag

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[ExampleQuality]:
        """One `ExampleQuality` per (original, perturbed) pair."""
        if not pairs:
            return []
        originals = [a for a, _ in pairs]
        perturbed = [b for _, b in pairs]
        similarity = self._similarities(originals, perturbed)
        ratios = self._perplexity_ratios(originals, perturbed)
        texts = [(AttackedText.from_text(a), AttackedText.from_text(b)) for a, b in pairs]
        swaps = [swapped_positions(a, b) for a, b in texts]
        pos = self._pos_matches(texts, swaps)
        grammar = self._grammar_added(originals, perturbed)
        return [
            ExampleQuality(float(similarity[i]), ratios[i], pos[i], grammar[i], len(swaps[i]))
            for i in range(len(pairs))
        ]

    def score_results(self, results: Sequence[AttackResult]) -> None:
        """Attach quality to every successful result (others are left without)."""
        successes = [r for r in results if r.status == "succeeded"]
        for result, quality in zip(successes, self.score([(r.original_text, r.perturbed_text) for r in successes])):
            result.quality = quality

    def _similarities(self, originals: list[str], perturbed: list[str]) -> np.ndarray:
        left, right = self.encoder.encode(originals), self.encoder.encode(perturbed)
        return (left * right).sum(axis=1)

    def _perplexity_ratios(self, originals: list[str], perturbed: list[str]) -> list[float | None]:
        if self.language_model is None:
            return [None] * len(originals)
        values = self.language_model.perplexities(originals + perturbed)
        return [float(b / a) for a, b in zip(values[: len(originals)], values[len(originals):])]

    def _pos_matches(self, texts: list[tuple[AttackedText, AttackedText]], swaps: list[list[int]]) -> list[float | None]:
        if self.tagger is None:
            return [None] * len(texts)
        wanted = [k for k, positions in enumerate(swaps) if positions]
        tags = self.tagger.word_tags([t for k in wanted for t in texts[k]]) if wanted else []
        matches: list[float | None] = [None] * len(texts)
        for slot, k in enumerate(wanted):
            before, after = tags[2 * slot], tags[2 * slot + 1]
            same = [self.coarse_tag(before[i]) == self.coarse_tag(after[i]) for i in swaps[k]]
            matches[k] = sum(same) / len(same)
        return matches

    def _grammar_added(self, originals: list[str], perturbed: list[str]) -> list[int | None]:
        if self.grammar is None:
            return [None] * len(originals)
        counts = self.grammar.unlinked_words(originals + perturbed)
        return [None if a is None or b is None else b - a for a, b in zip(counts[: len(originals)], counts[len(originals):])]


@lru_cache(maxsize=1)
def default_scorer() -> QualityScorer | None:
    """The scorer built from the resources present (None without MiniLM: nothing to score with)."""
    if not resources.is_present("minilm"):
        return None
    from attacks.constraints.similarity import minilm_encoder

    language_model = tagger = grammar = None
    coarse: Callable[[str], str] = str
    if resources.is_present("smollm2"):
        from attacks.constraints.perplexity import smollm2

        language_model = smollm2()
    if resources.is_present("tagger"):
        from attacks.tagging import default_tagger, universal_pos

        tagger, coarse = default_tagger(), universal_pos
    if resources.is_present("link-grammar"):
        from attacks.constraints.grammar import link_grammar

        grammar = link_grammar()
    return QualityScorer(minilm_encoder(), language_model, tagger, grammar, coarse)


def score_successes(results: Sequence[AttackResult]) -> None:
    """Attach example quality to the successful `results` with the default scorer (if MiniLM is present)."""
    scorer = default_scorer()
    if scorer is not None:
        scorer.score_results(results)
