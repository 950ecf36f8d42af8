"""Semantically equivalent rewrite rules (SEARs, Ribeiro et al., ACL 2018): representation, files, application.

A rule replaces a token sequence by another, e.g. `What is -> What 's`, `movie -> film`, `It 's -> It was`.
Texts are split into Treebank-style tokens (clitics such as `'s` and `n't` are tokens of their own) that
keep their character spans, so a rewrite touches only the matched span and the rest of the text keeps its
exact spacing. Matching ignores case; the first replacement token takes the case of the first matched one.

Rule tokens are literal words or placeholders:
- `{DET}`: a determiner from a closed list (the, a, an, this, that, these, those, my, your, ...; not the
  negative `no`);
- `{NOUN}`: a singular common noun by a WordNet heuristic (rules match without running a tagger): the word is
  its own WordNet noun lemma, not a stopword, and its SemCor sense count as a noun is at least that of
  every other part of speech (words WordNet lists only as nouns count too). A `{NOUN}` ending a pattern
  does not match the first noun of a compound (`the movie theater`);
- `{END}`: the end of the text (zero width, last in a pattern), so `{END} -> ?` appends a question mark.
A placeholder on the right-hand side copies the word its left-hand twin matched (`{DET} {NOUN} -> the {NOUN}`).

A rule rewrites every match in a text; `Rule.edits` gives the matches as `Edit`s, and `apply_together`
applies several rules at once when no two of their matches share a token (the attack's pairs of rules).

Rules files are JSON (`{"rules": [{"lhs": "movie", "rhs": "film", "support": 12, "flips": 3}, ...]}`) or
TSV (`lhs<TAB>rhs[<TAB>support[<TAB>flips]]`, `#` starts a comment line). Shipped rule sets, loaded by
name: `mined` (the default: mined from MR and selected on MR dev by `robust-eval sears mine`; how, in the
file's `meta`) and `hand-written` (the kinds of rules the paper reports).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources as package_files
from pathlib import Path
from typing import Callable, Iterable, Sequence

from attacks.constraints.stopwords import STOPWORDS
from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError

TOKEN_PATTERN = re.compile(
    r"[^\W_]+(?=n['’]t\b)|n['’]t\b|['’](?:s|re|ve|ll|d|m)\b|[^\W_]+(?:-[^\W_]+)*|[^\w\s]|_+",
    re.IGNORECASE,
)
CLITIC = re.compile(r"^(?:n['’]t|['’](?:s|re|ve|ll|d|m))$", re.IGNORECASE)
ATTACHED_PUNCTUATION = frozenset(".,!?;:%)]}")
# Determiners a {DET} may match; the negative "no" is left out: rewriting it ("no reason" -> "the reason")
# turns the meaning around.
DETERMINERS = frozenset(
    "the a an this that these those my your his her its our their some any every each".split()
)
PLACEHOLDERS = ("{DET}", "{NOUN}", "{END}")
# Shipped rule sets: the rules mined from MR (versioned file, see its "meta") and the paper's hand-written kinds.
RULE_SETS = {"mined": "data/sears_rules_mined_mr_v1.json", "hand-written": "data/sears_rules_hand_written.json"}
DEFAULT_RULE_SET = "mined"


@dataclass(frozen=True)
class Token:
    """A token and its character span in the text it came from."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Edit:
    """One rule match: tokens `[first, last)` of a text, i.e. characters `[start, end)`, become `replacement`."""

    first: int
    last: int
    start: int
    end: int
    replacement: str

    def overlaps(self, other: "Edit") -> bool:
        """Do the two matches share a token (two zero-width matches at one place count as shared)?"""
        if self.first == self.last or other.first == other.last:
            return self.first == other.first and self.last == other.last
        return self.first < other.last and other.first < self.last


def rewrite(text: str, edits: Sequence[Edit]) -> str | None:
    """`text` with non-overlapping `edits` applied, or None when there are none or nothing changes."""
    if not edits:
        return None
    pieces: list[str] = []
    cursor = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        pieces += [text[cursor:max(edit.start, cursor)], edit.replacement]
        cursor = max(edit.end, cursor)
    pieces.append(text[cursor:])
    rewritten = "".join(pieces)
    return rewritten if rewritten != text else None


