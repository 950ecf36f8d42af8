"""Calibrate `textfooler`'s two thresholds for the resources available here (CPU, a few minutes).

1. Counter-fitted neighbours. TextFooler keeps the 50 nearest counter-fitted neighbours with cosine >= 0.5,
   a value set for the 300-d PARAGRAM-SL999 vectors. The 50-d space built here (attacks/counterfit.py) is
   much denser. For the most frequent non-stopwords of `mr:train`, measure at several cosine thresholds how
   many of the top-50 neighbours are kept and which share of them are WordNet synonyms (share a synset with
   the word: "synonym precision"). No published value exists for the 300-d lists, so the target is chosen:
   the lowest threshold at which at least `--target-precision` of the kept neighbours are WordNet synonyms.
2. Sentence similarity. TextFooler's code keeps a swap when 1 - arccos(USE cosine) >= 0.7 on a 15-word
   window (USE cosine >= 0.955; TextAttack's angular similarity >= 0.904). USE cannot be had offline and
   MiniLM cosines live on another scale, so the MiniLM threshold is chosen on MiniLM's own scale, as the
   value that best separates one-word swaps the check exists to keep from those it exists to reject on
   `mr:dev` windows: same-part-of-speech WordNet synonyms (inflected) against random vocabulary words,
   maximising the share of synonym swaps kept minus the share of random swaps kept (Youden's J). Pass
   rates for swaps by the calibrated counter-fitted neighbours are reported beside it.

    python benchmarks/calibrate_textfooler.py --out benchmarks/textfooler_calibration.json
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

import numpy as np

from attacks import counterfit
from attacks.constraints.similarity import SentenceSimilarity
from attacks.constraints.stopwords import TEXTFOOLER_STOPWORDS
from attacks.text import AttackedText
from attacks.transformations import match_case
from attacks.transformations.wordnet import PosWordNetSwap
from robust_eval.core import resources
from robust_eval.core.data import load_dataset

COSINES = (0.5, 0.6, 0.7, 0.75, 0.8, 0.82, 0.84, 0.86, 0.88, 0.9, 0.92, 0.94)
SIMILARITIES = (0.8, 0.84, 0.86, 0.88, 0.9, 0.92, 0.94, 0.955, 0.97)


def frequent_words(vectors: counterfit.CounterFittedVectors, count: int) -> list[str]:
    """The `count` most frequent `mr:train` words that are not stopwords and that WordNet and the vectors know."""
    wordnet = resources.wordnet()
    counts = Counter(w.lower() for e in load_dataset("mr:train").examples for w in AttackedText.from_text(e.text).words)
    chosen = []
    for word, _ in counts.most_common():
        if word.isalpha() and word not in TEXTFOOLER_STOPWORDS and word in vectors.index and wordnet.synsets(word):
            chosen.append(word)
            if len(chosen) == count:
                break
    return chosen


def neighbour_precision(vectors: counterfit.CounterFittedVectors, words: list[str]) -> list[dict]:
    """Per cosine threshold: neighbours kept per word, share of words with none, synonym precision."""
    wordnet = resources.wordnet()
    synonyms = {w: {n.lower() for s in wordnet.synsets(w) for n in s.lemma_names()} - {w} for w in words}
    rows = []
    for threshold in COSINES:
        lists = [vectors.neighbours(w, counterfit.NEIGHBOURS, threshold) for w in words]
        kept = sum(len(n) for n in lists)
        hits = sum(len(set(n) & synonyms[w]) for w, n in zip(words, lists))
        rows.append({"min_cos": threshold, "kept_per_word": round(kept / len(words), 2),
                     "words_without_neighbours": round(float(np.mean([not n for n in lists])), 3),
                     "synonym_precision": round(hits / max(kept, 1), 3)})
    return rows


def one_word_swaps(vectors: counterfit.CounterFittedVectors, min_cos: float, limit: int, seed: int):
    """(original, synonym swap, neighbour swap, random swap) on `mr:dev`, one random swappable word each."""
    rng = random.Random(seed)
    wordnet_swap = PosWordNetSwap()
    vocabulary = vectors.words[:20_000]
    swaps = []
    for example in load_dataset("mr:dev").examples[:limit]:
        text = AttackedText.from_text(example.text)
        indices = [i for i, w in enumerate(text.words) if w.lower() not in TEXTFOOLER_STOPWORDS]
        options = [(i, s) for i, s in zip(indices, wordnet_swap.substitutes_in(text, indices))
                   if s and vectors.neighbours(text.words[i].lower(), counterfit.NEIGHBOURS, min_cos)]
        if not options:
            continue
        index, synonyms = rng.choice(options)
        word = text.words[index]
        neighbour = rng.choice(vectors.neighbours(word.lower(), counterfit.NEIGHBOURS, min_cos))
        swaps.append([text] + [text.replace_words({index: match_case(new, word)})
                               for new in (rng.choice(synonyms), neighbour, rng.choice(vocabulary))])
    return swaps


def similarity_pass_rates(swaps, window: int) -> tuple[dict[str, np.ndarray], list[dict]]:
    constraint = SentenceSimilarity(window=window)
    cosines = {}
    for k, kind in ((1, "synonym"), (2, "neighbour"), (3, "random")):
        pairs = [constraint.pair(row[k], row[0]) for row in swaps]
        left, right = constraint.encoder.encode([p[0] for p in pairs]), constraint.encoder.encode([p[1] for p in pairs])
        cosines[kind] = (left * right).sum(axis=1)
    rows = [{"min_similarity": t, **{f"{kind}_kept": round(float((c >= t).mean()), 3) for kind, c in cosines.items()}}
            for t in SIMILARITIES]
    return cosines, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=500)
    parser.add_argument("--target-precision", type=float, default=0.2)
    parser.add_argument("--sentences", type=int, default=400)
    parser.add_argument("--window", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/textfooler_calibration.json"))
    args = parser.parse_args()

    vectors = counterfit.load()
    words = frequent_words(vectors, args.words)
    precision = neighbour_precision(vectors, words)
    reaching = [row for row in precision if row["synonym_precision"] >= args.target_precision]
    min_cos = reaching[0]["min_cos"] if reaching else COSINES[-1]
    for row in precision:
        print(f"cos >= {row['min_cos']:.2f}: {row['kept_per_word']:5.1f} neighbours/word, "
              f"{row['words_without_neighbours']:.0%} words without, synonym precision {row['synonym_precision']:.3f}")

    swaps = one_word_swaps(vectors, min_cos, args.sentences, args.seed)
    cosines, rates = similarity_pass_rates(swaps, args.window)
    grid = np.round(np.arange(0.70, 0.99, 0.005), 3)
    separation = [(cosines["synonym"] >= t).mean() - (cosines["random"] >= t).mean() for t in grid]
    min_similarity = float(grid[int(np.argmax(separation))])
    for row in rates:
        print(f"MiniLM >= {row['min_similarity']:.3f}: keeps {row['synonym_kept']:.0%} synonym, "
              f"{row['neighbour_kept']:.0%} neighbour, {row['random_kept']:.0%} random-word swaps")
    at_choice = {kind: round(float((c >= min_similarity).mean()), 3) for kind, c in cosines.items()}
    print(f"chosen: min_cos {min_cos}, min_similarity {min_similarity} (keeps {at_choice}, "
          f"separation {max(separation):.3f})")

    result = {
        "vectors": counterfit.load().info, "words": len(words), "target_synonym_precision": args.target_precision,
        "neighbours": precision, "min_cos": min_cos,
        "sentences": len(swaps), "window": args.window,
        "similarity": rates, "min_similarity": min_similarity, "kept_at_min_similarity": at_choice,
        "separation_at_min_similarity": round(float(max(separation)), 3),
        "sample_words": words[:30],
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
