"""Machine translation for back-translation: a pluggable backend protocol and the offline Apertium default.

Back-translation BT(x) sends a sentence to a pivot language and back. SEARs (Ribeiro et al., ACL 2018)
paraphrases with it and the back-translation filter (`attacks.constraints.back_translation`) compares
round trips. Apertium (rule-based, Debian packages `apertium` + `apertium-eng-spa`) is the default
because it runs offline; any object with the `Translator` methods can replace it.

**Every sentence is translated as if alone.** Each direction runs as long-lived Apertium processes in
null-flush mode (`apertium-wblank-mode -z`), so dictionaries load once; each sentence is its own
NUL-terminated block. Two things would otherwise make a sentence's translation depend on the sentences
translated before it:
- the transfer modules keep rule variables within a block, but reset them at every NUL, so one sentence
  per block is enough for them;
- the part-of-speech tagger (`apertium-tagger`, Apertium 3.8) never resets one thing: when a word has an
  ambiguity class its model lacks, it overwrites its own open-word class in place (the class that unknown
  words get), for the rest of the process. 5 % of MR test sentences contain such a word (e.g. "a lot of",
  "known"); after them, later sentences with unknown words are tagged differently.

So the tagger runs apart from the rest of the pipeline: a probe tagger in debug mode reports, per block,
whether the block contains such a word; blocks without one go to a long-running tagger that therefore never
changes, blocks with one go to a freshly started tagger used for that block only (about 6 ms of CPU).
Everything else stays in two long-running process groups (before and after the tagger). The result equals
`apertium -u` run on the sentence alone, whatever the order, batch or history; `tests/test_translation.py`
checks it on MR sentences. Bytes move between the processes through one poll loop per pipeline that writes
and reads at once, so requests of any size never block on full pipes; `timeout` seconds without progress
end the request with a one-line error, and every process of a pipeline is killed on error, on `close` and
at exit.

Several pipelines per direction (`pipelines`, default one per available core) translate parts of a
request in parallel, in threads that mostly wait on the processes.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import tempfile
import threading
import weakref
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

from robust_eval.core import resources
from robust_eval.core.errors import MissingResourceError, RobustEvalError
from robust_eval.core.gather import gathered

_LINE_BREAKS = re.compile(r"[\r\n\v\f\u0085\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
TAGGER = "apertium-tagger"
NEW_AMBIGUITY_CLASS = b"A new ambiguity class was found"
# A block of unknown words only: a fresh tagger must not report it, else the probe's verdicts would depend
# on its own history (checked when a pipeline starts).
UNKNOWN_WORDS_ONLY = b"^xyzzyq/*xyzzyq$ ^qwrtpz/*qwrtpz$^./.<sent>$[][\n]"
PARAGRAPH = b"[\n\n]"
LINE_END = b"[\n]"
MIN_BLOCKS_PER_PIPELINE = 8
READ_SIZE = 1 << 16
STOP_SECONDS = 5.0


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


# --- one direction's processes ----------------------------------------------------------------------


@dataclass(frozen=True)
class ModeCommands:
    """A mode's shell pipeline cut around its part-of-speech tagger (`tagger` None: not cut)."""

    front: str
    tagger: str | None = None
    back: str | None = None

    @classmethod
    def of_mode(cls, script: str) -> "ModeCommands":
        """Cut a null-flush mode script at its first `apertium-tagger` stage."""
        stages = [stage.strip() for stage in script.strip().split(" | ")]
        for index, stage in enumerate(stages):
            if stage.split(maxsplit=1)[0] == TAGGER and 0 < index < len(stages) - 1:
                return cls(" | ".join(stages[:index]), stage, " | ".join(stages[index + 1:]))
        return cls(" | ".join(stages))

    def probe(self) -> str:
        """The tagger in debug mode, its messages merged into its output, so each block carries its own."""
        return f"{TAGGER} -d{str(self.tagger)[len(TAGGER):]} 2>&1"