def tokenize(text: str) -> list[Token]:
    """Treebank-style tokens with spans: words, clitics (`'s`, `n't`) and single punctuation marks."""
    return [Token(m.group(), m.start(), m.end()) for m in TOKEN_PATTERN.finditer(text)]


def join_tokens(tokens: Sequence[str]) -> str:
    """Tokens as natural text: clitics and closing punctuation attach to the token before them."""
    out = ""
    for token in tokens:
        glue = "" if not out or CLITIC.match(token) or token in ATTACHED_PUNCTUATION else " "
        out += glue + token
    return out


def _match_case(word: str, like: str) -> str:
    """`word` with the case of the first letter of `like` (the pronoun "I" stays upper-case)."""
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    if like[:1].islower() and word != "I":
        return word[:1].lower() + word[1:]
    return word


@lru_cache(maxsize=50_000)
def is_noun(word: str) -> bool:
    """WordNet heuristic for a singular common noun (see the module docstring)."""
    lowered = word.lower()
    if not lowered.isalpha() or len(lowered) < 2 or lowered in STOPWORDS or lowered in DETERMINERS:
        return False
    wordnet = resources.wordnet()
    if wordnet.morphy(lowered, "n") != lowered:
        return False
    counts: dict[str, int] = {}
    for synset in wordnet.synsets(lowered):
        pos = "a" if synset.pos() == "s" else synset.pos()
        count = sum(l.count() for l in synset.lemmas() if l.name().lower() == lowered)
        counts[pos] = counts.get(pos, 0) + count
    if "n" not in counts:
        return False
    others = [c for p, c in counts.items() if p != "n"]
    if not others:
        return True
    return counts["n"] > 0 and all(counts["n"] >= c for c in others)


