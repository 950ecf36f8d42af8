"""Apertium pipelines: each sentence translated as if alone, concurrent I/O with a working timeout, parallel
pipelines, and no process left behind after an error, a close or a killed parent (real Apertium)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import attacks.translation as translation
from attacks.translation import ApertiumPipeline, ApertiumTranslator, ModeCommands
from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError

needs_apertium = pytest.mark.skipif(
    resources.apertium_modes_dir() is None, reason="Apertium eng-spa is not installed (robust-eval resources fetch apertium)"
)

# "a lot of" has an ambiguity class the English tagger's model lacks: a tagger that has seen it tags the
# unknown words of later sentences differently ("fun" becomes an adjective in the second sentence).
TRIGGER = "No worse than a lot of the crap we've been offered this summer."
AFFECTED = [
    "A droll, bitchy frolic which pokes fun at the price of popularity and small town pretension in the Lone Star State.",
    "Surprisingly, the film is a hilarious adventure and I shamelessly enjoyed it.",
    "Never lets go your emotions, taking them to surprising highs, sorrowful lows and hidden impulsive niches...gorgeous, passionate, and at times uncommonly moving.",
]


def alive_in_groups(groups: list[int], wait: float = 10.0) -> list[int]:
    """Processes (not zombies) still in the process groups `groups` after up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) in groups and fields[0] != "Z":
                alive.append(int(stat.parent.name))
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def apertium_alone(direction: str, sentence: str) -> str:
    """The reference: the `apertium` command on the sentence alone."""
    done = subprocess.run(["apertium", "-u", direction], input=sentence + "\n", capture_output=True, text=True,
                          env=resources.apertium_environment(), check=True)
    return translation.normalise(done.stdout)


def english_mode() -> ModeCommands:
    modes = resources.apertium_modes_dir()
    script = subprocess.run(["apertium-wblank-mode", "-z", str(modes / "eng-spa.mode")], capture_output=True,
                            text=True, env=resources.apertium_environment(), check=True).stdout
    return ModeCommands.of_mode(script)


def test_mode_is_cut_around_the_tagger() -> None:
    commands = ModeCommands.of_mode("lt-proc -z 'a.bin' | apertium-tagger -z -g $2 'p.prob' | lt-proc -z $1 'g.bin'\n")
    assert commands == ModeCommands("lt-proc -z 'a.bin'", "apertium-tagger -z -g $2 'p.prob'", "lt-proc -z $1 'g.bin'")
    assert commands.probe() == "apertium-tagger -d -z -g $2 'p.prob' 2>&1"
    assert ModeCommands.of_mode("lt-proc -z 'a.bin' | lt-proc -z 'g.bin'") == ModeCommands("lt-proc -z 'a.bin' | lt-proc -z 'g.bin'")


@needs_apertium
def test_each_sentence_is_translated_as_if_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [apertium_alone("eng-spa", s) for s in AFFECTED]
    request = [TRIGGER] + AFFECTED + [TRIGGER] + AFFECTED[::-1]
    translator = ApertiumTranslator(pipelines=1)
    assert translator.translate(request) == [apertium_alone("eng-spa", TRIGGER)] + expected + [
        apertium_alone("eng-spa", TRIGGER)] + expected[::-1]
    assert translator.translate(AFFECTED) == expected  # after that history too
    back = [apertium_alone("spa-eng", s) for s in expected]
    assert ApertiumTranslator(source="spa", pivot="eng", pipelines=1).translate(expected[::-1] + expected) == back[::-1] + back
    # The same request without the tagger isolation: the history changes the translations.
    monkeypatch.setattr(translation, "NEW_AMBIGUITY_CLASS", b"never printed")
    assert ApertiumTranslator(pipelines=1).translate(request)[1:1 + len(AFFECTED)] != expected


@needs_apertium
def test_reset_empties_the_cache_and_answers_stay_the_same() -> None:
    translator = ApertiumTranslator(pipelines=1)
    first = translator.back_translate(AFFECTED)
    translator.reset()
    assert not translator._round_trips
    assert translator.back_translate([TRIGGER] + AFFECTED)[1:] == first


