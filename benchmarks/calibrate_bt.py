"""Calibrate the back-translation filter's threshold on the committed, hand-labelled pairs.

The pairs are `benchmarks/data/bt_labelled_pairs.tsv` (how they were made and labelled:
`benchmarks/data/bt_labelled_pairs.md`). For each pair the filter's score cos(E(BT(x)), E(BT(x')))
(BT = Apertium eng -> spa -> eng, E = MiniLM) is computed; the threshold maximising balanced accuracy is
recorded with ROC AUC, per-kind pass rates, and for reference the plain encoder cosine cos(E(x), E(x'))
and the same score through the other mining pivots.

The threshold is the one with the highest balanced accuracy among those that keep at most
`--max-false-positive` (10 %) of the non-paraphrases: a filter of adversarial examples must above all not
let invalid ones through (the unconstrained best balanced accuracy is recorded beside it).

    python benchmarks/calibrate_bt.py [--pairs benchmarks/data/bt_labelled_pairs.tsv] [--max-false-positive 0.1]
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from attacks.constraints.back_translation import BackTranslationScore
from attacks.constraints.similarity import minilm_encoder
from attacks.sears.mining import PIVOTS
from attacks.translation import ApertiumTranslator

HERE = Path(__file__).parent


@dataclass(frozen=True)
class LabelledPair:
    kind: str
    paraphrase: bool
    x: str
    x_prime: str

    @property
    def family(self) -> str:
        """The kind without its pivot suffix (`mt_local_edit_spa` -> `mt_local_edit`)."""
        head, _, tail = self.kind.rpartition("_")
        return head if tail in {p for _, p in PIVOTS} else self.kind


def read_pairs(path: Path) -> list[LabelledPair]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [LabelledPair(row["kind"], row["paraphrase"] == "1", row["x"], row["x_prime"])
                for row in csv.DictReader(handle, delimiter="\t")]


def best_threshold(scores: np.ndarray, labels: np.ndarray, max_false_positive: float = 1.0) -> tuple[float, float]:
    """The threshold (midpoint between sorted scores) with the highest balanced accuracy among those keeping
    at most `max_false_positive` of the non-paraphrases, and that accuracy."""
    values = np.unique(scores)
    cuts = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    best = (float(cuts[-1]), -1.0)
    for cut in cuts:
        keep = scores >= cut
        if keep[~labels].mean() > max_false_positive:
            continue
        balanced = (keep[labels].mean() + (~keep[~labels]).mean()) / 2
        if balanced > best[1]:
            best = (float(cut), float(balanced))
    return best


def summarise(scores: np.ndarray, labels: np.ndarray, families: list[str], threshold: float) -> dict:
    """ROC AUC, and per kind and label: count, mean score, share kept at `threshold`."""
    per_kind = {}
    for family in dict.fromkeys(families):
        for label in (True, False):
            mask = np.array([f == family for f in families]) & (labels == label)
            if mask.any():
                per_kind[f"{family} ({'paraphrase' if label else 'not'})"] = {
                    "n": int(mask.sum()), "mean": float(scores[mask].mean()),
                    "kept_at_threshold": float((scores[mask] >= threshold).mean()),
                }
    return {"roc_auc": float(roc_auc_score(labels, scores)), "per_kind": per_kind}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=HERE / "data" / "bt_labelled_pairs.tsv")
    parser.add_argument("--max-false-positive", type=float, default=0.1)
    parser.add_argument("--output", type=Path, default=HERE / "bt_calibration.json")
    args = parser.parse_args()

    pairs = read_pairs(args.pairs)
    originals, candidates = [p.x for p in pairs], [p.x_prime for p in pairs]
    labels = np.array([p.paraphrase for p in pairs])
    families = [p.family for p in pairs]
    encoder = minilm_encoder("cpu")

    started = time.perf_counter()
    bt_scores = BackTranslationScore(encoder=encoder)(originals, candidates)
    seconds = time.perf_counter() - started
    plain = (encoder.encode(originals) * encoder.encode(candidates)).sum(axis=1)
    threshold, balanced = best_threshold(bt_scores, labels, args.max_false_positive)
    unconstrained = best_threshold(bt_scores, labels)
    plain_threshold, plain_balanced = best_threshold(plain, labels, args.max_false_positive)
    other_pivots = {}
    for source, pivot in PIVOTS[1:]:
        scores = BackTranslationScore(ApertiumTranslator(source, pivot), encoder)(originals, candidates)
        cut, accuracy = best_threshold(scores, labels, args.max_false_positive)
        other_pivots[pivot] = {"roc_auc": float(roc_auc_score(labels, scores)), "threshold": round(cut, 4),
                               "balanced_accuracy": accuracy}
    record = {
        "score": "cos(E(BT(x)), E(BT(x'))), BT = Apertium eng->spa->eng, E = all-MiniLM-L6-v2 mean pooling",
        "threshold": round(threshold, 4),
        "balanced_accuracy": balanced,
        "max_false_positive": args.max_false_positive,
        "kept": {"paraphrases": float((bt_scores >= threshold)[labels].mean()),
                 "non_paraphrases": float((bt_scores >= threshold)[~labels].mean())},
        "unconstrained_best": {"threshold": round(unconstrained[0], 4), "balanced_accuracy": unconstrained[1]},
        "bt_score": summarise(bt_scores, labels, families, threshold),
        "plain_encoder_cosine_reference": {
            "threshold": round(plain_threshold, 4), "balanced_accuracy": plain_balanced,
            **summarise(plain, labels, families, plain_threshold),
        },
        "other_pivots_reference": other_pivots,
        "pairs": {"file": str(args.pairs.relative_to(HERE.parent)) if args.pairs.is_relative_to(HERE.parent) else str(args.pairs),
                  "total": len(pairs), "paraphrases": int(labels.sum())},
        "seconds_bt_scoring": seconds,
        "apertium": subprocess.run(["apertium", "-V"], capture_output=True, text=True).stdout.strip(),
        "python": platform.python_version(),
        "command": "python benchmarks/calibrate_bt.py",
        "scores": [{"kind": p.kind, "paraphrase": p.paraphrase, "bt_score": round(float(b), 6), "plain_cosine": round(float(c), 6)}
                   for p, b, c in zip(pairs, bt_scores, plain)],
    }
    args.output.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"threshold {threshold:.4f}: balanced accuracy {balanced:.3f}, keeps {record['kept']['paraphrases']:.0%} of "
          f"paraphrases and {record['kept']['non_paraphrases']:.0%} of the others, AUC {record['bt_score']['roc_auc']:.3f} "
          f"({len(pairs)} pairs, {int(labels.sum())} paraphrases); without the false-positive cap "
          f"{unconstrained[0]:.4f} ({unconstrained[1]:.3f})")
    for kind, row in record["bt_score"]["per_kind"].items():
        print(f"  {kind:34} {row['n']:4d} mean {row['mean']:.3f} kept {row['kept_at_threshold']:.2f}")
    print(f"plain encoder cosine: threshold {plain_threshold:.4f}, balanced accuracy {plain_balanced:.3f}, "
          f"AUC {record['plain_encoder_cosine_reference']['roc_auc']:.3f}")
    for pivot, row in other_pivots.items():
        print(f"through {pivot}: AUC {row['roc_auc']:.3f}, balanced accuracy {row['balanced_accuracy']:.3f}")


if __name__ == "__main__":
    main()
