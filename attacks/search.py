"""Search methods.

- `GreedyWordImportance`: rank words once, then visit them in order, keeping the best candidate at each
  word if it moves closer to the goal (TextFooler, Jin et al. AAAI 2020: importance = goal-score gain
  when the word is deleted; "unk" replaces it by [UNK] instead). With `ranking="pwws"` the order is
  PWWS's (Ren et al., ACL 2019): softmax of word saliency (gain when the word becomes [UNK]) times the
  best goal-score gain of any valid substitute at that word.
- `BeamSearch`: at each step score every candidate of every beam text and keep the `width` best;
  width 1 is TextAttack's greedy search. Works with any transformation, including rules that change
  the number of words.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from attacks.core import AttackContext, QueryBudgetExhausted, Scored, SearchMethod
from attacks.text import AttackedText

UNK = "[UNK]"
Ranking = Literal["delete", "unk", "pwws"]


class GreedyWordImportance(SearchMethod):
    """Greedy substitution in word-importance order (needs a word-level transformation)."""

    needs_word_level = True

    def __init__(self, ranking: Ranking = "delete") -> None:
        self.ranking = ranking

    def search(self, context: AttackContext, start: Scored) -> Scored:
        current = start
        for index in self.order(context, start):
            try:
                candidates = context.evaluate(context.transform(current.text, [index]))
            except QueryBudgetExhausted:
                break
            best = context.best(candidates)
            if best and best[0].score > current.score:
                current = best[0]
            if current.success or context.exhausted:
                break
        return current

    def order(self, context: AttackContext, start: Scored) -> list[int]:
        """Allowed word indices, most important first; words never scored (budget) come last."""
        indices = context.allowed_indices(start.text)
        if not indices:
            return []
        if self.ranking == "delete":
            probes = [start.text.delete_word(i) for i in indices]
        else:
            probes = [start.text.replace_words({i: UNK}) for i in indices]
        gains = self._gains(context, probes, start.score)
        if self.ranking == "pwws":
            gains = self._pwws_weights(context, start, indices, gains)
        ranked = np.argsort(-gains, kind="stable")
        return [indices[i] for i in ranked]

    @staticmethod
    def _gains(context: AttackContext, texts: list[AttackedText], base: float) -> np.ndarray:
        """Goal-score gain of each text over `base` (-inf where the budget ran out)."""
        gains = np.full(len(texts), -np.inf)
        try:
            scored = context.evaluate(texts)
        except QueryBudgetExhausted:
            return gains
        gains[: len(scored)] = [s.score - base for s in scored]
        return gains

    @staticmethod
    def _pwws_weights(context: AttackContext, start: Scored, indices: list[int], saliency: np.ndarray) -> np.ndarray:
        """softmax(saliency) x best substitution gain per word (PWWS, Ren et al. 2019, eq. 7-8)."""
        finite = np.where(np.isfinite(saliency), saliency, -1e9)
        weights = np.exp(finite - finite.max())
        weights /= weights.sum()
        per_word = [context.transform(start.text, [i]) for i in indices]
        flat = [c for group in per_word for c in group]
        try:
            scored = context.evaluate(flat)
        except QueryBudgetExhausted:
            scored = []
        groups, offset = [], 0
        for group in per_word:
            groups.append(scored[offset: offset + len(group)])
            offset += len(group)
        best = context.best_per_group(groups)
        drop = np.array([b[0].score - start.score if b else -np.inf for b in best])
        return np.where(np.isfinite(drop), weights * drop, -np.inf)


class BeamSearch(SearchMethod):
    """Keep the `width` best texts per step; stop at success, when nothing improves, or out of budget."""

    def __init__(self, width: int = 1) -> None:
        self.width = width

    def search(self, context: AttackContext, start: Scored) -> Scored:
        beam, best = [start], start
        while not best.success and not context.exhausted:
            candidates = list({c.text: c for b in beam for c in context.transform(b.text)}.values())
            if not candidates:
                break
            try:
                chosen = context.best(context.evaluate(candidates), k=self.width)
            except QueryBudgetExhausted:
                break
            if not chosen or chosen[0].score <= best.score:
                break
            beam, best = chosen, chosen[0]
        return best