class _Process:
    """One process group fed NUL-terminated blocks: bytes waiting to be written, blocks read back."""

    def __init__(self, command: str, environment: dict[str, str], stderr, one_block: bool = False) -> None:
        # A process group led by a shell that outlives its programs on SIGTERM, so that it reaps them.
        # $1 = -n: unknown words unmarked in generation, as `apertium -u` does; $2 empty.
        self.popen = subprocess.Popen(
            ["bash", "-c", f"trap : TERM; {command}", "apertium", "-n", ""], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=stderr, env=environment, start_new_session=True,
        )
        os.set_blocking(self.popen.stdin.fileno(), False)
        self.outbox = bytearray()
        self.inbox = bytearray()
        self.blocks: deque[bytes] = deque()
        self.one_block = one_block  # stdin closed after the first block: a tagger used once

    def send(self, block: bytes) -> None:
        self.outbox += block.replace(b"\0", b"") + b"\0"

    @property
    def wants_write(self) -> bool:
        return bool(self.outbox) and not self.popen.stdin.closed

    def write_some(self) -> None:
        try:
            written = os.write(self.popen.stdin.fileno(), self.outbox)
        except BlockingIOError:
            return
        except BrokenPipeError:
            raise OSError("it stopped reading") from None
        del self.outbox[:written]
        if self.one_block and not self.outbox:
            self.popen.stdin.close()

    def read_some(self) -> None:
        chunk = os.read(self.popen.stdout.fileno(), READ_SIZE)
        if not chunk:
            raise OSError("it ended")
        self.inbox += chunk
        *complete, rest = bytes(self.inbox).split(b"\0")
        self.blocks.extend(complete)
        self.inbox = bytearray(rest)

    def kill(self) -> None:
        """End every program of the group; when this returns, the shell has reaped them all."""
        self.popen.stdin.close()
        if self.popen.poll() is None:
            _signal_group(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self.popen.stdout.close()


def _signal_group(group: int, number: int) -> None:
    try:
        os.killpg(group, number)
    except ProcessLookupError:
        pass


def _kill_all(processes: list[_Process]) -> None:
    for process in processes:
        process.kill()
    processes.clear()


class ApertiumPipeline:
    """One direction's Apertium processes: `translate_blocks` maps stream-format blocks to their translations,
    each block translated as if alone (see the module docstring)."""

    def __init__(self, commands: ModeCommands, environment: dict[str, str], timeout: float, direction: str) -> None:
        self.commands = commands
        self.environment = environment
        self.timeout = timeout
        self.direction = direction
        self._stderr = tempfile.TemporaryFile()
        self._processes: list[_Process] = []  # every live process, for polling and for killing
        self._finalizer = weakref.finalize(self, _kill_all, self._processes)
        self._lock = threading.Lock()  # one request at a time
        self.front = self._start(commands.front)
        self.tagger = self.back = self.probe = self._spare = None
        self._awaiting_verdict: deque[bytes] = deque()  # blocks sent to the probe, in order
        self._tagged_by: deque[_Process] = deque()  # which tagger holds each block, in order
        self.isolate_every_block = False
        self.fresh_taggers = 0
        if commands.tagger is not None:
            self.tagger = self._start(commands.tagger)
            self.back = self._start(commands.back)
            self.probe = self._start(commands.probe())
            self.probe.send(UNKNOWN_WORDS_ONLY)
            self._pump(lambda: bool(self.probe.blocks), route=False)
            self.isolate_every_block = NEW_AMBIGUITY_CLASS in self.probe.blocks.popleft()

    @property
    def pids(self) -> list[int]:
        """Process-group ids of the running processes (for tests and diagnostics)."""
        return [p.popen.pid for p in self._processes]

    @property
    def alive(self) -> bool:
        """False once the pipeline was closed (by `close` or after an error)."""
        return bool(self._processes)

    def translate_blocks(self, blocks: Sequence[bytes]) -> list[bytes]:
        """Translated stream-format blocks, one per block, in order."""
        with self._lock:
            return self._translate(blocks)

    def close(self) -> None:
        self._finalizer()

    # -- internals --

    def _translate(self, blocks: Sequence[bytes]) -> list[bytes]:
        last = self.back or self.front
        for block in blocks:
            self.front.send(block)
        answers: list[bytes] = []

        def collect() -> bool:
            while last.blocks:
                answers.append(last.blocks.popleft())
            return len(answers) >= len(blocks)

        self._pump(collect)
        return answers

    def _start(self, command: str, one_block: bool = False) -> _Process:
        process = _Process(command, self.environment, self._stderr, one_block)
        self._processes.append(process)
        return process

    def _fresh_tagger(self) -> _Process:
        """A tagger started for one block (one is kept started ahead, so its start-up overlaps other work)."""
        tagger = self._spare or self._start(self.commands.tagger, one_block=True)
        self._spare = self._start(self.commands.tagger, one_block=True)
        self.fresh_taggers += 1
        return tagger

    def _route(self) -> None:
        """Move finished blocks one stage on: front -> probe (and held), verdict -> a tagger, tagger -> back."""
        if self.tagger is None:
            return
        while self.front.blocks:
            block = self.front.blocks.popleft()
            self._awaiting_verdict.append(block)
            self.probe.send(block)
        while self.probe.blocks:
            verdict = self.probe.blocks.popleft()
            block = self._awaiting_verdict.popleft()
            isolated = self.isolate_every_block or NEW_AMBIGUITY_CLASS in verdict
            tagger = self._fresh_tagger() if isolated else self.tagger
            tagger.send(block)
            self._tagged_by.append(tagger)
        while self._tagged_by and self._tagged_by[0].blocks:
            tagger = self._tagged_by.popleft()
            self.back.send(tagger.blocks.popleft())
            if tagger.one_block:
                self._processes.remove(tagger)
                tagger.kill()

    def _pump(self, done: Callable[[], bool], route: bool = True) -> None:
        """Write and read every process at once until `done()` (moving blocks between stages unless `route`
        is False); on a stall or a failure, kill them all."""
        poller_masks: dict[int, tuple[_Process, bool]] = {}
        try:
            while True:
                if route:
                    self._route()
                if done():
                    return
                poller = select.poll()
                poller_masks.clear()
                for process in self._processes:
                    if not (process.one_block and process.blocks):  # else the rest is its end-of-input flush
                        poller.register(process.popen.stdout.fileno(), select.POLLIN)
                        poller_masks[process.popen.stdout.fileno()] = (process, False)
                    if process.wants_write:
                        poller.register(process.popen.stdin.fileno(), select.POLLOUT)
                        poller_masks[process.popen.stdin.fileno()] = (process, True)
                events = poller.poll(self.timeout * 1000)
                if not events:
                    raise OSError(f"no answer within {self.timeout:g} s")
                for fd, _ in events:
                    process, writing = poller_masks[fd]
                    if writing:
                        process.write_some()
                    else:
                        process.read_some()
        except OSError as error:
            self.close()
            raise RobustEvalError(
                f"apertium {self.direction} stopped ({error}; {self._error_tail()}): run "
                "`robust-eval resources fetch apertium --force`, or raise the translator's timeout for very long texts"
            ) from None

    def _error_tail(self) -> str:
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no message"


# --- the translator -----------------------------------------------------------------------------------


class ApertiumTranslator:
    """Apertium round trips `source` -> `pivot` -> `source` (default English <-> Spanish).

    Any installed Apertium pair works (`source="eng", pivot="cat"` needs apertium-eng-cat with both
    directions). `-u` behaviour: unknown words pass through unchanged, without Apertium's `*` marks.
    Each sentence's translation is independent of every other sentence (see the module docstring), so
    requests may be batched and split in any way. `pipelines` long-running pipelines per direction (default:
    one per available core) share each request; they start when a request first needs them. Round trips
    are cached per normalised sentence (`cache_size` entries, oldest dropped first) until `reset`.
    `timeout`: seconds a request may go without any answer from Apertium.
    """

    def __init__(
        self,
        source: str = "eng",
        pivot: str = "spa",
        cache_size: int = 100_000,
        timeout: float = 600.0,
        pipelines: int | None = None,
    ) -> None:
        for code in (source, pivot):
            if not re.fullmatch(r"[a-z]{2,3}(_[A-Za-z]+)?", code):
                raise RobustEvalError(f"language code '{code}' is not valid: use Apertium codes such as eng, spa")
        if pipelines is not None and pipelines < 1:
            raise RobustEvalError(f"the number of MT pipelines must be positive, got {pipelines}")
        if timeout <= 0:
            raise RobustEvalError(f"the MT timeout must be a positive number of seconds, got {timeout}")
        self.source = source
        self.pivot = pivot
        self.cache_size = cache_size
        self.timeout = timeout
        self.pipelines = pipelines or resources.usable_cores()
        self._round_trips: dict[str, str] = {}
        self._running: dict[str, list[ApertiumPipeline]] = {}
        self._commands: dict[str, ModeCommands] = {}
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(max_workers=self.pipelines, thread_name_prefix="apertium")

    def translate(self, texts: Sequence[str]) -> list[str]:
        """Translate source-language sentences into the pivot language."""
        return self._run(f"{self.source}-{self.pivot}", [normalise(t) for t in texts])

    @gathered
    def back_translate(self, texts: Sequence[str]) -> list[str]:
        """BT(x) for each text: translated to the pivot and back, with cached results reused (gathered: the
        sentences of every attack in flight are translated together, spread over the pipelines)."""
        lines = [normalise(t) for t in texts]
        missing = list(dict.fromkeys(line for line in lines if line and line not in self._round_trips))
        if missing:
            pivot = self._run(f"{self.source}-{self.pivot}", missing)
            back = self._run(f"{self.pivot}-{self.source}", pivot)
            self._remember(dict(zip(missing, back)))
        return [self._round_trips.get(line, "") if line else "" for line in lines]

    def reset(self) -> None:
        """Empty the cache. The pipelines keep running: their answers never depend on earlier requests."""
        self._round_trips.clear()

    def close(self) -> None:
        """Stop every pipeline (they also stop when the translator is garbage-collected or at exit)."""
        for pipelines in self._running.values():
            for pipeline in pipelines:
                pipeline.close()
        self._running.clear()

    @property
    def pids(self) -> list[int]:
        """Process-group ids of every running Apertium process (for tests and diagnostics)."""
        return [pid for pipelines in self._running.values() for p in pipelines for pid in p.pids]

    @property
    def fresh_taggers(self) -> int:
        """Blocks that needed a freshly started tagger so far (see the module docstring)."""
        return sum(p.fresh_taggers for pipelines in self._running.values() for p in pipelines)

    def _remember(self, round_trips: dict[str, str]) -> None:
        self._round_trips.update(round_trips)
        excess = len(self._round_trips) - self.cache_size
        for key in list(self._round_trips)[: max(excess, 0)]:
            del self._round_trips[key]

    def _mode(self, direction: str) -> tuple[ModeCommands, dict[str, str], Path]:
        """The cut mode pipeline of `direction`, the environment and the program directory; a one-line error
        naming the fetch or the missing pair."""
        modes = resources.apertium_modes_dir()
        if modes is None:
            raise MissingResourceError("apertium", "the apertium program or its eng-spa data is not installed")
        environment = resources.apertium_environment()
        bin_dir = modes.parents[2] / "bin"
        if direction not in self._commands:
            for needed in (f"{self.source}-{self.pivot}", f"{self.pivot}-{self.source}"):
                if not (modes / f"{needed}.mode").is_file():
                    raise RobustEvalError(
                        f"Apertium has no '{needed}' mode in {modes}: install the apertium-{needed} "
                        "language pair or choose another pivot"
                    )
            script = _tool(bin_dir, "apertium-wblank-mode", ["-z", str(modes / f"{direction}.mode")], b"",
                           environment, self.timeout).decode()
            self._commands[direction] = ModeCommands.of_mode(script)
        return self._commands[direction], environment, bin_dir

    def _pipelines(self, direction: str, count: int) -> list[ApertiumPipeline]:
        """`count` running pipelines of `direction` (started as needed; broken ones replaced)."""
        with self._lock:
            running = [p for p in self._running.get(direction, []) if p.alive]
            if len(running) < count:
                commands, environment, _ = self._mode(direction)
                starting = [
                    self._threads.submit(ApertiumPipeline, commands, environment, self.timeout, direction)
                    for _ in range(count - len(running))
                ]
                running += [future.result() for future in starting]
            self._running[direction] = running
            return running[:count]

    def _run(self, direction: str, lines: list[str]) -> list[str]:
        """Translate single-line sentences, one block each, spread over the pipelines; empty lines stay empty."""
        filled = [i for i, line in enumerate(lines) if line]
        translations = ["" for _ in lines]
        if not filled:
            return translations
        _, environment, bin_dir = self._mode(direction)
        blocks = _deformat([lines[i] for i in filled], bin_dir, environment, self.timeout)
        count = min(self.pipelines, -(-len(blocks) // MIN_BLOCKS_PER_PIPELINE))
        pipelines = self._pipelines(direction, count)
        shares = [blocks[k::count] for k in range(count)]
        futures = [self._threads.submit(p.translate_blocks, share) for p, share in zip(pipelines, shares)]
        answers: list[bytes] = [b""] * len(blocks)
        for k, future in enumerate(futures):
            answers[k::count] = future.result()
        output = _reformat(answers, bin_dir, environment, self.timeout)
        if len(output) != len(filled):
            raise RobustEvalError(
                f"apertium {direction} returned {len(output)} sentences for {len(filled)}: "
                "remove control characters from the input texts"
            )
        for index, translation in zip(filled, output):
            translations[index] = normalise(translation)
        return translations


def _tool(bin_dir: Path, name: str, arguments: list[str], data: bytes, environment: dict[str, str],
          timeout: float) -> bytes:
    """Run a short Apertium helper program on `data`; a one-line error when it fails."""
    try:
        completed = subprocess.run(
            [str(bin_dir / name), *arguments], input=data, capture_output=True, timeout=timeout, env=environment,
        )
    except subprocess.TimeoutExpired:
        raise RobustEvalError(f"{name} gave no answer within {timeout:g} s: shorten the texts or raise the timeout") from None
    if completed.returncode != 0:
        tail = (completed.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise RobustEvalError(f"{name} failed ({tail}): run `robust-eval resources fetch apertium --force`")
    return completed.stdout


def _deformat(lines: list[str], bin_dir: Path, environment: dict[str, str], timeout: float) -> list[bytes]:
    """Apertium stream format of each one-line sentence, exactly as `apertium-destxt` gives it for that
    sentence alone (one call for all: paragraphs are cut apart at their blank-line superblanks)."""
    text = "\n\n".join(line.replace("\0", "") for line in lines) + "\n"
    stream = _tool(bin_dir, "apertium-destxt", [], text.encode("utf-8"), environment, timeout)
    parts = stream.split(PARAGRAPH)
    if len(parts) != len(lines):
        raise RobustEvalError(
            f"apertium-destxt made {len(parts)} paragraphs of {len(lines)} sentences: "
            "remove control characters from the input texts"
        )
    return [part + LINE_END for part in parts[:-1]] + parts[-1:]


def _reformat(blocks: list[bytes], bin_dir: Path, environment: dict[str, str], timeout: float) -> list[str]:
    """Plain text of each translated block (one `apertium-retxt` call; each block ends one line)."""
    text = _tool(bin_dir, "apertium-retxt", [], b"".join(blocks), environment, timeout)
    return text.decode("utf-8", errors="replace").rstrip("\n").split("\n")
