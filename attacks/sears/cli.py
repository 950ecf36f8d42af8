"""`robust-eval sears mine` and `sears select`: mine SEARs from back-translated paraphrases into a rules file,
then select them on held-out data with a model; both can add to one mining statistics file."""

from __future__ import annotations

import json
import shlex
import time
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
    output: Path = typer.Option(Path("sears_candidates.json"), "--output", "-o", help="Rules file to write (.json or .tsv)."),
    stats: Optional[Path] = typer.Option(None, "--stats", help="Write mining statistics to this .json (and a .md beside it)."),
    min_support: int = typer.Option(3, "--min-support", help="Sentences whose paraphrases must show a rule."),
    max_tokens: int = typer.Option(4, "--max-tokens", help="Longest side of a rule, in tokens."),
    max_candidates: int = typer.Option(1500, "--max-candidates", help="Most supported candidates to check."),
    applications: int = typer.Option(20, "--applications", help="Applications scored per rule for equivalence."),
    min_applications: int = typer.Option(5, "--min-applications", help="Fewest applications a rule is judged on."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Back-translation score threshold (default: calibrated)."),
    max_rejected: float = typer.Option(0.1, "--max-rejected", help="Reject a rule if more than this share of its applications is not equivalent."),
    generalise: bool = typer.Option(True, "--generalise/--no-generalise", help="Propose {DET} / {NOUN} generalisations."),
    check_pivots: str = typer.Option("spa,eo", "--check-pivots", help="Pivots through which every application must be equivalent."),
    text_column: str = typer.Option("text", "--text-column"),
    label_column: str = typer.Option("label", "--label-column"),
) -> None:
    """Paraphrase by back-translation, propose rules, count support, reject non-equivalent ones; write the survivors."""
    from attacks.constraints.back_translation import DEFAULT_THRESHOLD, BackTranslationScore
    from attacks.sears.mining import PIVOTS, MiningSettings
    from attacks.sears.mining import mine as mine_candidates
    from attacks.sears.rules import save_rules
    from attacks.sears.statistics import mining_statistics, write_statistics
    from robust_eval.core.console import out
    from robust_eval.core.data import load_dataset
    from robust_eval.core.errors import RobustEvalError

    check_outputs(output, stats)
    known = {pivot: (source, pivot) for source, pivot in PIVOTS}
    chosen_pivots = [p.strip() for p in pivots.split(",") if p.strip()]
    unknown = [p for p in chosen_pivots if p not in known]
    if unknown or not chosen_pivots:
        raise RobustEvalError(f"unknown pivot(s) {', '.join(unknown) or '(none given)'}: choose from {', '.join(known)}")
    settings = MiningSettings(
        max_tokens=max_tokens, min_support=min_support, max_candidates=max_candidates, applications=applications,
        min_applications=min_applications, threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        max_rejected=max_rejected, generalise=generalise,
        check_pivots=tuple(p.strip() for p in check_pivots.split(",") if p.strip()),
    )
    dataset = load_dataset(data, text_column, label_column).head(limit)
    check = load_dataset(check_data, text_column, label_column) if check_data else None
    result = mine_candidates(
        [e.text for e in dataset.examples], [e.text for e in check.examples] if check else None,
        [known[p] for p in chosen_pivots], BackTranslationScore(), settings, progress=out.print,
    )
    kept = [c.rule() for c in result.kept(settings)]
    command = shlex.join(["robust-eval", "sears", "mine", "--data", data, *(["--limit", str(limit)] if limit else []),
                          *(["--check-data", check_data] if check_data else []), "--pivots", ",".join(chosen_pivots),
                          "--min-support", str(min_support), "--max-tokens", str(max_tokens),
                          "--max-candidates", str(max_candidates), "--applications", str(applications),
                          "--min-applications", str(min_applications), "--threshold", str(settings.threshold),
                          "--max-rejected", str(max_rejected), *([] if generalise else ["--no-generalise"]),
                          "--check-pivots", ",".join(settings.check_pivots),
                          "-o", str(output), *(["--stats", str(stats)] if stats else [])])
    meta = {
        "mine_command": command, "data": dataset.name, "sentences": len(dataset),
        "check_data": check.name if check else dataset.name, "pivots": chosen_pivots, "threshold": settings.threshold,
        "check_pivots": list(settings.check_pivots),
        "score": "cos(E(BT(x)), E(BT(x'))), MiniLM; Apertium eng-P-eng for each check pivot P (every one >= threshold)",
    }
    save_rules(kept, output, meta)
    if stats:
        write_statistics(stats, mining_statistics(result, settings, meta))
    out.print(f"{len(kept)} rules from {len(dataset)} sentences of {dataset.name} written to {output}")
    for rule in kept[:10]:
        out.print(f"  {rule}  (support {rule.support})")


