"""The report's SEARs sections: the top-rules table (flip rate as the paper defines it) and the
back-translation filter's rejected candidates, rendered from the records alone."""

from __future__ import annotations

import json
from pathlib import Path

from attacks.constraints.back_translation import COUNTS_KEY, FilterCounts
from attacks.sears.outcome import DETAILS_KEY, RuleApplication, SearsDetails
from eval_support import TEXTS, copy_checkpoints, fitted_checkpoints, main  # noqa: F401 (fixtures)
from robust_eval.report.rules import filter_rows, rule_sections


def test_report_shows_top_rules_and_filter_rejections(copy_checkpoints, tmp_path: Path, capsys) -> None:
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in TEXTS), encoding="utf-8")
    out = tmp_path / "run"
    checkpoint = copy_checkpoints()[0]
    assert main(["evaluate", "--data", str(data), "--recipe", "tiny-swap", "--out", str(out), "--model", str(checkpoint),
                 "--no-progress"]) == 0, capsys.readouterr().err
    # Give every attacked example the details the rule and back-translation recipes write.
    records = [json.loads(line) for line in (out / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    attacked = [r for r in records if r["kind"] == "attack" and r["result"]["status"] != "skipped"]
    assert len(attacked) >= 2
    for number, record in enumerate(attacked):
        flipped = number == 0
        applications = [RuleApplication("movie -> film", True, flipped, "a <b>film</b>" if flipped else None),
                        RuleApplication("is -> was", number % 2 == 1, False)]
        record["result"]["details"][DETAILS_KEY] = SearsDetails(applications).to_dict()
        record["result"]["details"][COUNTS_KEY] = FilterCounts(10, 4).to_dict()
    (out / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")

    table = rule_sections(records, [checkpoint.name], ["tiny-swap"])[0].tables[0]
    assert (table.totals.attacked, table.totals.flipped) == (len(attacked), 1)
    movie, was = table.rows
    assert (movie.rule, movie.applications, movie.equivalent, movie.flips) == ("movie -> film", len(attacked), len(attacked), 1)
    assert movie.example == (attacked[0]["result"]["original_text"], "a <b>film</b>")
    assert was.equivalent == len(attacked) // 2 and was.flips == 0
    row = filter_rows(records, [checkpoint.name], ["tiny-swap"])[0]
    assert (row.examples, row.checked, row.rejected, row.rejected_share) == (len(attacked), 10 * len(attacked), 4 * len(attacked), 0.4)

    assert main(["report", str(out)]) == 0
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "## Top rules: tiny-swap" in markdown and "| movie -\\> film |" in markdown  # Markdown-escaped data
    assert "## Back-translation filter" in markdown and f"| {10 * len(attacked)} | {4 * len(attacked)} | 40.0 % |" in markdown
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Top rules: tiny-swap" in html and "<b>film</b>" not in html  # data is escaped
