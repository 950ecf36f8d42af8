"""User-facing errors: each message names the problem and the fix on one line."""


class RobustEvalError(Exception):
    """An error caused by input or environment, shown to the user as one line without a traceback."""


class MissingResourceError(RobustEvalError):
    """An offline resource (model, data, WordNet, vectors, MT) is not installed."""

    def __init__(self, name: str, detail: str = "") -> None:
        reason = f" ({detail})" if detail else ""
        super().__init__(
            f"resource '{name}' is missing{reason}: run `robust-eval resources fetch {name}`"
        )
        self.name = name
