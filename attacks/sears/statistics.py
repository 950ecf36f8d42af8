"""Mining statistics: what each stage of `robust-eval sears mine` kept and rejected, as JSON and Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from attacks.sears.mining import CheckedRule, MiningResult, MiningSettings
from attacks.sears.selection import Selection

TOP = 25


def _checked_row(checked: CheckedRule) -> dict[str, Any]:
    candidate = checked.candidate
    return {"rule": str(candidate.rule), "support": candidate.support, "pivots": list(candidate.pivots),
            "applications": checked.applications, "not_equivalent": checked.not_equivalent}


def mining_statistics(result: MiningResult, settings: MiningSettings, meta: Mapping[str, Any]) -> dict[str, Any]:
    """Counts per stage and examples of the rules kept and rejected."""
    kept = result.kept(settings)
    too_rare = [c for c in result.checked if c.applications < settings.min_applications]
    not_equivalent = [c for c in result.checked if c.applications >= settings.min_applications and not c.kept(settings)]
    return {
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


def selection_statistics(selection: Selection, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The held-out selection: coverage and every chosen rule with its evidence."""
    return {"selection": {
        "command": meta.get("select_command"), "heldout": meta.get("heldout"), "model": meta.get("model"),
        "model_note": meta.get("model_note"), "seconds": meta.get("select_seconds"), "review": meta.get("review"),
        "heldout_correct": selection.sentences,
        "heldout_covered": selection.covered,
        "heldout_coverage": round(selection.covered / selection.sentences, 4) if selection.sentences else 0.0,
        "chosen": [
            {"rule": str(e.rule), "applications": e.applications, "equivalent": e.equivalent,
             "flips": len(e.flips), "flip_rate": round(e.flip_rate, 4), "gain": round(g, 4),
             "example": list(e.example) if e.example else None}
            for e, g in zip(selection.chosen, selection.gains)
        ],
    }}


def write_statistics(path: Path, stats: Mapping[str, Any]) -> None:
    """`path` (.json) and its Markdown summary beside it (.md)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stats, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    path.with_suffix(".md").write_text(statistics_markdown(stats), encoding="utf-8")


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return lines


def statistics_markdown(stats: Mapping[str, Any]) -> str:
    """A short Markdown summary of the mining (and selection) statistics."""
    lines = ["# SEAR mining statistics", ""]
    if "mine_command" in stats:
        lines += [
            f"Mining: `{stats['mine_command']}`", "",
            f"{stats['sentences']} sentences of `{stats['data']}` paraphrased through {', '.join(stats['pivots'])}; "
            f"rules applied to `{stats['check_data']}` for the equivalence check; threshold {stats['settings']['threshold']}.", "",
        ]
        lines += _table(
            [(p, stats["paraphrases_changed"][p], stats["paraphrases_equivalent"][p]) for p in stats["paraphrases_changed"]],
            ["pivot", "paraphrases that differ", "equivalent (kept for mining)"],
        )
        lines += ["", f"Candidate rules with support >= {stats['settings']['min_support']}: {stats['candidates']}; "
                  f"rejected for fewer than {stats['settings']['min_applications']} applications: "
                  f"{stats['rejected_too_few_applications']}; rejected because more than "
                  f"{stats['settings']['max_rejected']:.0%} of their applications were not equivalent: "
                  f"{stats['rejected_not_equivalent']}; kept: {stats['kept']}.", "",
                  f"Time: {', '.join(f'{k} {v:.0f} s' for k, v in stats['seconds'].items())}.", ""]
    selection = stats.get("selection")
    if selection:
        review = selection.get("review")
        lines += [f"Selection: `{selection['command']}`", ""]
        if review:
            lines += [f"Review (`{review['file']}`): {review['rejected']} rules rejected by reading, {review['kept']} left "
                      "to select from.", ""]
        lines += [
                  f"Model: {selection['model_note'] or selection['model']}. {len(selection['chosen'])} rules chosen on "
                  f"`{selection['heldout']}`; together they flip {selection['heldout_covered']} of "
                  f"{selection['heldout_correct']} correct predictions ({selection['heldout_coverage']:.1%})"
                  + (f"; {selection['seconds']:.0f} s." if selection.get("seconds") else "."), ""]
        lines += _table(
            [(c["rule"], c["applications"], c["equivalent"], c["flips"], f"{c['flip_rate']:.1%}",
              " → ".join(c["example"]) if c["example"] else "") for c in selection["chosen"]],
            ["rule", "applications", "equivalent", "flips", "flip rate", "example"],
        )
    return "\n".join(lines) + "\n"
