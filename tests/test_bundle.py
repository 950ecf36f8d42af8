"""Offline bundles: pack, verify checksums, install, and relocatable Apertium and Link Grammar that need nothing else."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from robust_eval import bundle
from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError

BASE_LIBRARIES = ("libc.so", "libm.so", "libstdc++.so", "libgcc_s.so", "libz.so", "liblzma.so", "libtinfo.so",
                  "ld-linux", "libpthread.so", "libdl.so", "librt.so", "linux-vdso")


@pytest.mark.integration
def test_bundle_round_trip_restores_the_encoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = bundle.create(tmp_path / "b", ["minilm", "mr"], [], max_mb=60)
    assert set(manifest["items"]) == {"minilm", "mr"} and manifest["size_bytes"] < 50e6
    monkeypatch.setenv("ROBUST_EVAL_HOME", str(tmp_path / "home"))
    assert bundle.install([tmp_path / "b"]) == ["minilm", "mr"]
    from robust_eval.fetch import verify_minilm, verify_mr

    assert "forward pass ok" in verify_minilm(resources.location("minilm"))
    assert "ok" in verify_mr(resources.location("mr"))


@pytest.mark.integration
def test_damaged_or_oversized_bundles_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RobustEvalError, match="over the 0.1 MB budget"):
        bundle.create(tmp_path / "big", ["mr"], [], max_mb=0.1)
    bundle.create(tmp_path / "b", ["mr"], [])
    archive = tmp_path / "b" / "mr.tar.xz"
    archive.write_bytes(archive.read_bytes()[:-10])
    monkeypatch.setenv("ROBUST_EVAL_HOME", str(tmp_path / "home"))
    with pytest.raises(RobustEvalError, match="'mr.tar.xz' is missing or damaged"):
        bundle.install([tmp_path / "b"])
    with pytest.raises(RobustEvalError, match="is not a bundle"):
        bundle.install([tmp_path])
    with pytest.raises(RobustEvalError, match="cannot bundle 'bert'"):
        bundle.create(tmp_path / "c", ["bert"], [])


@pytest.mark.integration
def test_counter_fitted_vectors_are_built_when_a_bundle_asks_for_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from attacks import counterfit

    sources = {name: resources.location(name) for name in ("glove", "wordnet")}
    monkeypatch.setenv("ROBUST_EVAL_HOME", str(tmp_path / "home"))  # a cache with GloVe and WordNet only
    resources.location("glove").parent.mkdir(parents=True)
    resources.location("glove").symlink_to(sources["glove"], target_is_directory=True)
    shutil.copytree(sources["wordnet"], resources.location("wordnet"))  # NLTK refuses a corpus behind a link
    manifest = bundle.create(tmp_path / "b", ["counter-fitted"], [])
    assert manifest["items"]["counter-fitted"]["relative_dir"] == "vectors/counter-fitted"
    built = counterfit.cache_directory(counterfit.DEFAULT_VOCAB_SIZE)
    assert json.loads((built / "info.json").read_text(encoding="utf-8"))["vocab_size"] == counterfit.DEFAULT_VOCAB_SIZE


def _libraries_from_elsewhere(prefix: Path, env: dict[str, str]) -> dict[str, list[str]]:
    """Per program under `prefix/bin`, the shared libraries it finds neither under `prefix` nor in the base."""
    missing: dict[str, list[str]] = {}
    for program in (prefix / "bin").iterdir():
        if program.read_bytes()[:4] != b"\x7fELF":
            continue
        linked = subprocess.run(["ldd", str(program)], capture_output=True, text=True, env=env).stdout
        for line in linked.splitlines():
            name, _, target = line.strip().partition(" => ")
            if "not found" in target or (target and not target.startswith(str(prefix))
                                         and not name.startswith(BASE_LIBRARIES)):
                missing.setdefault(program.name, []).append(name)
    return missing


needs_apt = pytest.mark.skipif(shutil.which("apt-get") is None, reason="bundling Debian packages needs apt-get")


def _bundled_debian_tree(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Bundle resource `name`, install it into a fresh home and return the prefix it was unpacked at."""
    bundle.create(tmp_path / "b", [name], [])
    monkeypatch.setenv("ROBUST_EVAL_HOME", str(tmp_path / "home"))
    bundle.install([tmp_path / "b"])
    return tmp_path / "home" / name / "usr"


@pytest.mark.integration
@needs_apt
def test_relocated_apertium_is_self_contained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = _bundled_debian_tree("apertium", tmp_path, monkeypatch)
    assert resources.apertium_modes_dir() == prefix / "share" / "apertium" / "modes"
    missing = _libraries_from_elsewhere(prefix, resources.apertium_environment())
    assert not missing, json.dumps(missing)
    from attacks.translation import ApertiumTranslator

    assert "film" in ApertiumTranslator().back_translate(["I really hated this boring film."])[0]


@pytest.mark.integration
@needs_apt
def test_relocated_link_grammar_is_self_contained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = _bundled_debian_tree("link-grammar", tmp_path, monkeypatch)
    parser = resources.link_parser()
    assert parser is not None and parser.program == prefix / "bin" / "link-parser"
    assert parser.dictionary == prefix / "share" / "link-grammar" / "en"
    missing = _libraries_from_elsewhere(prefix, parser.environment)
    assert not missing, json.dumps(missing)
    from attacks.constraints.grammar import LinkGrammar

    assert LinkGrammar().unlinked_words(["The movie was great.", "The movies was great."]) == [0, 2]


def test_volumes_split_a_bundle_and_join_on_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("ROBUST_EVAL_HOME", str(home))
    mr_file = resources.location("mr") / resources.resource("mr").marker
    mr_file.parent.mkdir(parents=True)
    content = os.urandom(300_000)  # incompressible: the archive stays about this size
    mr_file.write_bytes(content)
    manifest = bundle.create(tmp_path / "b", ["mr"], [], volume_mb=0.4)
    volumes = sorted((tmp_path / "b").iterdir())
    assert [v.name for v in volumes] == [f"volume-{n}" for n in range(1, manifest["volumes"]["count"] + 1)]
    assert len(volumes) == 3
    for volume in volumes:
        assert sum(f.stat().st_size for f in volume.rglob("*") if f.is_file()) <= 400_000
    shutil.rmtree(mr_file.parent)
    with pytest.raises(RobustEvalError, match="volume 2 of 3 is missing"):
        bundle.install([volumes[0], volumes[2]])
    assert bundle.install(volumes[::-1]) == ["mr"]
    assert mr_file.read_bytes() == content
    shutil.rmtree(mr_file.parent)
    assert bundle.install([tmp_path / "b"]) == ["mr"]
    assert mr_file.read_bytes() == content
    piece = next(volumes[1].glob("*.part*"))
    piece.write_bytes(piece.read_bytes()[:-1])
    with pytest.raises(RobustEvalError, match="'mr.tar.xz' is missing or damaged"):
        bundle.install([tmp_path / "b"])
    with pytest.raises(RobustEvalError, match="leave no room"):
        bundle.create(tmp_path / "c", ["mr"], [], volume_mb=0.1)
