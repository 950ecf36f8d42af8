"""Mining candidate SEARs from back-translated paraphrases (Ribeiro et al., ACL 2018, Section 3).

1. Paraphrase: every sentence goes through each pivot language and back (Apertium; `PIVOTS` lists the
   English pairs Debian ships in both directions). A paraphrase is kept only if it is equivalent to its
   sentence (back-translation score >= threshold): rules come from equivalent paraphrases, as in the paper.
2. Propose: the tokens of sentence and paraphrase are aligned (difflib, case-insensitive). As in the paper,
   the minimal span holding every difference is a candidate, with and without one token of context on
   each side, when both sides have at most `max_tokens` tokens. Rule-based MT usually changes a sentence
   in several unrelated places, so each changed block is also a candidate on its own (with the same
   context variants). A candidate is kept only if applying it to the sentence reproduces that change.
   Part-of-speech generalisation: a determiner may become `{DET}` and a noun `{NOUN}` (at most one of
   each, copied to the right-hand side where the word is copied), as in the paper's `DET NN -> the NN`.
   The paper generalises to any spaCy tag; the two placeholders of `attacks.sears.rules` are what this
   rule language matches without a tagger.
3. Support: the number of sentences whose equivalent paraphrases show the rule (any pivot).
4. Equivalence: each candidate with enough support is applied to up to `applications` sentences of the
   check set (sampled with a fixed seed) and every (x, rule(x)) pair is scored; the rule is rejected when
   more than `max_rejected` (10 %, the paper's delta) of its applications are not equivalent, or when it
   has fewer than `min_applications` applications to judge from. An application is equivalent when its
   back-translation score reaches the threshold through every pivot of `check_pivots` (Spanish and
   Esperanto by default): one rule-based pivot is blind to its own ambiguities (Spanish "su" is its / his /
   her / their, "en" is in / on / at, "listo" smart / ready), so rules such as `its -> his` pass the
   Spanish score alone; a second, unrelated pivot tells those words apart.
Selection on held-out data with a model (flips and coverage) is `attacks.sears.selection`.
"""

from __future__ import annotations

import difflib
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import product
from typing import Callable, Sequence

import numpy as np

from attacks.constraints.back_translation import DEFAULT_THRESHOLD, BackTranslationScore
from attacks.sears.rules import DETERMINERS, Rule, Token, is_noun, tokenize
from attacks.translation import ApertiumTranslator
from robust_eval.core.errors import RobustEvalError

# (source, pivot) codes of the English Apertium pairs in Debian that translate both ways. apertium-eu-en,
# apertium-isl-eng and apertium-mkd-eng translate into English only, so they cannot round-trip.
PIVOTS: tuple[tuple[str, str], ...] = (("eng", "spa"), ("eng", "cat"), ("en", "gl"), ("en", "eo"), ("eng", "hbs"))
ONE_WAY_PAIRS = ("eu-en", "isl-eng", "mkd-eng")
DEFAULT_PIVOT = "spa"  # the pivot of attacks.constraints.back_translation's score and calibrated threshold

RuleKey = tuple[tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True)
class MiningSettings:
    """Thresholds of the mining procedure (the paper's where it gives one: <= 4 tokens, delta = 10 %)."""

    max_tokens: int = 4
    min_support: int = 3
    max_candidates: int = 1500
    applications: int = 20
    min_applications: int = 5
    threshold: float = DEFAULT_THRESHOLD
    max_rejected: float = 0.1
    generalise: bool = True
    check_pivots: tuple[str, ...] = ("spa", "eo")
    seed: int = 0

    def __post_init__(self) -> None:
        counts = (self.max_tokens, self.min_support, self.max_candidates, self.applications, self.min_applications)
        if min(counts) < 1:
            raise RobustEvalError("max tokens, min support, candidate and application counts must be positive integers")
        if not 0 <= self.max_rejected < 1:
            raise RobustEvalError(f"max rejected share must be in [0, 1), got {self.max_rejected}")
        unknown = [p for p in self.check_pivots if p not in {pivot for _, pivot in PIVOTS}]
        if unknown or not self.check_pivots:
            raise RobustEvalError(f"unknown check pivot(s) {', '.join(unknown) or '(none given)'}: choose from "
                                  f"{', '.join(p for _, p in PIVOTS)}")


@dataclass(frozen=True)
class Candidate:
    """A proposed rule with its support: the sentences (indices) and pivots whose paraphrases show it."""

    rule: Rule
    sentences: frozenset[int]
    pivots: tuple[str, ...]

    @property
    def support(self) -> int:
        return len(self.sentences)


