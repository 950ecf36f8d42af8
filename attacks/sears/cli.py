"""`robust-eval sears mine`: mine SEARs rules from back-translated paraphrases into a rules file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

sears_app = typer.Typer(help="Semantically equivalent adversarial rules (SEARs).", no_args_is_help=True)


@sears_app.command("mine")
def mine(
    data: str = typer.Option("mr:train", "--data", help="Dataset spec whose sentences are paraphrased."),
    output: Path = typer.Option(Path("sears_rules.json"), "--output", "-o", help="Rules file to write (.json or .tsv)."),
    model: Optional[str] = typer.Option(None, "--model", help="Checkpoint directory: rank rules by the flips they cause."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N sentences."),
    min_support: int = typer.Option(3, "--min-support", help="Sentences whose paraphrase must show a rule."),
    max_tokens: int = typer.Option(4, "--max-tokens", help="Longest replaced span, in tokens."),
    applications: int = typer.Option(30, "--applications", help="Applications scored per rule for equivalence."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Back-translation score threshold (default: calibrated)."),
    max_rejected: float = typer.Option(0.1, "--max-rejected", help="Reject a rule if more applications than this share score below the threshold."),
    top: Optional[int] = typer.Option(None, "--top", help="Keep only the best N rules."),
    text_column: str = typer.Option("text", "--text-column"),
    label_column: str = typer.Option("label", "--label-column"),
) -> None:
    """Paraphrase sentences by back-translation, extract and check rules, rank them, write a rules file."""
    from attacks.constraints.back_translation import DEFAULT_THRESHOLD
    from attacks.sears.mining import MiningSettings, mine_rules
    from attacks.sears.rules import rules_format, save_rules
    from robust_eval.core.console import out
    from robust_eval.core.data import load_dataset

    rules_format(output)
    settings = MiningSettings(
        max_tokens=max_tokens, min_support=min_support, applications=applications,
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold, max_rejected=max_rejected, top=top,
    )
    dataset = load_dataset(data, text_column, label_column).head(limit)
    predict = None
    if model:
        from robust_eval.core.victim import load_victim

        predict = load_victim(model).predict_proba
    rules = mine_rules([e.text for e in dataset.examples], predict=predict, settings=settings)
    meta = {"data": dataset.name, "sentences": len(dataset), "model": model, "threshold": settings.threshold,
            "min_support": min_support, "max_tokens": max_tokens, "max_rejected": max_rejected,
            "score": "cos(E(BT(x)), E(BT(x'))), Apertium eng-spa-eng, MiniLM"}
    save_rules(rules, output, meta)
    out.print(f"{len(rules)} rules from {len(dataset)} sentences of {dataset.name} written to {output}")
    for rule in rules[:10]:
        out.print(f"  {rule}  (support {rule.support}, flips {rule.flips}, equivalent {rule.extra['equivalent_rate']:.0%})")


def register(app: typer.Typer) -> None:
    """Add the `sears` command group to the `robust-eval` app."""
    app.add_typer(sears_app, name="sears")
