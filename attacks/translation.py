"""Machine translation for back-translation: a pluggable backend protocol and the offline Apertium default.

Back-translation BT(x) sends a sentence to a pivot language and back. SEARs (Ribeiro et al., ACL 2018)
paraphrases with it and the back-translation filter (`attacks.constraints.back_translation`) compares
round trips. Apertium (rule-based, Debian packages `apertium` + `apertium-eng-spa`) is the default
because it runs offline; any object with the `Translator` methods can replace it.

Many sentences go through one Apertium process, one sentence per paragraph (blank-line separated), so
embedded line breaks are normalised to spaces and the sentence count of every answer is checked.
"""

from __future__ import annotations

import re
import subprocess
from typing import Protocol, Sequence, runtime_checkable

from robust_eval import resources
from robust_eval.errors import MissingResourceError, RobustEvalError

_LINE_BREAKS = re.compile(r"[\r\n\v\f\u0085\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


@runtime_checkable
class Translator(Protocol):
    """An MT backend: `translate` goes source -> pivot, `back_translate` source -> pivot -> source."""

    def translate(self, texts: Sequence[str]) -> list[str]: ...

    def back_translate(self, texts: Sequence[str]) -> list[str]: ...


def normalise(text: str) -> str:
    """One line of text: line breaks and runs of whitespace become single spaces, ends stripped."""
    return _SPACES.sub(" ", _LINE_BREAKS.sub(" ", text)).strip()


class ApertiumTranslator:
    """Apertium round trips `source` -> `pivot` -> `source` (default English <-> Spanish).

    `-u` drops Apertium's `*` marks on unknown words, so unknown words pass through unchanged.
    Round trips are cached per normalised sentence (`cache_size` entries, oldest dropped first).
    """

    def __init__(
        self,
        source: str = "eng",
        pivot: str = "spa",
        cache_size: int = 100_000,
        timeout: float = 600.0,
    ) -> None:
        for code in (source, pivot):
            if not re.fullmatch(r"[a-z]{2,3}(_[A-Za-z]+)?", code):
                raise RobustEvalError(f"language code '{code}' is not valid: use Apertium codes such as eng, spa")
        self.source = source
        self.pivot = pivot
        self.cache_size = cache_size
        self.timeout = timeout
        self._round_trips: dict[str, str] = {}
        self._command: tuple[str, str, dict[str, str]] | None = None

    def translate(self, texts: Sequence[str]) -> list[str]:
        """Translate source-language sentences into the pivot language (one Apertium call)."""
        return self._run(f"{self.source}-{self.pivot}", [normalise(t) for t in texts])

    def back_translate(self, texts: Sequence[str]) -> list[str]:
        """BT(x) for each text: translated to the pivot and back, with cached results reused."""
        lines = [normalise(t) for t in texts]
        missing = list(dict.fromkeys(line for line in lines if line and line not in self._round_trips))
        if missing:
            pivot = self._run(f"{self.source}-{self.pivot}", missing)
            back = self._run(f"{self.pivot}-{self.source}", pivot)
            self._remember(dict(zip(missing, back)))
        return [self._round_trips.get(line, "") if line else "" for line in lines]

    def _remember(self, round_trips: dict[str, str]) -> None:
        self._round_trips.update(round_trips)
        excess = len(self._round_trips) - self.cache_size
        for key in list(self._round_trips)[: max(excess, 0)]:
            del self._round_trips[key]

    def _executable(self) -> tuple[str, str, dict[str, str]]:
        """(apertium binary, data directory holding `modes/`, environment), or a one-line error naming the fetch."""
        if self._command is None:
            modes = resources.apertium_modes_dir()
            if modes is None:
                raise MissingResourceError("apertium", "the apertium program or its eng-spa data is not installed")
            for direction in (f"{self.source}-{self.pivot}", f"{self.pivot}-{self.source}"):
                if not (modes / f"{direction}.mode").is_file():
                    raise RobustEvalError(
                        f"Apertium has no '{direction}' mode in {modes}: install the apertium-{direction} "
                        "language pair or choose another pivot"
                    )
            binary = modes.parents[2] / "bin" / "apertium"
            self._command = (str(binary), str(modes.parent), resources.apertium_environment())
        return self._command

    def _run(self, direction: str, lines: list[str]) -> list[str]:
        """Translate single-line sentences with one Apertium process; empty lines stay empty.

        Sentences are separated by a blank line: with single newlines Apertium's transfer rules move words
        across sentences that lack final punctuation (a third of MR sentences changed in a test).
        """
        filled = [i for i, line in enumerate(lines) if line]
        translations = ["" for _ in lines]
        if not filled:
            return translations
        binary, data_dir, environment = self._executable()
        completed = subprocess.run(
            [binary, "-u", "-d", data_dir, direction],
            input="\n\n".join(lines[i] for i in filled) + "\n",
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=self.timeout,
            env=environment,
        )
        if completed.returncode != 0:
            tail = (completed.stderr.strip().splitlines() or ["no message"])[-1]
            raise RobustEvalError(
                f"apertium {direction} failed ({tail}): run `robust-eval resources fetch apertium --force`"
            )
        output = completed.stdout.rstrip("\n").split("\n\n")
        if len(output) != len(filled):
            raise RobustEvalError(
                f"apertium {direction} returned {len(output)} sentences for {len(filled)}: "
                "remove control characters from the input texts"
            )
        for index, translation in zip(filled, output):
            translations[index] = normalise(translation)
        return translations
