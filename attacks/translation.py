"""Machine translation for back-translation: a pluggable backend protocol and the offline Apertium default.

Back-translation BT(x) sends a sentence to a pivot language and back. SEARs (Ribeiro et al., ACL 2018)
paraphrases with it and the back-translation filter (`attacks.constraints.back_translation`) compares
round trips. Apertium (rule-based, Debian packages `apertium` + `apertium-eng-spa`) is the default
because it runs offline; any object with the `Translator` methods can replace it.

Many sentences go through one request, one sentence per paragraph (blank-line separated), so embedded
line breaks are normalised to spaces and the sentence count of every answer is checked. Each direction is
one long-running Apertium pipeline in null-flush mode (`apertium-wblank-mode -z`): its dictionaries load
once, not once per request, which removes ~0.1 s of start-up from every search step of an attack.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import tempfile
import weakref
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

from robust_eval.core import resources
from robust_eval.core.errors import MissingResourceError, RobustEvalError

_LINE_BREAKS = re.compile(r"[\r\n\v\f\u0085\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


@runtime_checkable
class Translator(Protocol):
    """An MT backend: `translate` goes source -> pivot, `back_translate` source -> pivot -> source."""

    def translate(self, texts: Sequence[str]) -> list[str]: ...

    def back_translate(self, texts: Sequence[str]) -> list[str]: ...

    def reset(self) -> None:
        """Forget earlier translations, so the next answers do not depend on them."""


def normalise(text: str) -> str:
    """One line of text: line breaks and runs of whitespace become single spaces, ends stripped."""
    return _SPACES.sub(" ", _LINE_BREAKS.sub(" ", text)).strip()


class ApertiumPipeline:
    """One direction's translation pipeline, started once and fed NUL-terminated blocks of Apertium stream text.

    Plain text is turned into stream format and back by `apertium-destxt` / `apertium-retxt`, and the
    mode runs with `$1 = -n` (unknown words unmarked), exactly as `apertium -u -f txt` does it; a fresh
    pipeline's first answer equals that command's output.
    """

    def __init__(self, bin_dir: Path, mode: Path, environment: dict[str, str], timeout: float) -> None:
        self.bin_dir = bin_dir
        self.environment = environment
        self.timeout = timeout
        self.direction = mode.stem
        script = self._tool("apertium-wblank-mode", ["-z", str(mode)], b"").decode()
        self._stderr = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            ["bash", "-c", script, "apertium", "-n", ""], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, env=environment,
        )
        self._finalizer = weakref.finalize(self, _stop, self._process)

    def translate(self, text: str) -> str:
        """Translate plain text (sentences separated by blank lines) in one request."""
        stream = self._tool("apertium-destxt", [], text.encode("utf-8"))
        return self._tool("apertium-retxt", [], self._request(stream)).decode("utf-8", errors="replace")

    def close(self) -> None:
        self._finalizer()

    def _request(self, stream: bytes) -> bytes:
        process = self._process
        try:
            process.stdin.write(stream.replace(b"\0", b"") + b"\0")
            process.stdin.flush()
            answer = bytearray()
            while not answer.endswith(b"\0"):
                ready, _, _ = select.select([process.stdout], [], [], self.timeout)
                chunk = os.read(process.stdout.fileno(), 1 << 16) if ready else b""
                if not chunk:
                    raise OSError("no answer" if not ready else "pipeline ended")
                answer += chunk
        except OSError as error:
            self.close()
            raise RobustEvalError(
                f"apertium {self.direction} stopped ({error}; {self._error_tail()}): "
                "run `robust-eval resources fetch apertium --force`"
            ) from None
        return bytes(answer[:-1])

    def _tool(self, name: str, arguments: list[str], data: bytes) -> bytes:
        """Run a short Apertium helper program on `data`; a one-line error when it fails."""
        completed = subprocess.run(
            [str(self.bin_dir / name), *arguments], input=data, capture_output=True, timeout=self.timeout,
            env=self.environment,
        )
        if completed.returncode != 0:
            tail = (completed.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
            raise RobustEvalError(f"{name} failed ({tail}): run `robust-eval resources fetch apertium --force`")
        return completed.stdout

    def _error_tail(self) -> str:
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no message"


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.stdin.close()
        process.kill()
        process.wait()


class ApertiumTranslator:
    """Apertium round trips `source` -> `pivot` -> `source` (default English <-> Spanish).

    `-u` behaviour: unknown words pass through unchanged, without Apertium's `*` marks.
    Round trips are cached per normalised sentence (`cache_size` entries, oldest dropped first) until
    `reset`, which also restarts the pipelines (garbage collection stops them).
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
        self._pipelines: dict[str, ApertiumPipeline] = {}

    def translate(self, texts: Sequence[str]) -> list[str]:
        """Translate source-language sentences into the pivot language (one request)."""
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

    def reset(self) -> None:
        """Restart the pipelines and empty the cache.

        Apertium's transfer rules carry variables from sentence to sentence (the gender a later pronoun
        agrees with, say): a long-running pipeline translated 32 of 400 MR sentences differently after
        200 other sentences. Attacks reset before each example, so an example's round trips depend on that
        example alone, in a fresh run as in a resumed one.
        """
        running = list(self._pipelines)
        for pipeline in self._pipelines.values():
            pipeline.close()
        self._pipelines.clear()
        self._round_trips.clear()
        for direction in running:  # restarted now: dictionaries load while the next search step is prepared
            self._pipeline(direction)

    def _remember(self, round_trips: dict[str, str]) -> None:
        self._round_trips.update(round_trips)
        excess = len(self._round_trips) - self.cache_size
        for key in list(self._round_trips)[: max(excess, 0)]:
            del self._round_trips[key]

    def _pipeline(self, direction: str) -> ApertiumPipeline:
        """The running pipeline of `direction`, started on first use; a one-line error naming the fetch."""
        if direction not in self._pipelines:
            modes = resources.apertium_modes_dir()
            if modes is None:
                raise MissingResourceError("apertium", "the apertium program or its eng-spa data is not installed")
            for needed in (f"{self.source}-{self.pivot}", f"{self.pivot}-{self.source}"):
                if not (modes / f"{needed}.mode").is_file():
                    raise RobustEvalError(
                        f"Apertium has no '{needed}' mode in {modes}: install the apertium-{needed} "
                        "language pair or choose another pivot"
                    )
            self._pipelines[direction] = ApertiumPipeline(
                modes.parents[2] / "bin", modes / f"{direction}.mode", resources.apertium_environment(), self.timeout
            )
        return self._pipelines[direction]

    def _run(self, direction: str, lines: list[str]) -> list[str]:
        """Translate single-line sentences in one request; empty lines stay empty.

        Sentences are separated by a blank line: with single newlines Apertium's transfer rules move words
        across sentences that lack final punctuation (a third of MR sentences changed in a test).
        """
        filled = [i for i, line in enumerate(lines) if line]
        translations = ["" for _ in lines]
        if not filled:
            return translations
        answer = self._pipeline(direction).translate("\n\n".join(lines[i] for i in filled) + "\n")
        output = answer.rstrip("\n").split("\n\n")
        if len(output) != len(filled):
            raise RobustEvalError(
                f"apertium {direction} returned {len(output)} sentences for {len(filled)}: "
                "remove control characters from the input texts"
            )
        for index, translation in zip(filled, output):
            translations[index] = normalise(translation)
        return translations
