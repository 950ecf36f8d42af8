"""Write MR sentences START..END-1 of a split (in the order `mr:SPLIT` loads them) as a text,label CSV.

Each version of the strict profiles is read on sentences its calibration has not seen:
    python benchmarks/validity/mr_slice.py test 300 600 mr-test-300-599.csv
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from robust_eval.core.data import load_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("split", choices=("train", "dev", "test"))
    parser.add_argument("start", type=int)
    parser.add_argument("end", type=int)
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    dataset = load_dataset(f"mr:{args.split}")
    with args.output.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for example in dataset.examples[args.start:args.end]:
            writer.writerow([example.text, dataset.label_names[example.label]])


if __name__ == "__main__":
    main()