@needs_apertium
def test_parallel_pipelines_share_a_request_with_the_same_answers() -> None:
    sentences = [f"The {n}th scene of this film was {w}." for n in range(40) for w in ("good", "a lot of fun")]
    one = ApertiumTranslator(pipelines=1).translate(sentences)
    translator = ApertiumTranslator(pipelines=3)
    assert translator.translate(sentences) == one
    assert len(translator._running["eng-spa"]) == 3
    translator.close()


@needs_apertium
@pytest.mark.integration
def test_forty_texts_of_two_thousand_words_finish() -> None:
    words = ("the film is a lot of fun and I really liked the actors but the story is slow . " * 125).split()
    texts = [" ".join(words[i:] + words[:i])[:] for i in range(40)]
    started = time.monotonic()
    spanish = ApertiumTranslator(pipelines=2, timeout=120).translate(texts)
    assert len(spanish) == 40 and all(len(s.split()) > 1500 for s in spanish)
    assert time.monotonic() - started < 300


def test_requests_larger_than_every_pipe_buffer_do_not_block() -> None:
    pipeline = ApertiumPipeline(ModeCommands("cat | cat"), dict(os.environ), timeout=20, direction="test")
    blocks = [bytes([65 + i % 26]) * 300_000 for i in range(20)]  # 6 MB in, 6 MB out
    assert pipeline.translate_blocks(blocks) == blocks
    pipeline.close()


@needs_apertium
def test_a_stalled_pipeline_times_out_and_leaves_no_process() -> None:
    # apertium-destxt answers only at the end of its input: a pipeline stage that never answers a block
    pipeline = ApertiumPipeline(ModeCommands("apertium-destxt"), resources.apertium_environment(), timeout=1,
                                direction="eng-spa")
    groups = pipeline.pids
    started = time.monotonic()
    with pytest.raises(RobustEvalError, match=r"apertium eng-spa stopped \(no answer within 1 s"):
        pipeline.translate_blocks([b"I liked it.[][\n]"])
    assert time.monotonic() - started < 10
    assert alive_in_groups(groups, wait=0) == []


@needs_apertium
def test_a_failing_stage_is_a_one_line_error_and_leaves_no_process() -> None:
    commands = english_mode()
    broken = ModeCommands(commands.front, commands.tagger, "lt-proc -z /nonexistent/eng-spa.autogen.bin")
    with pytest.raises(RobustEvalError, match=r"apertium eng-spa stopped .*resources fetch apertium") as caught:
        ApertiumPipeline(broken, resources.apertium_environment(), timeout=30, direction="eng-spa").translate_blocks(
            [b"I liked it.[][\n]"]
        )
    assert "\n" not in str(caught.value)
    for pid in [p for p in Path("/proc").glob("[0-9]*") if (p / "stat").is_file()]:
        try:
            fields = (pid / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        assert not (int(fields[1]) == os.getpid() and "lt-proc" in (pid / "comm").read_text() and fields[0] != "Z")


@needs_apertium
def test_close_stops_every_process() -> None:
    translator = ApertiumTranslator(pipelines=2)
    translator.back_translate(AFFECTED * 6)
    groups = translator.pids
    assert groups and alive_in_groups(groups, wait=0)
    translator.close()
    assert alive_in_groups(groups, wait=0) == []


CHILD = """
import sys
from attacks.translation import ApertiumTranslator
translator = ApertiumTranslator(pipelines=2)
translator.translate(["warm up.", "twice."] * 8)
print(" ".join(map(str, translator.pids)), flush=True)
words = "the film is a lot of fun but slow . ".split() * 400
translator.back_translate([" ".join(words[i:]) for i in range(60)])
"""


@needs_apertium
def test_a_killed_parent_leaves_no_process() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                             env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    groups = [int(pid) for pid in child.stdout.readline().split()]
    assert groups
    time.sleep(0.5)  # the long request is under way
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert alive_in_groups(groups) == []