@sears_app.command("select")
def select_rules(
    rules: Path = typer.Option(..., "--rules", help="Rules file written by `robust-eval sears mine`."),
    model: str = typer.Option(..., "--model", help="Checkpoint directory whose flips on --heldout select the rules."),
    heldout: str = typer.Option("mr:dev", "--heldout", help="Held-out dataset spec (never the test split)."),
    budget: int = typer.Option(50, "--budget", help="Most rules to keep."),
    output: Path = typer.Option(Path("sears_rules.json"), "--output", "-o", help="Rules file to write (.json or .tsv)."),
    stats: Optional[Path] = typer.Option(None, "--stats", help="Mining statistics .json to add the selection to (and its .md)."),
    keep_unchosen: bool = typer.Option(False, "--keep-unchosen", help="After the chosen rules, keep the other eligible ones (gain 0) too."),
    review: Optional[Path] = typer.Option(None, "--review", help="TSV of rule, verdict (accept / reject), reason: rejected rules are not selected."),
    version: int = typer.Option(1, "--rules-version", help="Version recorded in the rules file."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Back-translation score threshold (default: the mining one)."),
    max_rejected: float = typer.Option(0.1, "--max-rejected", help="Skip rules with more than this share of non-equivalent held-out applications."),
    min_applications: int = typer.Option(5, "--min-applications", help="Fewest held-out applications to judge that share on."),
    text_column: str = typer.Option("text", "--text-column"),
    label_column: str = typer.Option("label", "--label-column"),
) -> None:
    """Select mined rules on held-out data by equivalent flips and coverage (the paper's greedy selection)."""
    from attacks.constraints.back_translation import DEFAULT_THRESHOLD, BackTranslationScore
    from attacks.sears.rules import load_rules, save_rules
    from attacks.sears.selection import held_out_evidence, read_review, select
    from attacks.sears.statistics import selection_statistics, write_statistics
    from robust_eval.core.console import out
    from robust_eval.core.data import load_dataset
    from robust_eval.core.errors import RobustEvalError
    from robust_eval.core.victim import load_victim

    check_outputs(output, stats)
    if heldout.endswith(":test"):
        raise RobustEvalError("rules are selected on held-out data, never on the test split: pass --heldout DATA:dev")
    mined = load_rules(rules)
    verdicts = read_review(review) if review else {}
    candidates = [r for r in mined if verdicts.get(str(r)) != "reject"]
    mined_meta = json.loads(rules.read_text(encoding="utf-8")).get("meta", {}) if rules.suffix == ".json" else {}
    threshold = threshold if threshold is not None else float(mined_meta.get("threshold", DEFAULT_THRESHOLD))
    held = load_dataset(heldout, text_column, label_column)
    started = time.perf_counter()
    evidence, correct = held_out_evidence(
        candidates, [e.text for e in held.examples], [e.label for e in held.examples], load_victim(model).predict_proba,
        BackTranslationScore(), threshold, progress=out.print,
    )
    selection = select(evidence, correct, budget, max_rejected, min_applications)
    seconds = time.perf_counter() - started
    command = shlex.join(["robust-eval", "sears", "select", "--rules", str(rules), "--model", model, "--heldout", heldout,
                          "--budget", str(budget), "--threshold", str(threshold), "--max-rejected", str(max_rejected),
                          "--min-applications", str(min_applications), *(["--review", str(review)] if review else []),
                          *(["--keep-unchosen"] if keep_unchosen else []),
                          "--rules-version", str(version),
                          "-o", str(output), *(["--stats", str(stats)] if stats else [])])
    meta = {**mined_meta, "version": version, "select_command": command, "heldout": held.name, "model": model,
            "model_note": _model_note(model), "threshold": threshold, "budget": budget, "select_seconds": round(seconds, 1),
            "review": {"file": str(review), "rejected": len(mined) - len(candidates), "kept": len(candidates)} if review else None}
    save_rules(selection.rules(keep_unchosen), output, meta)
    if stats:
        record = json.loads(stats.read_text(encoding="utf-8")) if stats.is_file() else {}
        write_statistics(stats, {**record, **selection_statistics(selection, meta)})
    out.print(f"{len(selection.chosen)} of {len(mined)} rules selected on {held.name}: together they flip "
              f"{selection.covered} of {selection.sentences} correct predictions; written to {output}")
    for rule in selection.rules(keep_unchosen)[:10]:
        out.print(f"  {rule}  (held-out flips {rule.flips})")


def check_outputs(output: Path, stats: Path | None) -> None:
    """The rules file and statistics file a command writes: known formats, writable (before any work)."""
    from attacks.sears.rules import rules_format
    from robust_eval.core.outputs import check_output_file

    rules_format(output)
    check_output_file(output)
    if stats:
        check_output_file(stats, "--stats")


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
