"""Back-translation throughput (sentences / s) of `ApertiumTranslator` with 1, 2, ... pipelines per direction.

For each pipeline count a new translator is started and warmed up on other sentences (so start-up is not
timed and every pipeline runs), then the measured sentences go through eng -> spa -> eng in one request with
an empty cache. Every count must give the same round trips as the first (history independence), else the
script exits with status 1.

    python benchmarks/mt_throughput.py --pipelines 1 2                      # a 2-core host
    python benchmarks/mt_throughput.py --pipelines 1 2 4 8 16 --sentences 4000   # a 16-core host

Prints a table and writes JSON (default benchmarks/results/mt_throughput.json).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from attacks.translation import MIN_BLOCKS_PER_PIPELINE, ApertiumTranslator
from robust_eval.core.resources import usable_cores
from robust_eval.core.data import load_dataset


def measure(pipelines: int, sentences: list[str], warm_up: list[str]) -> tuple[dict, list[str]]:
    """Time one back-translation request of `sentences` on a warmed-up translator with `pipelines` pipelines."""
    translator = ApertiumTranslator(pipelines=pipelines)
    translator.back_translate(warm_up)
    translator.reset()
    started = time.perf_counter()
    round_trips = translator.back_translate(sentences)
    seconds = time.perf_counter() - started
    fresh = translator.fresh_taggers
    translator.close()
    row = {"pipelines": pipelines, "sentences": len(sentences), "seconds": round(seconds, 3),
           "sentences_per_s": round(len(sentences) / seconds, 1), "fresh_taggers": fresh}
    return row, round_trips


def load_average() -> float | None:
    """The 1-minute load average (other work on a shared host slows every number down)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sentences", type=int, default=1000, help="MR train sentences to back-translate")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/mt_throughput.json"))
    args = parser.parse_args()

    train = [e.text for e in load_dataset("mr:train").examples]
    if args.sentences > len(train):
        parser.error(f"--sentences is at most {len(train)}")
    sentences = train[: args.sentences]
    warm_up = [e.text for e in load_dataset("mr:dev").examples]
    rows, reference, identical = [], None, True
    for count in args.pipelines:
        needed = count * MIN_BLOCKS_PER_PIPELINE
        row, round_trips = measure(count, sentences, warm_up[: max(needed, 64)])
        reference = reference or round_trips
        row["identical_to_first"] = round_trips == reference
        identical &= row["identical_to_first"]
        rows.append(row)
        print(f"{count:>3} pipelines: {row['sentences_per_s']:8.1f} sentences/s ({row['seconds']:.2f} s for "
              f"{len(sentences)}; {row['fresh_taggers']} one-block taggers; same round trips: "
              f"{row['identical_to_first']})", flush=True)
    base = rows[0]["sentences_per_s"]
    print("\n| pipelines | sentences / s | speed-up |\n|---|---|---|")
    for row in rows:
        print(f"| {row['pipelines']} | {row['sentences_per_s']:.1f} | {row['sentences_per_s'] / base:.2f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "host": {"cores": usable_cores(), "processor": platform.processor() or platform.machine(),
                 "python": platform.python_version(), "load_average_at_end": load_average()},
        "direction": "eng-spa-eng", "data": "mr:train", "rows": rows,
    }, indent=2) + "\n", encoding="utf-8")
    print(f"written {args.out}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
