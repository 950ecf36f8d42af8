"""Mining SEARs rules from back-translated paraphrases (Ribeiro et al., ACL 2018, Section 3).

1. Paraphrase every sentence by back-translation (one batched MT call).
2. Align original and paraphrase tokens (difflib, case-insensitive) and extract each replaced span of
   1-4 tokens on both sides as a candidate rule `original span -> paraphrase span`.
3. Count support: the number of sentences whose paraphrase shows the rule; keep rules with enough support.
4. Keep rules whose applications stay equivalent: apply each rule to up to `applications` sentences and
   score every (x, rule(x)) pair with the back-translation score; as in the paper, a rule is rejected when
   more than `max_rejected` (10 %) of its applications score below the threshold.
5. With a victim, count flips: equivalent applications whose predicted class differs from the original's;
   rules are ranked by flips, then support (without a victim: by support).
The paper generalises rules with POS tags; mined rules here are literal token sequences (placeholders
such as `{NOUN}` exist only in hand-written rules).
"""

from __future__ import annotations

import difflib
import random
from collections import Counter
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from attacks.constraints.back_translation import DEFAULT_THRESHOLD, BackTranslationScore
from attacks.sears.rules import Rule, tokenize
from attacks.translation import Translator
from robust_eval.core.errors import RobustEvalError


@dataclass(frozen=True)
class MiningSettings:
    """Thresholds of the mining procedure (defaults follow the paper where it gives one)."""

    max_tokens: int = 4
    min_support: int = 3
    max_candidates: int = 300
    applications: int = 30
    min_applications: int = 3
    threshold: float = DEFAULT_THRESHOLD
    max_rejected: float = 0.1
    top: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_tokens < 1 or self.min_support < 1 or self.applications < 1 or self.min_applications < 1:
            raise RobustEvalError("max tokens, min support and application counts must be positive integers")
        if not 0 <= self.max_rejected < 1:
            raise RobustEvalError(f"max rejected share must be in [0, 1), got {self.max_rejected}")


def extract_replacements(original: str, paraphrase: str, max_tokens: int = 4) -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Replaced spans of 1..`max_tokens` tokens on both sides, lower-cased, containing a letter."""
    left = [t.text.lower() for t in tokenize(original)]
    right = [t.text.lower() for t in tokenize(paraphrase)]
    found = set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=left, b=right, autojunk=False).get_opcodes():
        if tag != "replace" or not (1 <= i2 - i1 <= max_tokens and 1 <= j2 - j1 <= max_tokens):
            continue
        lhs, rhs = tuple(left[i1:i2]), tuple(right[j1:j2])
        if any(c.isalpha() for c in "".join(lhs)) and not any(t.startswith("{") for t in lhs + rhs):
            found.add((lhs, rhs))
    return found


def candidate_rules(sentences: Sequence[str], paraphrases: Sequence[str], settings: MiningSettings) -> list[Rule]:
    """Rules extracted from aligned pairs with at least `min_support` sentences, most supported first."""
    support: Counter = Counter()
    for original, paraphrase in zip(sentences, paraphrases):
        support.update(extract_replacements(original, paraphrase, settings.max_tokens))
    ranked = [(pair, n) for pair, n in support.most_common() if n >= settings.min_support]
    return [Rule(lhs, rhs, support=n, source="mined") for (lhs, rhs), n in ranked[: settings.max_candidates]]


def mine_rules(
    sentences: Sequence[str],
    translator: Translator | None = None,
    score: BackTranslationScore | None = None,
    predict: Callable[[Sequence[str]], np.ndarray] | None = None,
    settings: MiningSettings = MiningSettings(),
) -> list[Rule]:
    """Mined rules, equivalence-checked and ranked (see the module docstring).

    `predict` maps texts to class probabilities (e.g. a victim's `predict_proba`); without it flips are 0.
    Each returned rule's `extra` holds `applications` (scored) and `equivalent_rate`.
    """
    sentences = list(dict.fromkeys(s for s in sentences if s.strip()))
    if not sentences:
        raise RobustEvalError("rule mining needs at least one non-empty sentence: check the dataset")
    score = score or BackTranslationScore(translator)
    paraphrases = score.translator.back_translate(sentences)
    candidates = candidate_rules(sentences, paraphrases, settings)

    containing: dict[str, set[int]] = {}
    for number, sentence in enumerate(sentences):
        for token in tokenize(sentence):
            containing.setdefault(token.text.lower(), set()).add(number)
    rng = random.Random(settings.seed)
    pairs: list[tuple[int, str, str]] = []
    for index, rule in enumerate(candidates):
        where = set.intersection(*(containing.get(token, set()) for token in rule.lhs))
        applied = [(sentences[n], out) for n in sorted(where) if (out := rule.apply(sentences[n])) is not None]
        for original, rewritten in rng.sample(applied, min(len(applied), settings.applications)):
            pairs.append((index, original, rewritten))
    if not pairs:
        return []
    scores = score([p[1] for p in pairs], [p[2] for p in pairs])
    flipped = np.zeros(len(pairs), dtype=bool)
    if predict is not None:
        originals = np.asarray(predict([p[1] for p in pairs])).argmax(axis=1)
        rewritten = np.asarray(predict([p[2] for p in pairs])).argmax(axis=1)
        flipped = originals != rewritten

    kept = []
    for index, rule in enumerate(candidates):
        mine = [k for k, p in enumerate(pairs) if p[0] == index]
        if len(mine) < settings.min_applications:
            continue
        equivalent = scores[mine] >= settings.threshold
        if 1 - equivalent.mean() > settings.max_rejected:
            continue
        flips = int((flipped[mine] & equivalent).sum())
        extra = {"applications": len(mine), "equivalent_rate": round(float(equivalent.mean()), 4)}
        kept.append(replace(rule, flips=flips, extra=extra))
    kept.sort(key=lambda r: (-r.flips, -r.support, str(r)))
    return kept[: settings.top] if settings.top else kept
