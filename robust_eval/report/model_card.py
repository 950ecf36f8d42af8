"""Write a checkpoint's robustness results into its model card (README.md), between markers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

START = "<!-- robust-eval:start -->"
END = "<!-- robust-eval:end -->"


def card_section(summary: Mapping[str, Any], checkpoint: str) -> str:
    """A Markdown section with the checkpoint's clean accuracy and accuracy under each attack."""
    config = summary["config"]
    result = summary["metrics"]["checkpoints"][checkpoint]
    lines = [
        START,
        "## Adversarial robustness (robust-eval)",
        "",
        f"Dataset `{config['data']['name']}` ({result['examples']} examples), evaluation seed {config['seed']}; "
        "95 % Wilson score intervals in brackets.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| clean accuracy | {percent(result['clean_accuracy'])} |",
    ]
    for recipe, values in result["recipes"].items():
        lines.append(f"| accuracy under `{recipe}` (success rate {percent(values['success_rate'])}) "
                     f"| {percent(values['accuracy_under_attack'])} |")
    if len(result["recipes"]) > 1:
        lines.append(f"| worst case over all recipes | {percent(result['worst_case']['accuracy_under_attack'])} |")
    lines += ["", END]
    return "\n".join(lines)


def percent(rate: Mapping[str, Any]) -> str:
    """`85.3 % [83.0, 87.5]` for a rate with its interval, `-` when undefined."""
    if rate["value"] is None:
        return "-"
    return f"{100 * rate['value']:.1f} %" + interval(rate)


def interval(rate: Mapping[str, Any]) -> str:
    """` [83.0, 87.5]`: a rate's 95 % interval in percent, empty when it has none."""
    if not rate.get("ci95"):
        return ""
    low, high = rate["ci95"]
    return f" [{100 * low:.1f}, {100 * high:.1f}]"


def update_model_card(directory: Path, section: str) -> Path:
    """Insert or replace the robustness section of `directory/README.md`; other content is kept."""
    card = directory / "README.md"
    text = card.read_text(encoding="utf-8") if card.exists() else ""
    if START in text and END in text.split(START, 1)[1]:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + section + after
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + section + "\n"
    card.write_text(text, encoding="utf-8")
    return card
