"""Draw the pairs of the labelled validity set from the committed headline records (reports/mr-minilm).

Successful attacks of every checkpoint, one pair per distinct (original, perturbed) text, a seeded random
sample per recipe, shuffled across recipes and numbered; `pairs.csv` gets the labels added by reading
each pair (see README.md here). `--blind` prints the pairs without their recipe, in id order, for judging.

    python benchmarks/validity/draw_pairs.py            # writes benchmarks/validity/drawn.csv
    python benchmarks/validity/draw_pairs.py --blind    # prints id, original, perturbed
"""

from __future__ import annotations

import argparse
import csv
import json
import lzma
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECORDS = ROOT / "reports" / "mr-minilm" / "records.jsonl.xz"
DRAWN = Path(__file__).with_name("drawn.csv")
PER_RECIPE = {"wordnet-swap": 90, "embedding-swap": 90, "bt-filtered": 40, "sears": 20}
SEED = 2020
COLUMNS = ["pair_id", "original", "perturbed", "recipe", "source", "checkpoint", "example_id"]


def successes(path: Path) -> dict[str, list[dict]]:
    """Distinct successful pairs per recipe, in record order."""
    found: dict[str, dict[tuple[str, str], dict]] = {}
    with lzma.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["kind"] != "attack" or record["result"]["status"] != "succeeded":
                continue
            result = record["result"]
            key = (result["original_text"], result["perturbed_text"])
            found.setdefault(record["recipe"], {}).setdefault(key, record)
    return {recipe: list(pairs.values()) for recipe, pairs in found.items()}


def draw() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    pool = successes(RECORDS)
    rows = []
    for recipe, count in PER_RECIPE.items():
        for record in rng.sample(pool[recipe], min(count, len(pool[recipe]))):
            result = record["result"]
            rows.append({"original": result["original_text"], "perturbed": result["perturbed_text"], "recipe": recipe,
                         "source": "reports/mr-minilm", "checkpoint": record["checkpoint"],
                         "example_id": record["example_id"]})
    rng.shuffle(rows)
    return [{"pair_id": f"p{i:03d}", **row} for i, row in enumerate(rows, start=1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--blind", action="store_true", help="print id, original and perturbed only")
    args = parser.parse_args()
    if args.blind:
        with DRAWN.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                print(f"{row['pair_id']}\n  O: {row['original']}\n  P: {row['perturbed']}")
        return
    rows = draw()
    with DRAWN.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} pairs -> {DRAWN}")


if __name__ == "__main__":
    main()