@dataclass(frozen=True)
class CheckedRule:
    """A candidate after the equivalence check on its applications."""

    candidate: Candidate
    applications: int
    not_equivalent: int

    @property
    def rejected_share(self) -> float:
        return self.not_equivalent / self.applications if self.applications else 1.0

    def kept(self, settings: MiningSettings) -> bool:
        return self.applications >= settings.min_applications and self.rejected_share <= settings.max_rejected

    def rule(self) -> Rule:
        """The rule with its support and mining evidence in `extra`."""
        candidate = self.candidate
        extra = {"pivots": list(candidate.pivots), "check_applications": self.applications,
                 "check_not_equivalent": self.not_equivalent}
        return Rule(candidate.rule.lhs, candidate.rule.rhs, support=candidate.support, source="mined", extra=extra)


@dataclass
class MiningResult:
    """What each stage produced, for the mining statistics."""

    sentences: int
    paraphrases: dict[str, int]
    equivalent_paraphrases: dict[str, int]
    candidates: int
    checked: list[CheckedRule]
    seconds: dict[str, float] = field(default_factory=dict)

    def kept(self, settings: MiningSettings) -> list[CheckedRule]:
        return [c for c in self.checked if c.kept(settings)]


CHUNK = 100  # sentences (or pairs) per MT request: small requests keep every pipeline stage's buffers short


