"""Part-of-speech tagging speed on CPU: whole MR sentences in batches, and the context windows a
part-of-speech check tags for candidate texts (one window per candidate, 4 words either side).

    python benchmarks/tagger_speed.py --limit 500 --out benchmarks/tagger_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from attacks.tagging import PosTagger
from attacks.text import AttackedText
from attacks.transformations import match_case
from robust_eval.core.data import load_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mr:dev")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--radius", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/tagger_speed.json"))
    args = parser.parse_args()

    texts = [AttackedText.from_text(e.text) for e in load_dataset(args.data).examples[: args.limit]]
    words = sum(len(t) for t in texts)
    tagger = PosTagger()
    tagger.word_tags(texts[:5])  # load the pipeline outside the timing

    started = time.perf_counter()
    tagger.word_tags(texts)
    sentences_s = time.perf_counter() - started

    # Candidate texts as a swap search makes them: every word replaced by another word, tagged in its window.
    candidates = [(t.replace_words({i: match_case("thing", t.words[i])}), i) for t in texts for i in range(len(t))]
    started = time.perf_counter()
    tagger.window_tags(candidates, args.radius)
    windows_s = time.perf_counter() - started
    started = time.perf_counter()
    tagger.window_tags(candidates, args.radius)
    cached_s = time.perf_counter() - started

    result = {
        "data": args.data, "sentences": len(texts), "words": words, "candidate_windows": len(candidates),
        "radius": args.radius, "cpu_threads": torch.get_num_threads(), "processor": platform.processor() or platform.machine(),
        "load_average_1min": round(os.getloadavg()[0], 1),
        "sentence_words_per_s": round(words / sentences_s), "sentences_per_s": round(len(texts) / sentences_s, 1),
        "window_tags_per_s": round(len(candidates) / windows_s), "cached_window_tags_per_s": round(len(candidates) / cached_s),
    }
    print(f"{len(texts)} sentences ({words} words): {result['sentence_words_per_s']} words/s tagged whole; "
          f"{len(candidates)} candidate windows: {result['window_tags_per_s']} tags/s, "
          f"{result['cached_window_tags_per_s']} tags/s from the cache")
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