@dataclass(frozen=True)
class Rule:
    """`lhs -> rhs` over tokens; `support` (mined sentences showing it), `flips` (predictions it changed)."""

    lhs: tuple[str, ...]
    rhs: tuple[str, ...]
    support: int = 0
    flips: int = 0
    source: str = "built-in"
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.lhs:
            raise RobustEvalError(f"rule '{self}' has an empty left-hand side: give the words it replaces")
        for token in self.lhs + self.rhs:
            if token.startswith("{") and token.endswith("}") and token not in PLACEHOLDERS:
                raise RobustEvalError(f"rule '{self}' uses unknown placeholder {token}: use one of {', '.join(PLACEHOLDERS)}")
        if "{END}" in self.lhs[:-1] or "{END}" in self.rhs:
            raise RobustEvalError(f"rule '{self}': {{END}} may only end the left-hand side")
        for token in self.rhs:
            if token in PLACEHOLDERS and token not in self.lhs:
                raise RobustEvalError(f"rule '{self}': placeholder {token} on the right is not on the left")
        if [t.lower() for t in self.lhs] == [t.lower() for t in self.rhs]:
            raise RobustEvalError(f"rule '{self}' changes nothing: make both sides differ")

    @classmethod
    def parse(cls, lhs: str, rhs: str, **fields_) -> "Rule":
        """A rule from space-separated token strings, e.g. `Rule.parse("What is", "What 's")`."""
        return cls(tuple(lhs.split()), tuple(rhs.split()), **fields_)

    def __str__(self) -> str:
        return f"{' '.join(self.lhs)} -> {' '.join(self.rhs)}"

    @property
    def pattern(self) -> tuple[str, ...]:
        """The left-hand side without the zero-width `{END}` anchor."""
        return self.lhs[:-1] if self.lhs[-1] == "{END}" else self.lhs

    def matches(
        self, text: str, noun: Callable[[str], bool] = is_noun, allowed: Callable[[int], bool] | None = None,
    ) -> list[tuple[int, int]]:
        """Non-overlapping token spans `[start, end)` where the rule applies, left to right.

        `allowed(offset)` may veto a match by the character offset of its first token (zero-width
        `{END}` matches are always allowed).
        """
        tokens = tokenize(text)
        spans = self._matches(tokens, noun)
        if allowed is None:
            return spans
        return [(a, b) for a, b in spans if a == b or allowed(tokens[a].start)]

    def _matches(self, tokens: list[Token], noun: Callable[[str], bool]) -> list[tuple[int, int]]:
        pattern = self.pattern
        anchored = self.lhs[-1] == "{END}"
        if not tokens or len(pattern) > len(tokens):
            return []
        if anchored:
            start = len(tokens) - len(pattern)
            return [(start, len(tokens))] if self._fits(tokens, start, len(tokens), noun) else []
        spans: list[tuple[int, int]] = []
        position = 0
        while position + len(pattern) <= len(tokens):
            end = position + len(pattern)
            if self._fits(tokens, position, end, noun):
                spans.append((position, end))
                position = end
            else:
                position += 1
        return spans

    def _fits(self, tokens: list[Token], start: int, end: int, noun: Callable[[str], bool]) -> bool:
        for want, token in zip(self.pattern, tokens[start:end]):
            word = token.text.replace("’", "'").lower()
            if want == "{DET}":
                ok = word in DETERMINERS
            elif want == "{NOUN}":
                ok = noun(word)
            else:
                ok = word == want.lower()
            if not ok:
                return False
        if self.pattern and self.pattern[-1] == "{NOUN}" and end < len(tokens):
            return not noun(tokens[end].text.lower())
        return True

    def edits(
        self, text: str, noun: Callable[[str], bool] = is_noun, allowed: Callable[[int], bool] | None = None,
    ) -> list[Edit]:
        """One `Edit` per (allowed) match, left to right; empty when the rule does not apply."""
        tokens = tokenize(text)
        return [self._edit(text, tokens, start, end) for start, end in self.matches(text, noun, allowed)]

    def apply(
        self, text: str, noun: Callable[[str], bool] = is_noun, allowed: Callable[[int], bool] | None = None,
    ) -> str | None:
        """`text` with every (allowed) match rewritten, or None when the rule does not apply."""
        return rewrite(text, self.edits(text, noun, allowed))

    def _edit(self, text: str, tokens: list[Token], start: int, end: int) -> Edit:
        matched = tokens[start:end]
        words = self._replacement([t.text for t in matched])
        replacement = join_tokens(words)
        if matched:
            left, right = matched[0].start, matched[-1].end
        else:
            left = right = len(text.rstrip())
        attaches = bool(words) and bool(CLITIC.match(words[0]) or words[0] in ATTACHED_PUNCTUATION)
        if replacement and not attaches and left > 0 and not text[left - 1].isspace():
            replacement = " " + replacement  # "It's" with "'s -> is" becomes "It is", not "Itis"
        if attaches:
            left = len(text[:left].rstrip(" "))  # "It is" with "is -> 's" becomes "It's"
        if not replacement:  # a deletion also takes the space after the span (or before it, at the end)
            trailing = len(text[right:]) - len(text[right:].lstrip(" "))
            right += trailing
            if not trailing:
                left = len(text[:left].rstrip(" "))
        return Edit(start, end, left, right, replacement)

    def _replacement(self, matched: list[str]) -> list[str]:
        bound = {want: word for want, word in zip(self.pattern, matched) if want in PLACEHOLDERS}
        words = [bound.get(token, token) for token in self.rhs]
        if words and matched and matched[0][:1].isalpha():
            words[0] = _match_case(words[0], matched[0])
        return words

    def to_dict(self) -> dict:
        """JSON form: token strings plus counts."""
        data = {"lhs": " ".join(self.lhs), "rhs": " ".join(self.rhs), "support": self.support,
                "flips": self.flips, "source": self.source}
        data.update(self.extra)
        return data


# --- rules files -----------------------------------------------------------------------------------


