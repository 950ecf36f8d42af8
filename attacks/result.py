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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AttackResult":
        """Inverse of `to_dict`; unknown keys are ignored so newer records still load."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
