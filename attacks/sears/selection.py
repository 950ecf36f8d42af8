"""Selecting a set of SEARs on held-out data by flips and coverage (Ribeiro et al., ACL 2018, Section 3).

Every rule is applied to every held-out sentence the model predicts correctly; each rewrite is scored for
equivalence and predicted. The paper asks for rules that (1) keep meaning: at most delta = 10 % of their
applications below the equivalence threshold, (2) flip many predictions and (3) flip different ones, and
picks at most B rules maximising the submodular objective

    sum over held-out x of  max over chosen rules r of  S(x, r(x)) * [r(x) is an equivalent flip of x]

greedily (each step adds the rule with the largest gain, stopping when no rule adds any). S is the
back-translation score here (the paper's is a paraphrase likelihood ratio). A rule with fewer than
`min_applications` held-out applications keeps the verdict of the mining check.

A review file (`read_review`) records a person's verdict on each mined rule, as the paper's experts judged
the rules shown to them; rules a review rejects are left out of the selection.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from attacks.constraints.back_translation import BackTranslationScore
from attacks.sears.mining import scores_in_chunks
from attacks.sears.rules import Rule, is_noun
from robust_eval.core.errors import RobustEvalError


@dataclass(frozen=True)
class HeldOutEvidence:
    """A rule on the held-out set: applications, equivalent ones, and the score of each equivalent flip."""

    rule: Rule
    applications: int
    equivalent: int
    flips: dict[int, float]  # held-out sentence index -> S(x, r(x)) of an equivalent flip
    example: tuple[str, str] | None = None

    @property
    def rejected_share(self) -> float:
        return 1 - self.equivalent / self.applications if self.applications else 0.0

    @property
    def flip_rate(self) -> float:
        """Flips over equivalent applications, the paper's per-rule rate."""
        return len(self.flips) / self.equivalent if self.equivalent else 0.0


@dataclass(frozen=True)
class Selection:
    """The chosen rules in the order the greedy selection took them, with the gain of each."""

    chosen: list[HeldOutEvidence]
    gains: list[float]
    sentences: int  # correctly predicted held-out sentences
    covered: int  # of those, flipped by at least one chosen rule
    unchosen: list[HeldOutEvidence]  # eligible rules with no gain (or beyond the budget), in their given order

    def rules(self, with_unchosen: bool = False) -> list[Rule]:
        """The chosen rules (then, if asked, the unchosen eligible ones with gain 0) with their held-out
        evidence in `flips` and `extra`."""
        out = []
        ranked = list(zip(self.chosen, self.gains)) + ([(e, 0.0) for e in self.unchosen] if with_unchosen else [])
        for evidence, gain in ranked:
            extra = {**evidence.rule.extra, "heldout_applications": evidence.applications,
                     "heldout_equivalent": evidence.equivalent, "heldout_flips": len(evidence.flips),
                     "heldout_flip_rate": round(evidence.flip_rate, 4), "selection_gain": round(gain, 4)}
            out.append(replace(evidence.rule, flips=len(evidence.flips), extra=extra))
        return out


def held_out_evidence(
    rules: Sequence[Rule], texts: Sequence[str], labels: Sequence[int],
    predict: Callable[[Sequence[str]], np.ndarray], score: BackTranslationScore, threshold: float,
    noun: Callable[[str], bool] = is_noun, progress: Callable[[str], None] | None = None,
) -> tuple[list[HeldOutEvidence], int]:
    """Evidence of every rule on the correctly predicted `texts`, and how many of them there are."""
    if len(texts) != len(labels):
        raise RobustEvalError(f"held-out set has {len(texts)} texts and {len(labels)} labels: give one label per text")
    predicted = np.asarray(predict(list(texts))).argmax(axis=1)
    correct = [i for i, (p, y) in enumerate(zip(predicted, labels)) if p == y]
    rewrites: list[tuple[int, int, str]] = []  # (rule, sentence, rewritten text)
    for number, rule in enumerate(rules):
        for i in correct:
            rewritten = rule.apply(texts[i], noun=noun)
            if rewritten is not None:
                rewrites.append((number, i, rewritten))
    if progress:
        progress(f"held out: {len(rewrites)} rewrites of {len(correct)} correctly predicted sentences by {len(rules)} rules")
    distinct = list(dict.fromkeys(text for _, _, text in rewrites))
    new_prediction = dict(zip(distinct, np.asarray(predict(distinct)).argmax(axis=1))) if distinct else {}
    scores = scores_in_chunks(score, [texts[i] for _, i, _ in rewrites], [text for _, _, text in rewrites], progress)
    evidence = []
    for number, rule in enumerate(rules):
        mine = [(i, text, s) for (n, i, text), s in zip(rewrites, scores) if n == number]
        flips = {i: float(s) for i, text, s in mine if s >= threshold and new_prediction[text] != labels[i]}
        example = next(((texts[i], text) for i, text, _ in mine if i in flips), None)
        evidence.append(HeldOutEvidence(rule, len(mine), int(sum(s >= threshold for _, _, s in mine)), flips, example))
    return evidence, len(correct)


def select(
    evidence: Sequence[HeldOutEvidence], sentences: int, budget: int = 50, max_rejected: float = 0.1,
    min_applications: int = 5,
) -> Selection:
    """Greedy maximisation of the objective in the module docstring over the eligible rules (<= `budget`)."""
    if budget < 1:
        raise RobustEvalError(f"the selection budget must be a positive number of rules, got {budget}")
    eligible = [e for e in evidence if not (e.applications >= min_applications and e.rejected_share > max_rejected)]
    best: dict[int, float] = {}  # sentence -> best score of the rules chosen so far
    chosen: list[HeldOutEvidence] = []
    gains: list[float] = []
    remaining = [k for k, e in enumerate(eligible) if e.flips]
    while len(chosen) < budget and remaining:
        gain = {k: sum(max(s - best.get(i, 0.0), 0.0) for i, s in eligible[k].flips.items()) for k in remaining}
        pick = max(remaining, key=lambda k: gain[k])  # the first of equal gains: the evidence order breaks ties
        if gain[pick] <= 0:
            break
        remaining.remove(pick)
        chosen.append(eligible[pick])
        gains.append(gain[pick])
        for i, s in eligible[pick].flips.items():
            best[i] = max(best.get(i, 0.0), s)
    unchosen = [e for e in eligible if not any(e is c for c in chosen)]
    return Selection(chosen, gains, sentences, len(best), unchosen)


VERDICTS = ("accept", "reject")


def read_review(path: Path) -> dict[str, str]:
    """Rule (as written by `str(rule)`) -> verdict, from a TSV with columns rule, verdict, reason (`#` comments)."""
    if not path.is_file():
        raise RobustEvalError(f"review file '{path}' does not exist: check the path")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    verdicts = {}
    for number, row in enumerate(csv.DictReader(lines, delimiter="\t"), start=2):
        if row.get("verdict") not in VERDICTS or not row.get("rule"):
            raise RobustEvalError(f"{path}: row {number} needs a rule and a verdict ({' or '.join(VERDICTS)})")
        verdicts[row["rule"]] = row["verdict"]
    return verdicts
