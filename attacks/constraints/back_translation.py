"""The back-translation filter: keep x' only if it is still a paraphrase of x after both go through MT.

SEARs (Ribeiro et al., ACL 2018) scores semantic equivalence with the likelihood of x' under a neural MT
round trip of x. Rule-based Apertium has no likelihood, so the score here is

    bt_score(x, x') = cos(E(BT(x)), E(BT(x')))

with BT = source -> pivot -> source round trip (Apertium eng -> spa -> eng by default) and E the mean-pooled
MiniLM sentence encoder of `attacks.constraints.similarity`. Both texts pass the same round trip, so MT
noise common to both cancels; rewrites that MT maps to the same pivot sentence score 1 (so the score is
blind to differences the pivot cannot express). The default threshold `DEFAULT_THRESHOLD` was calibrated
on 227 hand-labelled paraphrase / non-paraphrase pairs of MR dev sentences (`benchmarks/calibrate_bt.py`,
`benchmarks/data/bt_labelled_pairs.tsv`, recorded in `benchmarks/bt_calibration.json`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from attacks.constraints.similarity import SentenceEncoder, minilm_encoder
from attacks.core import Constraint
from attacks.text import AttackedText
from attacks.translation import ApertiumTranslator, Translator
from robust_eval.core.errors import RobustEvalError

# Calibrated threshold (benchmarks/bt_calibration.json, "threshold"): the best balanced accuracy on the
# hand-labelled pairs of benchmarks/data/bt_labelled_pairs.tsv among thresholds keeping <= 10 % of non-paraphrases.
DEFAULT_THRESHOLD = 0.9982
COUNTS_KEY = "bt_filter"  # where an attack result's details keep the filter's `FilterCounts`


@dataclass(frozen=True)
class FilterCounts:
    """Candidates the back-translation filter checked and rejected while attacking one example."""

    checked: int
    rejected: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def of_result(cls, result: Mapping[str, Any]) -> "FilterCounts | None":
        """The counts of an attack result record (a `to_dict()` form), None when it has none."""
        counts = (result.get("details") or {}).get(COUNTS_KEY)
        return cls(int(counts["checked"]), int(counts["rejected"])) if counts is not None else None


class BackTranslationScore:
    """`bt_score` for many (x, x') pairs with one MT round trip and one encoder pass."""

    def __init__(self, translator: Translator | None = None, encoder: SentenceEncoder | None = None) -> None:
        self._translator = translator
        self._encoder = encoder

    @property
    def translator(self) -> Translator:
        if self._translator is None:
            self._translator = ApertiumTranslator()
        return self._translator

    @property
    def encoder(self) -> SentenceEncoder:
        if self._encoder is None:
            self._encoder = minilm_encoder()
        return self._encoder

    def __call__(self, originals: Sequence[str], candidates: Sequence[str]) -> np.ndarray:
        """One score per pair `(originals[i], candidates[i])`."""
        if len(originals) != len(candidates):
            raise RobustEvalError(
                f"back-translation score needs as many originals as candidates, got {len(originals)} and {len(candidates)}"
            )
        if not len(originals):
            return np.zeros(0)
        round_trips = self.translator.back_translate(list(originals) + list(candidates))
        vectors = self.encoder.encode(round_trips)
        left, right = vectors[: len(originals)], vectors[len(originals):]
        return (left * right).sum(axis=1)


class BackTranslationFilter(Constraint):
    """Keep candidates whose back-translation score against the original is >= `threshold`.

    `lazy=True`: checked only on the best-scoring candidates, a few at a time (fewer sentences translated,
    one MT call per few candidates); `lazy=False`: every candidate of a search step goes through one MT
    call before the model is queried (fewer MT calls and model queries, more sentences translated).
    Each sentence's round trip is independent of what was translated before (attacks.translation), so the
    translations are cached across examples and the attacks of many examples may be in flight at once.
    `take_counts(original)` gives how many candidates were checked and rejected against that original (one
    example) and forgets them; the counts are kept per original text, so examples may be attacked interleaved.
    """

    def __init__(
        self, threshold: float = DEFAULT_THRESHOLD, score: BackTranslationScore | None = None, lazy: bool = True,
    ) -> None:
        if not -1 <= threshold <= 1:
            raise RobustEvalError(f"back-translation threshold must be a cosine in [-1, 1], got {threshold}")
        self.threshold = threshold
        self.score = score or BackTranslationScore()
        self.lazy = lazy
        self._counts: dict[str, FilterCounts] = {}

    def filter(self, candidates: Sequence[AttackedText], original: AttackedText) -> list[bool]:
        if not candidates:
            return []
        scores = self.score([original.text] * len(candidates), [c.text for c in candidates])
        verdicts = [bool(s >= self.threshold) for s in scores]
        before = self._counts.get(original.text, FilterCounts(0, 0))
        self._counts[original.text] = FilterCounts(before.checked + len(verdicts), before.rejected + verdicts.count(False))
        return verdicts

    def take_counts(self, original: AttackedText) -> FilterCounts:
        """Candidates checked and rejected against `original` since the last `take_counts` of it."""
        return self._counts.pop(original.text, FilterCounts(0, 0))
