"""Grammar errors counted with the Link Grammar parser, and a constraint forbidding new ones.

Morris et al. (2020) reject perturbations that add LanguageTool errors. LanguageTool cannot be installed
from a package registry (its Python client downloads a server at run time), so this uses the CMU Link
Grammar parser (Sleator & Temperley 1993; Debian `link-grammar`, resource `link-grammar`), which runs
offline: a text's error count is the number of words the parser must leave unlinked ("null count") to
parse it at all; 0 means a complete grammatical parse. A perturbation adds errors when the count rises
("The movie was great." 0 -> "The movies was great." 2). Link Grammar judges syntax only: a swap that
keeps the word class ("drive you crazy" -> "drive you fun") passes, and some agreement errors are
accepted as subjunctives ("the movie were great").
"""

from __future__ import annotations

import re
import subprocess
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Sequence

from attacks.core import Constraint
from attacks.text import AttackedText
from robust_eval.core import resources
from robust_eval.core.errors import MissingResourceError, RobustEvalError
from robust_eval.core.gather import gathered

# Per-sentence time limit in seconds; a sentence that runs out keeps the best parse found so far.
TIMEOUT_S = 5
CACHE_SIZE = 100_000
# Fewer sentences than this are not worth a parser process of their own.
MIN_SENTENCES_PER_PROCESS = 8
PARSER_SETTINGS = ("!verbosity=1", "!graphics=0", "!spell=0", f"!timeout={TIMEOUT_S}")
RESULT_LINE = re.compile(r"^Found \d+ linkages?.*?(?: at null count (\d+))?$")


def parser_input(text: str) -> str:
    """One line the parser reads as a sentence: no line breaks, no leading `!` (its command prefix)."""
    line = " ".join(text.split()).lstrip("!").strip()
    return line or "."


class LinkGrammar:
    """Unlinked-word counts from `link-parser`, cached per text; a batch is split over `processes` parser
    processes running at once (default: one per available core). A text the parser gives no result for, even
    parsed alone, counts as unknown (None)."""

    def __init__(self, processes: int | None = None) -> None:
        parser = resources.link_parser()
        if parser is None:
            raise MissingResourceError("link-grammar", "link-parser or its English dictionary is not installed")
        if processes is not None and processes < 1:
            raise RobustEvalError(f"the number of parser processes must be positive, got {processes}")
        self.parser = parser
        self.processes = processes or resources.usable_cores()
        self._cache: OrderedDict[str, int | None] = OrderedDict()

    @gathered
    def unlinked_words(self, texts: Sequence[str]) -> list[int | None]:
        """The parser's null count per text (0 = a complete parse; None = no result); gathered across the
        attacks in flight, so their sentences share the parser processes."""
        pending = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if pending:
            size = max(MIN_SENTENCES_PER_PROCESS, -(-len(pending) // self.processes))
            chunks = [pending[i:i + size] for i in range(0, len(pending), size)]
            with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
                for chunk, counts in zip(chunks, pool.map(self._parse_or_split, chunks)):
                    self._cache.update(zip(chunk, counts))
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return [self._cache[t] for t in texts]

    def _parse_or_split(self, texts: list[str]) -> list[int | None]:
        counts = self._parse(texts)
        if counts is not None:
            return counts
        if len(texts) == 1:
            return [None]
        return [count for text in texts for count in self._parse_or_split([text])]

    def _parse(self, texts: list[str]) -> list[int] | None:
        """Null counts of `texts` from one parser process, or None when it did not give one per text."""
        lines = [*PARSER_SETTINGS, *(parser_input(t) for t in texts)]
        done = subprocess.run(
            [str(self.parser.program), str(self.parser.dictionary)], input="\n".join(lines) + "\n",
            capture_output=True, text=True, env=self.parser.environment, timeout=60 + TIMEOUT_S * 2 * len(texts),
        )
        counts = [int(m.group(1) or 0) for m in map(RESULT_LINE.match, done.stdout.splitlines()) if m]
        if done.returncode == 127 or (done.returncode and not done.stdout):
            raise RobustEvalError(
                f"link-parser failed (exit {done.returncode}): reinstall link-grammar with "
                "`robust-eval resources fetch link-grammar`"
            )
        return counts if len(counts) == len(texts) else None


@lru_cache(maxsize=1)
def link_grammar() -> LinkGrammar:
    """The shared parser wrapper (its cache lives for the process)."""
    return LinkGrammar()


class NoNewGrammarErrors(Constraint):
    """Keep candidates whose unlinked-word count does not exceed the original's (Morris et al. 2020).

    Lazy by default: the parser runs only on the best-scoring candidates.
    """

    def __init__(self, checker: LinkGrammar | None = None, lazy: bool = True) -> None:
        self.lazy = lazy
        self._checker = checker

    @property
    def checker(self) -> LinkGrammar:
        if self._checker is None:
            self._checker = link_grammar()
        return self._checker

    def filter(self, candidates: Sequence[AttackedText], original: AttackedText) -> list[bool]:
        if not candidates:
            return []
        base, *counts = self.checker.unlinked_words([original.text, *(c.text for c in candidates)])
        # a text the parser gives no result for cannot be shown to add no errors: rejected
        return [base is not None and count is not None and count <= base for count in counts]
