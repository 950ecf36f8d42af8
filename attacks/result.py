"""The record of one attack on one example (what the runner stores as one JSON line)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Status = Literal["succeeded", "failed", "skipped"]
STATUSES: tuple[str, ...] = ("succeeded", "failed", "skipped")
# The per-example limit that cut an attack short (`attacks.core.ExampleLimits`): `max_words` skips the
# example unattacked, `max_queries` and `timeout` stop its search with the best text found so far.
Limit = Literal["max_words", "max_queries", "timeout"]
LIMITS: tuple[str, ...] = ("max_words", "max_queries", "timeout")


@dataclass(frozen=True)
class ExampleQuality:
    """How good a successful adversarial example is (attacks.quality.QualityScorer computes it).

    `similarity`: sentence-encoder cosine of the whole original and perturbed texts (MiniLM, mean pooling);
    `perplexity_ratio`: language-model perplexity of the perturbed text / of the original (SmolLM2-135M);
    `pos_match`: share of swapped words whose part of speech in context equals the original word's;
    `grammar_errors_added`: rise in the Link Grammar parser's unlinked-word count (negative: fewer);
    `swapped_words`: words replaced one for one (rewrites that change the word count are not swaps).
    A metric is None when its model or tool was not available, or (`pos_match`) when nothing was swapped.
    """

    similarity: float
    perplexity_ratio: float | None
    pos_match: float | None
    grammar_errors_added: int | None
    swapped_words: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ExampleQuality":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class AttackResult:
    """Original and perturbed text, predictions and confidences (probability of the true label), cost."""

    example_id: str
    original_text: str
    perturbed_text: str
    label: int
    original_prediction: int
    perturbed_prediction: int
    original_confidence: float
    perturbed_confidence: float
    queries: int
    modified_indices: list[int]
    num_words: int
    perturbed_word_ratio: float
    status: Status
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    limit: Limit | None = None
    quality: ExampleQuality | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AttackResult":
        """Inverse of `to_dict`; unknown keys are ignored so newer records still load (older ones lack quality)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if isinstance(values.get("quality"), dict):
            values["quality"] = ExampleQuality.from_dict(values["quality"])
        return cls(**values)
