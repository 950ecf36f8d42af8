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
from functools import lru_cache
from typing import Sequence

from attacks.core import Constraint
from attacks.text import AttackedText
from robust_eval.core import resources
from robust_eval.core.errors import MissingResourceError, RobustEvalError

# Per-sentence time limit in seconds; a sentence that runs out keeps the best parse found so far.
TIMEOUT_S = 5
CACHE_SIZE = 100_000
PARSER_SETTINGS = ("!verbosity=1", "!graphics=0", "!spell=0", f"!timeout={TIMEOUT_S}")
RESULT_LINE = re.compile(r"^Found \d+ linkages?.*?(?: at null count (\d+))?$")


def parser_input(text: str) -> str:
    """One line the parser reads as a sentence: no line breaks, no leading `!` (its command prefix)."""
    line = " ".join(text.split()).lstrip("!").strip()
    return line or "."


class LinkGrammar:
    """Unlinked-word counts from `link-parser`, one process per batch of texts, cached per text."""

    def __init__(self) -> None:
        parser = resources.link_parser()
        if parser is None:
            raise MissingResourceError("link-grammar", "link-parser or its English dictionary is not installed")
        self.parser = parser
        self._cache: OrderedDict[str, int] = OrderedDict()

    def unlinked_words(self, texts: Sequence[str]) -> list[int]:
        """The parser's null count per text (0 = a complete parse)."""
        pending = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if pending:
            for text, count in zip(pending, self._parse(pending)):
                self._cache[text] = count
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return [self._cache[t] for t in texts]

    def _parse(self, texts: list[str]) -> list[int]:
        lines = [*PARSER_SETTINGS, *(parser_input(t) for t in texts)]
        done = subprocess.run(
            [str(self.parser.program), str(self.parser.dictionary)], input="\n".join(lines) + "\n",
            capture_output=True, text=True, env=self.parser.environment, timeout=60 + TIMEOUT_S * 2 * len(texts),
        )
        counts = [int(m.group(1) or 0) for m in map(RESULT_LINE.match, done.stdout.splitlines()) if m]
        if done.returncode or len(counts) != len(texts):
            raise RobustEvalError(
                f"link-parser gave {len(counts)} results for {len(texts)} sentences (exit {done.returncode}): "
                "reinstall link-grammar with `robust-eval resources fetch link-grammar`"
            )
        return counts


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
        return [count <= base for count in counts]