def rules_from_dicts(items: Iterable[dict], origin: str) -> list[Rule]:
    """Rules from JSON objects with `lhs`, `rhs` and optional `support`, `flips`, `source` (others kept)."""
    rules = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("lhs"), str) or not isinstance(item.get("rhs"), str):
            raise RobustEvalError(f"{origin}: rule {number} needs string fields 'lhs' and 'rhs'")
        known = {"lhs", "rhs", "support", "flips", "source"}
        rules.append(Rule.parse(
            item["lhs"], item["rhs"], support=int(item.get("support", 0)), flips=int(item.get("flips", 0)),
            source=str(item.get("source", origin)), extra={k: v for k, v in item.items() if k not in known},
        ))
    return rules


def parse_rules(content: str, fmt: str, origin: str = "rules") -> list[Rule]:
    """Rules from the text of a `json` or `tsv` rules file."""
    if fmt == "json":
        try:
            data = json.loads(content)
        except json.JSONDecodeError as error:
            raise RobustEvalError(f"{origin} is not valid JSON (line {error.lineno}): fix the rules file") from None
        items = data.get("rules") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise RobustEvalError(f"{origin}: expected a list of rules or an object with a 'rules' list")
        return rules_from_dicts(items, origin)
    if fmt != "tsv":
        raise RobustEvalError(f"unknown rules format '{fmt}': use json or tsv")
    rules = []
    for number, row in enumerate(csv.reader(io.StringIO(content), delimiter="\t"), start=1):
        if not row or not "".join(row).strip() or row[0].startswith("#"):
            continue
        if len(row) < 2 or len(row) > 4:
            raise RobustEvalError(f"{origin}: line {number} needs lhs<TAB>rhs[<TAB>support[<TAB>flips]]")
        try:
            counts = [int(v) for v in row[2:]]
        except ValueError:
            raise RobustEvalError(f"{origin}: line {number} has a non-integer support or flips count") from None
        rules.append(Rule.parse(row[0], row[1], support=(counts + [0])[0], flips=(counts[1:] + [0])[0], source=origin))
    return rules


def rules_format(path: Path) -> str:
    """`json` or `tsv` from the file suffix."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".tsv", ".txt"):
        return "tsv"
    raise RobustEvalError(f"rules file '{path}' must end in .json or .tsv")


def apply_together(
    rules: Sequence[Rule], text: str, noun: Callable[[str], bool] = is_noun,
    allowed: Callable[[int], bool] | None = None,
) -> str | None:
    """`text` rewritten by every rule at once, or None unless each applies and no two share a token."""
    edits: list[Edit] = []
    for rule in rules:
        mine = rule.edits(text, noun, allowed)
        if not mine or any(a.overlaps(b) for a in mine for b in edits):
            return None
        edits += mine
    return rewrite(text, edits)


def rule_set_names() -> tuple[str, ...]:
    """Names of the rule sets shipped with the package (`load_rules("hand-written")`, ...)."""
    return tuple(RULE_SETS)


def load_rules(spec: str | Path | None = None) -> list[Rule]:
    """Rules of a shipped rule set by name (`mined`, the default, or `hand-written`) or of a JSON / TSV file."""
    name = DEFAULT_RULE_SET if spec is None else str(spec)
    if name in RULE_SETS:
        shipped = package_files.files("attacks").joinpath(RULE_SETS[name])
        return parse_rules(shipped.read_text(encoding="utf-8"), "json", name)
    path = Path(name)
    if not path.is_file():
        raise RobustEvalError(
            f"rules '{name}' are neither a rule set ({', '.join(RULE_SETS)}) nor an existing file: "
            "check the path or run `robust-eval sears mine`"
        )
    return parse_rules(path.read_text(encoding="utf-8"), rules_format(path), str(path))


def save_rules(rules: Sequence[Rule], path: str | Path, meta: dict | None = None) -> Path:
    """Write rules as JSON (with optional `meta`) or TSV, chosen by the suffix of `path`."""
    path = Path(path)
    fmt = rules_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        payload = {**({"meta": meta} if meta else {}), "rules": [r.to_dict() for r in rules]}
        path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        rows = [f"{' '.join(r.lhs)}\t{' '.join(r.rhs)}\t{r.support}\t{r.flips}" for r in rules]
        path.write_text("# lhs\trhs\tsupport\tflips\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path
