"""`robust-eval sears mine`: mine SEARs from back-translated paraphrases, select them on held-out data with a
model, and write a rules file plus its mining statistics."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Optional

import typer

sears_app = typer.Typer(help="Semantically equivalent adversarial rules (SEARs).", no_args_is_help=True)


@sears_app.command("mine")
def mine(
    data: str = typer.Option("mr:train", "--data", help="Dataset spec whose sentences are paraphrased."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Paraphrase only the first N sentences."),
    check_data: Optional[str] = typer.Option(None, "--check-data", help="Where rules are applied for the equivalence check (default: the paraphrased sentences)."),
    pivots: str = typer.Option("spa,cat,gl,eo,hbs", "--pivots", help="Pivot languages, comma-separated (see attacks.sears.mining.PIVOTS)."),
    heldout: str = typer.Option("mr:dev", "--heldout", help="Held-out dataset spec for the selection (never the test split)."),
    model: Optional[str] = typer.Option(None, "--model", help="Checkpoint directory: select rules by its flips on --heldout."),
    budget: int = typer.Option(50, "--budget", help="Most rules the selection keeps."),
    output: Path = typer.Option(Path("sears_rules.json"), "--output", "-o", help="Rules file to write (.json or .tsv)."),
    stats: Optional[Path] = typer.Option(None, "--stats", help="Write mining statistics to this .json (and a .md beside it)."),
    version: int = typer.Option(1, "--rules-version", help="Version recorded in the rules file."),
    min_support: int = typer.Option(3, "--min-support", help="Sentences whose paraphrases must show a rule."),
    max_tokens: int = typer.Option(4, "--max-tokens", help="Longest side of a rule, in tokens."),
    max_candidates: int = typer.Option(1500, "--max-candidates", help="Most supported candidates to check."),
    applications: int = typer.Option(20, "--applications", help="Applications scored per rule for equivalence."),
    min_applications: int = typer.Option(5, "--min-applications", help="Fewest applications a rule is judged on."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Back-translation score threshold (default: calibrated)."),
    max_rejected: float = typer.Option(0.1, "--max-rejected", help="Reject a rule if more than this share of its applications is not equivalent."),
    generalise: bool = typer.Option(True, "--generalise/--no-generalise", help="Propose {DET} / {NOUN} generalisations."),
    text_column: str = typer.Option("text", "--text-column"),
    label_column: str = typer.Option("label", "--label-column"),
) -> None:
    """Paraphrase, propose, count support, reject non-equivalent rules, select on held-out data, write files."""
    from attacks.constraints.back_translation import DEFAULT_THRESHOLD, BackTranslationScore
    from attacks.sears.mining import PIVOTS, MiningSettings
    from attacks.sears.mining import mine as mine_candidates
    from attacks.sears.rules import rules_format, save_rules
    from attacks.sears.selection import held_out_evidence, select
    from attacks.sears.statistics import mining_statistics, statistics_markdown
    from robust_eval.core.console import out
    from robust_eval.core.data import load_dataset
    from robust_eval.core.errors import RobustEvalError

    rules_format(output)
    known = {pivot: (source, pivot) for source, pivot in PIVOTS}
    chosen_pivots = [p.strip() for p in pivots.split(",") if p.strip()]
    unknown = [p for p in chosen_pivots if p not in known]
    if unknown or not chosen_pivots:
        raise RobustEvalError(f"unknown pivot(s) {', '.join(unknown) or '(none given)'}: choose from {', '.join(known)}")
    if heldout.endswith(":test"):
        raise RobustEvalError("rules are selected on held-out data, never on the test split: pass --heldout DATA:dev")
    settings = MiningSettings(
        max_tokens=max_tokens, min_support=min_support, max_candidates=max_candidates, applications=applications,
        min_applications=min_applications, threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        max_rejected=max_rejected, generalise=generalise,
    )
    dataset = load_dataset(data, text_column, label_column).head(limit)
    check = load_dataset(check_data, text_column, label_column) if check_data else None
    score = BackTranslationScore()
    result = mine_candidates(
        [e.text for e in dataset.examples], [e.text for e in check.examples] if check else None,
        [known[p] for p in chosen_pivots], score, settings, progress=out.print,
    )
    kept = [c.rule() for c in result.kept(settings)]
    selection = None
    if model:
        from robust_eval.core.victim import load_victim

        held = load_dataset(heldout, text_column, label_column)
        evidence, correct = held_out_evidence(
            kept, [e.text for e in held.examples], [e.label for e in held.examples], load_victim(model).predict_proba,
            score, settings.threshold, progress=out.print,
        )
        selection = select(evidence, correct, budget, settings.max_rejected, settings.min_applications)
        kept = selection.rules()
    command = shlex.join(["robust-eval", "sears", "mine", "--data", data, *(["--limit", str(limit)] if limit else []),
                          *(["--check-data", check_data] if check_data else []), "--pivots", ",".join(chosen_pivots),
                          *(["--heldout", heldout, "--model", model, "--budget", str(budget)] if model else []),
                          "--min-support", str(min_support), "--max-tokens", str(max_tokens),
                          "--max-candidates", str(max_candidates), "--applications", str(applications),
                          "--min-applications", str(min_applications), "--threshold", str(settings.threshold),
                          "--max-rejected", str(max_rejected), *([] if generalise else ["--no-generalise"]),
                          "--rules-version", str(version), "-o", str(output), *(["--stats", str(stats)] if stats else [])])
    meta = {
        "version": version, "command": command, "data": dataset.name, "sentences": len(dataset),
        "check_data": check.name if check else dataset.name, "pivots": chosen_pivots,
        "heldout": heldout if model else None, "model": model, "model_note": _model_note(model),
        "threshold": settings.threshold, "score": "cos(E(BT(x)), E(BT(x'))), Apertium eng-spa-eng, MiniLM",
    }
    save_rules(kept, output, meta)
    if stats:
        record = mining_statistics(result, settings, selection, meta)
        stats.parent.mkdir(parents=True, exist_ok=True)
        stats.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        stats.with_suffix(".md").write_text(statistics_markdown(record), encoding="utf-8")
    out.print(f"{len(kept)} rules from {len(dataset)} sentences of {dataset.name} written to {output}")
    for rule in kept[:10]:
        out.print(f"  {rule}  (support {rule.support}, flips {rule.flips})")


def _model_note(model: str | None) -> str:
    """How the selection model was trained, from its training card (empty without a card)."""
    if not model:
        return ""
    card = Path(model) / "training.json"
    if not card.is_file():
        return ""
    record = json.loads(card.read_text(encoding="utf-8"))
    train = record.get("data", {}).get("train", {})
    return (f"{record.get('method')} fine-tuning on {train.get('examples')} examples of {train.get('spec')}, "
            f"{record.get('hyperparameters', {}).get('epochs')} epochs, {record.get('train_seconds', 0):.0f} s on "
            f"{record.get('device')}, dev accuracy {record.get('dev_accuracy', 0):.3f}")


def register(app: typer.Typer) -> None:
    """Add the `sears` command group to the `robust-eval` app."""
    app.add_typer(sears_app, name="sears")
