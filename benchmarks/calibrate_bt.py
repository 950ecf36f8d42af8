"""Calibrate the back-translation filter's threshold on labelled paraphrase / non-paraphrase pairs.

Pairs are built from MR dev sentences with token rewrite rules (attacks.sears.rules.Rule):
- paraphrases: rule rewrites known to be equivalent (movie <-> film, it 's -> it is, does n't -> does not)
  and synonym swaps (pairs that share a WordNet synset, checked below);
- non-paraphrases: antonym swaps (WordNet antonym pairs, checked below), negations added or removed,
  and two different MR sentences.
For each pair the back-translation score cos(E(BT(x)), E(BT(x'))) is computed (the filter's score) and,
for reference, the plain encoder cosine cos(E(x), E(x')). The threshold maximising balanced accuracy is
recorded with per-kind pass rates and ROC AUC.

    python benchmarks/calibrate_bt.py [--per-kind 60] [--output benchmarks/bt_calibration.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import subprocess
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from attacks.constraints.back_translation import BackTranslationScore
from attacks.constraints.similarity import minilm_encoder
from attacks.sears.rules import Rule
from robust_eval.core import resources
from robust_eval.core.data import load_dataset

EQUIVALENT_RULES = [
    ("movie", "film"), ("film", "movie"), ("movies", "films"), ("films", "movies"),
    ("it 's", "it is"), ("does n't", "does not"), ("is n't", "is not"), ("do n't", "do not"),
]
SYNONYMS = [
    ("funny", "amusing"), ("boring", "dull"), ("beautiful", "lovely"), ("film", "picture"),
    ("story", "tale"), ("smart", "clever"), ("big", "large"), ("hard", "difficult"),
    ("begins", "starts"), ("enough", "sufficient"), ("often", "frequently"), ("perhaps", "maybe"),
    ("best", "finest"), ("little", "small"), ("fascinating", "captivating"),
    ("strange", "unusual"), ("simply", "just"), ("entertaining", "amusing"),
]
ANTONYMS = [
    ("good", "bad"), ("bad", "good"), ("best", "worst"), ("worst", "best"), ("love", "hate"),
    ("interesting", "uninteresting"), ("funny", "unfunny"), ("beautiful", "ugly"), ("well", "badly"),
    ("strong", "weak"), ("old", "new"), ("new", "old"), ("success", "failure"), ("fresh", "stale"),
    ("better", "worse"), ("worse", "better"), ("smart", "stupid"), ("never", "always"), ("always", "never"),
    ("most", "least"), ("more", "less"),
]
NEGATIONS = [
    ("is", "is not"), ("was", "was not"), ("are", "are not"), ("is n't", "is"), ("does n't", "does"),
    ("not", "")
]


def wordnet_checked(pairs: list[tuple[str, str]], relation: str) -> list[tuple[str, str]]:
    """Keep the pairs that WordNet lists as synonyms (shared synset) or antonyms (antonym lemma)."""
    wn = resources.wordnet()
    kept = []
    for a, b in pairs:
        if relation == "synonym":
            ok = bool(set(wn.synsets(a)) & set(wn.synsets(b)))
        else:
            ok = any(
                ant.name() == b
                for lemma in (l for s in wn.synsets(a) for l in s.lemmas() if l.name() == a)
                for ant in lemma.antonyms()
            ) or any(
                ant.name() == a
                for lemma in (l for s in wn.synsets(b) for l in s.lemmas() if l.name() == b)
                for ant in lemma.antonyms()
            )
        if ok:
            kept.append((a, b))
    return kept


def rewrites(sentences: list[str], pairs: list[tuple[str, str]], per_kind: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """Up to `per_kind` (x, x', rule) pairs, spread over the rules, one rewrite per sentence."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    for lhs, rhs in pairs:
        rule = Rule.parse(lhs, rhs)
        hits = []
        for sentence in sentences:
            out = rule.apply(sentence, noun=lambda word: False)
            if out:
                hits.append((sentence, out, str(rule)))
        found[str(rule)] = hits
    chosen: list[tuple[str, str, str]] = []
    pools = [rng.sample(h, len(h)) for h in found.values() if h]
    while len(chosen) < per_kind and any(pools):
        for pool in pools:
            if pool and len(chosen) < per_kind:
                chosen.append(pool.pop())
    return chosen


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The threshold (midpoint between sorted scores) with the highest balanced accuracy, and that accuracy."""
    values = np.unique(scores)
    cuts = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    best = (float(cuts[0]), -1.0)
    for cut in cuts:
        keep = scores >= cut
        balanced = (keep[labels == 1].mean() + (~keep[labels == 0]).mean()) / 2
        if balanced > best[1]:
            best = (float(cut), float(balanced))
    return best


def summarise(scores: np.ndarray, labels: np.ndarray, kinds: list[str], threshold: float) -> dict:
    return {
        "roc_auc": float(roc_auc_score(labels, scores)),
        "per_kind": {
            kind: {
                "paraphrase": bool(labels[[k == kind for k in kinds]][0]),
                "n": int(sum(k == kind for k in kinds)),
                "mean": float(scores[[k == kind for k in kinds]].mean()),
                "p10": float(np.quantile(scores[[k == kind for k in kinds]], 0.1)),
                "p90": float(np.quantile(scores[[k == kind for k in kinds]], 0.9)),
                "kept_at_threshold": float((scores[[k == kind for k in kinds]] >= threshold).mean()),
            }
            for kind in dict.fromkeys(kinds)
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mr:dev")
    parser.add_argument("--per-kind", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(Path(__file__).with_name("bt_calibration.json")))
    args = parser.parse_args()

    rng = random.Random(args.seed)
    sentences = [e.text for e in load_dataset(args.data).examples]
    synonyms = wordnet_checked(SYNONYMS, "synonym")
    antonyms = wordnet_checked(ANTONYMS, "antonym")
    shuffled = rng.sample(sentences, len(sentences))
    kinds_pairs = {
        "rule_rewrite": (1, rewrites(sentences, EQUIVALENT_RULES, args.per_kind, rng)),
        "synonym_swap": (1, rewrites(sentences, synonyms, args.per_kind, rng)),
        "antonym_swap": (0, rewrites(sentences, antonyms, args.per_kind, rng)),
        "negation": (0, rewrites(sentences, NEGATIONS, args.per_kind, rng)),
        "different_sentence": (0, [(a, b, "other sentence") for a, b in zip(shuffled[: args.per_kind], shuffled[1:])]),
    }
    pairs = [(x, y, kind, label, how) for kind, (label, found) in kinds_pairs.items() for x, y, how in found]
    originals, candidates = [p[0] for p in pairs], [p[1] for p in pairs]
    labels = np.array([p[3] for p in pairs])
    kinds = [p[2] for p in pairs]

    started = time.perf_counter()
    bt_scores = BackTranslationScore()(originals, candidates)
    seconds = time.perf_counter() - started
    encoder = minilm_encoder("cpu")
    plain = (encoder.encode(originals) * encoder.encode(candidates)).sum(axis=1)

    threshold, balanced = best_threshold(bt_scores, labels)
    plain_threshold, plain_balanced = best_threshold(plain, labels)
    version = subprocess.run(["apertium", "-V"], capture_output=True, text=True).stdout.strip()
    record = {
        "score": "cos(E(BT(x)), E(BT(x'))), BT = Apertium eng->spa->eng, E = all-MiniLM-L6-v2 mean pooling",
        "threshold": round(threshold, 4),
        "balanced_accuracy": balanced,
        "bt_score": summarise(bt_scores, labels, kinds, threshold),
        "plain_encoder_cosine_reference": {
            "threshold": round(plain_threshold, 4), "balanced_accuracy": plain_balanced,
            **summarise(plain, labels, kinds, plain_threshold),
        },
        "pairs": len(pairs),
        "data": args.data,
        "seed": args.seed,
        "synonym_pairs_used": synonyms,
        "antonym_pairs_used": antonyms,
        "seconds_bt_scoring": seconds,
        "apertium": version,
        "python": platform.python_version(),
        "examples": [
            {"kind": kind, "x": x, "x_prime": y, "bt_score": float(s)}
            for (x, y, kind, _, _), s in list(zip(pairs, bt_scores))[:: max(len(pairs) // 20, 1)]
        ],
        "command": "python benchmarks/calibrate_bt.py",
    }
    Path(args.output).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"{'kind':20} {'n':>4} {'mean':>6} {'kept':>6}   (bt score; threshold {threshold:.4f}, "
          f"balanced acc {balanced:.3f}, AUC {record['bt_score']['roc_auc']:.3f})")
    for kind, row in record["bt_score"]["per_kind"].items():
        print(f"{kind:20} {row['n']:4d} {row['mean']:6.3f} {row['kept_at_threshold']:6.2f}")
    reference = record["plain_encoder_cosine_reference"]
    print(f"plain encoder cosine: threshold {plain_threshold:.4f}, balanced acc {plain_balanced:.3f}, AUC {reference['roc_auc']:.3f}")


if __name__ == "__main__":
    main()
