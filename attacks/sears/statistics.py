"""Mining statistics: what each stage of `robust-eval sears mine` kept and rejected, as JSON and Markdown."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from attacks.sears.mining import CheckedRule, MiningResult, MiningSettings
from attacks.sears.selection import Selection

TOP = 25


def _checked_row(checked: CheckedRule) -> dict[str, Any]:
    candidate = checked.candidate
    return {"rule": str(candidate.rule), "support": candidate.support, "pivots": list(candidate.pivots),
            "applications": checked.applications, "not_equivalent": checked.not_equivalent}


def mining_statistics(
    result: MiningResult, settings: MiningSettings, selection: Selection | None, meta: Mapping[str, Any],
) -> dict[str, Any]:
    """Counts per stage, the rules kept and rejected, the selection on held-out data (when a model was given)."""
    kept = result.kept(settings)
    too_rare = [c for c in result.checked if c.applications < settings.min_applications]
    not_equivalent = [c for c in result.checked if c.applications >= settings.min_applications and not c.kept(settings)]
    stats: dict[str, Any] = {
        **meta,
        "settings": {k: getattr(settings, k) for k in settings.__dataclass_fields__},
        "sentences": result.sentences,
        "paraphrases_changed": result.paraphrases,
        "paraphrases_equivalent": result.equivalent_paraphrases,
        "candidates": result.candidates,
        "rejected_too_few_applications": len(too_rare),
        "rejected_not_equivalent": len(not_equivalent),
        "kept": len(kept),
        "seconds": {k: round(v, 1) for k, v in result.seconds.items()},
        "kept_rules": [_checked_row(c) for c in kept[:TOP]],
        "rejected_examples": [_checked_row(c) for c in not_equivalent[:TOP]],
    }
    if selection is not None:
        stats["selection"] = {
            "heldout_correct": selection.sentences,
            "heldout_covered": selection.covered,
            "heldout_coverage": round(selection.covered / selection.sentences, 4) if selection.sentences else 0.0,
            "chosen": [
                {"rule": str(e.rule), "applications": e.applications, "equivalent": e.equivalent,
                 "flips": len(e.flips), "flip_rate": round(e.flip_rate, 4), "gain": round(g, 4),
                 "example": list(e.example) if e.example else None}
                for e, g in zip(selection.chosen, selection.gains)
            ],
        }
    return stats


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return lines


def statistics_markdown(stats: Mapping[str, Any]) -> str:
    """A short Markdown summary of `mining_statistics`."""
    lines = [
        "# SEAR mining statistics", "",
        f"Command: `{stats['command']}`", "",
        f"{stats['sentences']} sentences of `{stats['data']}` paraphrased through {', '.join(stats['pivots'])} "
        f"({stats['seconds'].get('paraphrase', 0):.0f} s); equivalence threshold {stats['settings']['threshold']}.", "",
    ]
    lines += _table(
        [(p, stats["paraphrases_changed"][p], stats["paraphrases_equivalent"][p]) for p in stats["paraphrases_changed"]],
        ["pivot", "paraphrases that differ", "equivalent (kept for mining)"],
    )
    lines += ["", f"Candidate rules with support >= {stats['settings']['min_support']}: {stats['candidates']}; "
              f"rejected for fewer than {stats['settings']['min_applications']} applications: "
              f"{stats['rejected_too_few_applications']}; rejected because more than "
              f"{stats['settings']['max_rejected']:.0%} of their applications were not equivalent: "
              f"{stats['rejected_not_equivalent']}; kept: {stats['kept']}.", ""]
    selection = stats.get("selection")
    if selection:
        lines += [f"Selection on `{stats['heldout']}` with `{stats['model']}` ({stats.get('model_note', '')}): "
                  f"{len(selection['chosen'])} rules chosen; together they flip {selection['heldout_covered']} of "
                  f"{selection['heldout_correct']} correct predictions ({selection['heldout_coverage']:.1%}).", ""]
        lines += _table(
            [(c["rule"], c["applications"], c["equivalent"], c["flips"], f"{c['flip_rate']:.1%}",
              " → ".join(c["example"]) if c["example"] else "") for c in selection["chosen"]],
            ["rule", "applications", "equivalent", "flips", "flip rate", "example"],
        )
    lines += ["", f"Time: {', '.join(f'{k} {v:.0f} s' for k, v in stats['seconds'].items())}."]
    return "\n".join(lines) + "\n"