def back_translations(sentences: Sequence[str], pivots: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Round trips of every sentence through each (source, pivot) pair, `CHUNK` sentences per request."""
    found = {}
    for source, pivot in pivots:
        translator = ApertiumTranslator(source, pivot)
        found[pivot] = [t for i in range(0, len(sentences), CHUNK) for t in translator.back_translate(sentences[i:i + CHUNK])]
    return found


def scores_in_chunks(score: BackTranslationScore, originals: Sequence[str], candidates: Sequence[str],
                     progress: Callable[[str], None] | None = None) -> np.ndarray:
    """`score(originals, candidates)`, `CHUNK` pairs per call (with a progress line every 2,000 pairs)."""
    parts = []
    for begin in range(0, len(originals), CHUNK):
        parts.append(score(originals[begin: begin + CHUNK], candidates[begin: begin + CHUNK]))
        done = min(begin + CHUNK, len(originals))
        if progress and (done % 2000 < CHUNK or done == len(originals)):
            progress(f"  {done}/{len(originals)} pairs scored")
    return np.concatenate(parts) if parts else np.zeros(0)


def _lowered(tokens: Sequence[Token]) -> list[str]:
    return [t.text.replace("’", "'").lower() for t in tokens]


Block = tuple[int, int, int, int]  # tokens [i1, i2) of the sentence became tokens [j1, j2) of the paraphrase


def _blocks(left: list[str], right: list[str]) -> list[Block]:
    """The changed blocks of an alignment, left to right."""
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in
            difflib.SequenceMatcher(a=left, b=right, autojunk=False).get_opcodes() if tag != "equal"]


def _with_blocks(left: list[str], right: list[str], blocks: Sequence[Block]) -> list[str]:
    """The sentence's tokens with only `blocks` changed as in the paraphrase."""
    out, cursor = [], 0
    for i1, i2, j1, j2 in sorted(blocks):
        out += left[cursor:i1] + right[j1:j2]
        cursor = i2
    return out + left[cursor:]


def _sides(left: list[str], right: list[str], block: Block, before: int, after: int) -> tuple[list[str], list[str]] | None:
    """Both sides of `block` with `before` / `after` tokens of context, None where the context runs out."""
    i1, i2, j1, j2 = block
    if i1 - before < 0 or i2 + after > len(left):
        return None
    return left[i1 - before:i2 + after], left[i1 - before:i1] + right[j1:j2] + left[i2:i2 + after]


def _generalisations(lhs: list[str], rhs: list[str], noun: Callable[[str], bool], generalise: bool) -> list[RuleKey]:
    """The literal rule and its variants with `{DET}` / `{NOUN}` (at most one of each) for eligible words."""
    options = []
    for word in lhs:
        choices = [word]
        if generalise and word in DETERMINERS:
            choices.append("{DET}")
        elif generalise and noun(word):
            choices.append("{NOUN}")
        options.append(choices)
    keys = []
    for pattern in product(*options):
        placeholders = [p for p in pattern if p.startswith("{")]
        if len(placeholders) != len(set(placeholders)):
            continue
        bound = {word: p for word, p in zip(lhs, pattern) if p.startswith("{")}
        replaced = tuple(bound.get(word, word) for word in rhs)
        keys.append((tuple(pattern), replaced))
    return keys


def propose(original: str, paraphrase: str, max_tokens: int = 4, noun: Callable[[str], bool] = is_noun,
            generalise: bool = True) -> set[RuleKey]:
    """Candidate rules `(lhs, rhs)` that turn `original` into `paraphrase` at one changed span (see the
    module docstring); lower-cased tokens. A candidate must reproduce its change when applied to `original`:
    the changed block, together with any other block making the very same change (the paraphrase may turn
    both "movie"s into "film"), or the whole paraphrase for the span holding every difference."""
    left, right = _lowered(tokenize(original)), _lowered(tokenize(paraphrase))
    blocks = _blocks(left, right)
    spans = blocks + ([(blocks[0][0], blocks[-1][1], blocks[0][2], blocks[-1][3])] if len(blocks) > 1 else [])
    found: set[RuleKey] = set()
    for number, block in enumerate(spans):
        for before, after in ((0, 0), (1, 0), (0, 1), (1, 1)):
            sides = _sides(left, right, block, before, after)
            if sides is None:
                continue
            lhs, rhs = sides
            if not lhs or len(lhs) > max_tokens or len(rhs) > max_tokens or lhs == rhs:
                continue
            if not any(c.isalpha() for c in "".join(lhs)) or any(t.startswith("{") for t in lhs + rhs):
                continue
            if number < len(blocks):
                expected = _with_blocks(left, right, [b for b in blocks if _sides(left, right, b, before, after) == sides])
            else:
                expected = right
            for key in _generalisations(lhs, rhs, noun, generalise):
                if key in found:
                    continue
                rewritten = Rule(*key).apply(original, noun=noun)
                if rewritten is not None and _lowered(tokenize(rewritten)) == expected:
                    found.add(key)
    return found


def candidate_rules(
    sentences: Sequence[str], paraphrases: dict[str, Sequence[str]], settings: MiningSettings,
    noun: Callable[[str], bool] = is_noun,
) -> list[Candidate]:
    """Rules proposed by at least `min_support` sentences, most supported first (`max_candidates` of them)."""
    where: dict[RuleKey, set[int]] = defaultdict(set)
    pivots: dict[RuleKey, set[str]] = defaultdict(set)
    for pivot, texts in paraphrases.items():
        for number, (original, paraphrase) in enumerate(zip(sentences, texts)):
            if not paraphrase:
                continue
            for key in propose(original, paraphrase, settings.max_tokens, noun, settings.generalise):
                where[key].add(number)
                pivots[key].add(pivot)
    ranked = sorted(
        (key for key, found in where.items() if len(found) >= settings.min_support),
        key=lambda k: (-len(where[k]), len(k[0]), k),
    )
    return [Candidate(Rule(*key, source="mined"), frozenset(where[key]), tuple(sorted(pivots[key])))
            for key in ranked[: settings.max_candidates]]


def applications(rule: Rule, texts: Sequence[str], index: dict[str, set[int]], limit: int, rng: random.Random,
                 noun: Callable[[str], bool] = is_noun) -> list[tuple[str, str]]:
    """Up to `limit` (text, rule(text)) pairs, sampled from the texts the rule applies to."""
    literal = [t for t in rule.pattern if not t.startswith("{")]
    pool = sorted(set.intersection(*(index.get(t, set()) for t in literal))) if literal else list(range(len(texts)))
    rng.shuffle(pool)
    found = []
    for number in pool:
        rewritten = rule.apply(texts[number], noun=noun)
        if rewritten is not None:
            found.append((texts[number], rewritten))
            if len(found) == limit:
                break
    return found


def token_index(texts: Sequence[str]) -> dict[str, set[int]]:
    """Lower-cased token -> indices of the texts holding it."""
    index: dict[str, set[int]] = defaultdict(set)
    for number, text in enumerate(texts):
        for token in _lowered(tokenize(text)):
            index[token].add(number)
    return index


def check_equivalence(
    candidates: Sequence[Candidate], texts: Sequence[str], scores: Sequence[BackTranslationScore],
    settings: MiningSettings, noun: Callable[[str], bool] = is_noun, progress: Callable[[str], None] | None = None,
) -> list[CheckedRule]:
    """Apply each candidate to up to `settings.applications` of `texts` and count non-equivalent rewrites.

    A rewrite is equivalent when its score through every one of `scores` (one per check pivot) reaches the
    threshold. The pivots are tried in turn; a rule already rejected is not scored through the next one
    (its count of non-equivalent applications is then a lower bound).
    """
    rng = random.Random(settings.seed)
    index = token_index(texts)
    pairs: list[tuple[int, str, str]] = []
    for number, candidate in enumerate(candidates):
        pairs += [(number, x, y) for x, y in applications(candidate.rule, texts, index, settings.applications, rng, noun)]
    total = [0] * len(candidates)
    for number, _, _ in pairs:
        total[number] += 1
    passed = [True] * len(pairs)
    for score in scores:
        bad = [0] * len(candidates)
        for k, (number, _, _) in enumerate(pairs):
            bad[number] += not passed[k]
        alive = [k for k, (number, _, _) in enumerate(pairs) if bad[number] <= settings.max_rejected * total[number]
                 and passed[k]]
        values = scores_in_chunks(score, [pairs[k][1] for k in alive], [pairs[k][2] for k in alive], progress)
        for k, value in zip(alive, values):
            passed[k] = bool(value >= settings.threshold)
    bad = [0] * len(candidates)
    for k, (number, _, _) in enumerate(pairs):
        bad[number] += not passed[k]
    return [CheckedRule(c, total[n], bad[n]) for n, c in enumerate(candidates)]


def mine(
    sentences: Sequence[str],
    check_texts: Sequence[str] | None = None,
    pivots: Sequence[tuple[str, str]] = PIVOTS,
    score: BackTranslationScore | None = None,
    settings: MiningSettings = MiningSettings(),
    paraphraser: Callable[[Sequence[str], Sequence[tuple[str, str]]], dict[str, list[str]]] = back_translations,
    progress: Callable[[str], None] | None = None,
) -> MiningResult:
    """Stages 1-4 of the module docstring; `check_texts` (default: `sentences`) are where rules are applied
    for the equivalence check."""
    sentences = list(dict.fromkeys(s for s in sentences if s.strip()))
    if not sentences:
        raise RobustEvalError("rule mining needs at least one non-empty sentence: check the dataset")
    if not pivots:
        raise RobustEvalError("rule mining needs at least one pivot language: see attacks.sears.mining.PIVOTS")
    score = score or BackTranslationScore()
    say = progress or (lambda message: None)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    round_trips = paraphraser(sentences, pivots)
    seconds["paraphrase"] = time.perf_counter() - started
    say(f"paraphrased {len(sentences)} sentences through {', '.join(round_trips)} ({seconds['paraphrase']:.0f} s)")

    started = time.perf_counter()
    equivalent: dict[str, list[str]] = {}
    for pivot, texts in round_trips.items():
        changed = [i for i, text in enumerate(texts) if text and text.lower() != sentences[i].lower()]
        values = scores_in_chunks(score, [sentences[i] for i in changed], [texts[i] for i in changed])
        keep = {i for i, value in zip(changed, values) if value >= settings.threshold}
        equivalent[pivot] = [text if i in keep else "" for i, text in enumerate(texts)]
    seconds["paraphrase_equivalence"] = time.perf_counter() - started
    say(f"equivalent paraphrases: {', '.join(f'{p} {sum(map(bool, t))}' for p, t in equivalent.items())}")

    started = time.perf_counter()
    candidates = candidate_rules(sentences, equivalent, settings)
    seconds["propose"] = time.perf_counter() - started
    say(f"{len(candidates)} candidate rules with support >= {settings.min_support} ({seconds['propose']:.0f} s); "
        "checking their equivalence")

    started = time.perf_counter()
    sources = {pivot: source for source, pivot in PIVOTS}
    check_scores = [score if pivot == DEFAULT_PIVOT else BackTranslationScore(ApertiumTranslator(sources[pivot], pivot), score.encoder)
                    for pivot in settings.check_pivots]
    checked = check_equivalence(candidates, list(check_texts or sentences), check_scores, settings, progress=say)
    seconds["equivalence"] = time.perf_counter() - started
    return MiningResult(
        sentences=len(sentences),
        paraphrases={p: sum(bool(t) and t.lower() != s.lower() for t, s in zip(texts, sentences)) for p, texts in round_trips.items()},
        equivalent_paraphrases={p: sum(map(bool, t)) for p, t in equivalent.items()},
        candidates=len(candidates),
        checked=checked,
        seconds=seconds,
    )
