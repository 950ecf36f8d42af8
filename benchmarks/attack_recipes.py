"""Every attack recipe on N MR test examples against one checkpoint: quality and cost per recipe.

Runs the regular (resumable) evaluation runner, then prints one row per recipe: clean accuracy, accuracy
under attack, attack success rate, mean queries, % words perturbed (over successes), seconds per attacked
example and attacked examples per second of wall time, next to the BERT-MR anchors from the literature
(TextFooler ~86-91 % success at ~77 queries; WordNet swaps with the same search ~54 % at ~40 queries).
Writes everything to a JSON file.

    python benchmarks/attack_recipes.py --model runs/minilm-mr --n 1000 --device cuda \
        --out benchmarks/results/attack_recipes.json
    python benchmarks/attack_recipes.py --model DIR --recipe wordnet-swap \
        --param wordnet-swap:min_similarity=none --param wordnet-swap:max_rate=1.0
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

from attacks.registry import available_recipes, parse_params
from robust_eval.core import resources
from robust_eval.core.data import load_dataset
from robust_eval.core.errors import RobustEvalError
from robust_eval.metrics import recipe_metrics
from robust_eval.pipeline.store import read_records
from robust_eval.pipeline.plan import Engine, RecipeRequest, git_commit
from robust_eval.runner import evaluate

ANCHORS = {
    "embedding-swap": "TextFooler on BERT-MR: 86-91 % success, ~77 queries",
    "wordnet-swap": "WordNet swaps, greedy, BERT-MR: ~54 % success, ~40 queries",
}
COLUMNS = [
    ("recipe", "{}"), ("clean acc", "{:.1%}"), ("acc under attack", "{:.1%}"), ("success", "{:.1%}"),
    ("mean queries", "{:.1f}"), ("% words", "{:.1f}"), ("s / example", "{:.3f}"), ("examples / s", "{:.2f}"),
]


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--model", required=True, help="checkpoint directory (config.json + safetensors)")
    parser.add_argument("--data", default="mr:test", help="dataset spec (default mr:test)")
    parser.add_argument("--n", type=int, default=1000, help="number of examples (default 1000)")
    parser.add_argument("--recipe", action="append", default=[], help="recipe to run (repeat; default: all runnable)")
    parser.add_argument("--param", action="append", default=[], help="RECIPE:key=value (repeat)")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--runs", type=Path, default=Path("runs/benchmark-attack-recipes"),
                        help="records directory (resumable; default runs/benchmark-attack-recipes)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/attack_recipes.json"))
    return parser.parse_args(argv)


def requests(names: list[str], params: list[str]) -> list[RecipeRequest]:
    """Recipe requests with their `RECIPE:key=value` parameters; default = every recipe whose resources exist."""
    recipes = available_recipes()
    chosen = names or [n for n, s in recipes.items() if all(resources.is_present(r) for r in s.resources)]
    per_recipe: dict[str, list[str]] = defaultdict(list)
    for item in params:
        name, sep, assignment = item.partition(":")
        if not sep or name not in chosen:
            raise RobustEvalError(f"--param '{item}' must be RECIPE:key=value with RECIPE one of {', '.join(chosen)}")
        per_recipe[name].append(assignment)
    return [RecipeRequest(n, parse_params(per_recipe[n])) for n in chosen]


def table(rows: list[dict]) -> str:
    """Plain-text table of the metric rows."""
    cells = [[name for name, _ in COLUMNS]]
    for row in rows:
        values = [row["recipe"], row["clean_accuracy"], row["accuracy_under_attack"], row["success_rate"],
                  row["queries_mean"], row["words_perturbed_pct"], row["seconds_per_example"], row["examples_per_second"]]
        cells.append([fmt.format(v) if v is not None else "-" for (_, fmt), v in zip(COLUMNS, values)])
    widths = [max(len(r[i]) for r in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    dataset = load_dataset(args.data).head(args.n)
    chosen = requests(args.recipe, args.param)
    rows = []
    for request in chosen:
        started = time.perf_counter()
        evaluate([Path(args.model)], dataset, [request], args.runs / request.name,
                 engine=Engine(device=args.device, batch_size=args.batch_size))
        wall = time.perf_counter() - started
        records = read_records(args.runs / request.name)
        checkpoint = next(r["checkpoint"] for r in records if r["kind"] == "clean")
        metrics = recipe_metrics(records, checkpoint, request.name)
        attacked = metrics["succeeded"] + metrics["failed"]
        rows.append({
            "recipe": request.name, "params": request.params,
            **{k: (v["value"] if isinstance(v, dict) and "value" in v else v) for k, v in metrics.items()},
            "ci95": {k: v["ci95"] for k, v in metrics.items() if isinstance(v, dict) and "ci95" in v},
            "wall_seconds_this_call": wall,
            "examples_per_second": attacked / sum_seconds(records, request.name) if attacked else None,
            "anchor": ANCHORS.get(request.name),
        })
    print(f"{args.data}, {len(dataset)} examples, model {args.model}, device {args.device or 'auto'}")
    print(table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "command": " ".join(["python", "benchmarks/attack_recipes.py", *(argv if argv is not None else sys.argv[1:])]),
        "model": args.model, "data": args.data, "examples": len(dataset), "commit": git_commit(),
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() and args.device != "cpu" else platform.processor() or "cpu",
        "torch": torch.__version__, "rows": rows,
    }
    args.out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def sum_seconds(records: list[dict], recipe: str) -> float:
    """Total attack seconds of the non-skipped results of `recipe`."""
    return sum(r["result"]["seconds"] for r in records
               if r["kind"] == "attack" and r["recipe"] == recipe and r["result"]["status"] != "skipped")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RobustEvalError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
