"""The attack engine: an Attack composes a goal, a transformation, constraints and a search method.

The vocabulary is TextAttack's (Morris et al., EMNLP 2020 demo):
- `Transformation` proposes candidate texts (word swaps, rule rewrites, anything producing AttackedText).
- `PreTransformationConstraint` restricts which word indices may change (stopwords, perturbation budget).
- `Constraint` filters candidate texts against the original; `lazy` ones (costly, e.g. a sentence encoder)
  are checked only on the best-scoring candidates, which selects the same winner with fewer encoder calls.
- `SearchMethod` walks the candidates using the `AttackContext`, which batches every model query of a step
  into one `predict_proba` call, caches texts per example, counts queries and enforces the query budget.
A success is re-checked before it is reported, with one fresh forward pass outside every cache (the
victim's `predict_proba_uncached`; a victim without one is asked through `predict_proba`).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from attacks.goals import Goal
from attacks.result import AttackResult
from attacks.text import AttackedText
from robust_eval.core.errors import RobustEvalError

if TYPE_CHECKING:
    from robust_eval.core.data import Example
    from robust_eval.core.victim import Victim


class Transformation(ABC):
    """Proposes perturbed versions of a text.

    `indices` restricts which words may change (after pre-transformation constraints); a rule that
    rewrites a span should start its match at an allowed index. `word_level` transformations change
    only the word at the given index and keep the word count, which word-importance searches rely on.
    """

    word_level: bool = True

    @abstractmethod
    def __call__(self, text: AttackedText, indices: Sequence[int]) -> list[AttackedText]:
        """Candidate texts, each with its `modified` indices and `history` updated."""


class PreTransformationConstraint(ABC):
    """Restricts the word indices a transformation may touch."""

    @abstractmethod
    def allowed(self, text: AttackedText) -> set[int]:
        """Indices of `text.words` that may be modified."""


class Constraint(ABC):
    """Filters candidate texts, comparing each with the original text, or with the text the candidate was made
    from when `compare_against_original` is False (TextFooler's similarity check; such a constraint is eager)."""

    lazy: bool = False
    compare_against_original: bool = True

    @abstractmethod
    def filter(self, candidates: Sequence[AttackedText], original: AttackedText) -> list[bool]:
        """One boolean per candidate: does it satisfy the constraint?"""

    def reset(self) -> None:
        """Forget state kept from earlier examples (called before each attack); nothing by default."""


@dataclass(frozen=True)
class Scored:
    """A text with the victim's probabilities, the goal score and whether the goal is reached."""

    text: AttackedText
    probs: np.ndarray
    score: float
    success: bool


class QueryBudgetExhausted(Exception):
    """Raised inside a search when no model query is left; the attack then reports the best so far."""


class ModelQueries:
    """Counts and caches the victim's answers for one example, stopping at `limit` distinct texts."""

    def __init__(self, victim: "Victim", limit: int | None) -> None:
        self.victim = victim
        self.limit = limit
        self.count = 0
        self._cache: dict[str, np.ndarray] = {}

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.count, 0)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities for the longest prefix of `texts` the budget allows (all of them if it does)."""
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        affordable = new if self.remaining is None else new[: self.remaining]
        if affordable:
            probs = np.asarray(self.victim.predict_proba(affordable), dtype=np.float64)
            self._cache.update(zip(affordable, probs))
            self.count += len(affordable)
        rows = []
        for text in texts:
            if text not in self._cache:
                break
            rows.append(self._cache[text])
        return np.stack(rows) if rows else np.zeros((0, self.victim.num_labels))


class AttackContext:
    """Everything a search needs for one example; searches call only these methods."""

    def __init__(self, attack: "Attack", queries: ModelQueries, original: AttackedText, label: int) -> None:
        self.attack = attack
        self.queries = queries
        self.original = original
        self.label = label
        self.details: dict[str, Any] = {}
        self.exhausted = False

    def allowed_indices(self, text: AttackedText) -> list[int]:
        """Indices every pre-transformation constraint allows, in word order."""
        allowed = set(range(len(text)))
        for constraint in self.attack.pre_constraints:
            allowed &= constraint.allowed(text)
        return sorted(allowed)

    def transform(self, text: AttackedText, indices: Iterable[int] | None = None) -> list[AttackedText]:
        """Candidates of `text` at the allowed `indices` (all allowed when None) passing eager constraints."""
        allowed = self.allowed_indices(text)
        if indices is not None:
            wanted = set(indices)
            allowed = [i for i in allowed if i in wanted]
        if not allowed:
            return []
        seen = {text.text}
        candidates = []
        for candidate in self.attack.transformation(text, allowed):
            if candidate.text not in seen:
                seen.add(candidate.text)
                candidates.append(candidate)
        for constraint in self.attack.eager_constraints:
            if not candidates:
                break
            keep = constraint.filter(candidates, self.original if constraint.compare_against_original else text)
            candidates = [c for c, ok in zip(candidates, keep) if ok]
        return candidates

    def evaluate(self, texts: Sequence[AttackedText]) -> list[Scored]:
        """Query the victim on all `texts` in one batch; raises QueryBudgetExhausted if none could be scored."""
        probs = self.queries([t.text for t in texts])
        if len(probs) < len(texts):
            self.exhausted = True
        if len(texts) and not len(probs):
            raise QueryBudgetExhausted
        goal = self.attack.goal
        scores = goal.scores(probs, self.label)
        success = goal.succeeded(probs, self.label)
        return [Scored(t, p, float(s), bool(ok)) for t, p, s, ok in zip(texts, probs, scores, success)]

    def best_per_group(self, groups: Sequence[Sequence[Scored]], k: int = 1, chunk: int = 4) -> list[list[Scored]]:
        """The `k` best-scoring candidates of each group that satisfy the lazy constraints.

        Lazy constraints are checked best-first, `chunk` candidates per group per round, all groups in
        one batch, so the winner equals the best of the fully filtered set at a fraction of the cost.
        """
        ordered = [sorted(g, key=lambda s: -s.score) for g in groups]
        chosen: list[list[Scored]] = [[] for _ in groups]
        position = [0] * len(groups)
        lazy = self.attack.lazy_constraints
        while True:
            batch: list[tuple[int, Scored]] = []
            for g, candidates in enumerate(ordered):
                if len(chosen[g]) < k and position[g] < len(candidates):
                    step = chunk if lazy else len(candidates)
                    batch += [(g, s) for s in candidates[position[g]: position[g] + step]]
                    position[g] += step
            if not batch:
                return chosen
            keep = [True] * len(batch)
            for constraint in lazy:
                pending = [i for i, ok in enumerate(keep) if ok]
                verdicts = constraint.filter([batch[i][1].text for i in pending], self.original)
                for i, ok in zip(pending, verdicts):
                    keep[i] = ok
            for (g, scored), ok in zip(batch, keep):
                if ok and len(chosen[g]) < k:
                    chosen[g].append(scored)

    def best(self, candidates: Sequence[Scored], k: int = 1) -> list[Scored]:
        """The `k` best candidates satisfying the lazy constraints, best first."""
        return self.best_per_group([candidates], k)[0]


class SearchMethod(ABC):
    """Explores candidates from the original text towards the goal.

    `needs_word_level`: the search keeps word indices across steps, so it needs a word-level transformation.
    """

    needs_word_level: bool = False

    @abstractmethod
    def search(self, context: AttackContext, start: Scored) -> Scored:
        """The best text found (its `success` says whether the goal was reached)."""


class Attack:
    """Goal + transformation + constraints + search, with a query budget of `budget_per_word` x words."""

    def __init__(
        self,
        goal: Goal,
        transformation: Transformation,
        constraints: Sequence[Constraint | PreTransformationConstraint],
        search: SearchMethod,
        budget_per_word: float | None = 50,
        name: str = "",
    ) -> None:
        if search.needs_word_level and not transformation.word_level:
            raise RobustEvalError(
                f"{type(search).__name__} needs a word-level transformation, but {type(transformation).__name__} "
                "changes word counts: use BeamSearch"
            )
        for constraint in constraints:
            if isinstance(constraint, Constraint) and constraint.lazy and not constraint.compare_against_original:
                raise RobustEvalError(f"{type(constraint).__name__} compares with the previous text, which only an "
                                      "eager constraint sees: build it with lazy=False")
        self.goal = goal
        self.transformation = transformation
        self.pre_constraints = [c for c in constraints if isinstance(c, PreTransformationConstraint)]
        self.eager_constraints = [c for c in constraints if isinstance(c, Constraint) and not c.lazy]
        self.lazy_constraints = [c for c in constraints if isinstance(c, Constraint) and c.lazy]
        self.search = search
        self.budget_per_word = budget_per_word
        self.name = name

    def __repr__(self) -> str:
        parts = [type(self.goal).__name__, type(self.transformation).__name__, type(self.search).__name__]
        parts += [type(c).__name__ for c in self.pre_constraints + self.eager_constraints + self.lazy_constraints]
        return f"Attack({self.name or 'unnamed'}: {', '.join(parts)})"

    def query_limit(self, num_words: int) -> int | None:
        """The query budget for a text of `num_words` words (at least 1 so the original is scored)."""
        return None if self.budget_per_word is None else max(1, int(self.budget_per_word * num_words))

    def attack(self, victim: "Victim", example: "Example") -> AttackResult:
        """Attack one example; originally misclassified examples are skipped."""
        started = time.perf_counter()
        self.goal.check(victim.num_labels)
        for constraint in self.eager_constraints + self.lazy_constraints:
            constraint.reset()
        original = AttackedText.from_text(example.text)
        queries = ModelQueries(victim, self.query_limit(len(original)))
        context = AttackContext(self, queries, original, example.label)
        start = context.evaluate([original])[0]
        original_prediction = int(start.probs.argmax())
        if original_prediction != example.label or start.success:
            return self._result(example, start, start, queries.count, "skipped", started, context.details)
        try:
            final = self.search.search(context, start)
        except QueryBudgetExhausted:
            final = start
        status = "failed"
        if final.success:
            final, status = self._recheck(victim, final, example.label, context.details)
        if context.exhausted:
            context.details["budget_exhausted"] = True
        return self._result(example, start, final, queries.count, status, started, context.details)

    def _recheck(self, victim: "Victim", final: Scored, label: int, details: dict[str, Any]) -> tuple[Scored, str]:
        """Ask the victim again about the reported success, bypassing the per-example and the victim's caches."""
        fresh = getattr(victim, "predict_proba_uncached", victim.predict_proba)
        probs = np.asarray(fresh([final.text.text]), dtype=np.float64)
        if bool(self.goal.succeeded(probs, label)[0]):
            return Scored(final.text, probs[0], float(self.goal.scores(probs, label)[0]), True), "succeeded"
        details["recheck"] = "the victim no longer confirms the success"
        return final, "failed"

    def _result(
        self, example: "Example", start: Scored, final: Scored, queries: int, status: str, started: float,
        details: dict[str, Any],
    ) -> AttackResult:
        text = final.text
        return AttackResult(
            example_id=str(example.id),
            original_text=example.text,
            perturbed_text=text.text,
            label=int(example.label),
            original_prediction=int(start.probs.argmax()),
            perturbed_prediction=int(final.probs.argmax()),
            original_confidence=float(start.probs[example.label]),
            perturbed_confidence=float(final.probs[example.label]),
            queries=queries,
            modified_indices=sorted(text.modified),
            num_words=len(start.text),
            perturbed_word_ratio=text.perturbed_ratio,
            status=status,  # type: ignore[arg-type]
            seconds=time.perf_counter() - started,
            details={"changes": list(text.history), **details},
        )

