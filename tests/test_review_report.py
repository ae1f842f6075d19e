"""Pillar score arithmetic (review.md §3) and the review report's JSON shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.model import JobRef, Window
from bot.review.findings import Evidence, Finding, Fix, Pillar, ReviewReport, Severity, Status
from bot.review.render import headline, render_review_text, worst_first
from bot.review.report_json import review_to_dict
from bot.review.score import pillar_score, scores
from bot.reviews.actions import review_buttons
from bot.slack.limits import check_blocks
from bot.slack.review_blocks import render_review_blocks


def finding(rule_id: str, status: Status, severity: str = "high", pillar: Pillar = Pillar.SECURITY) -> Finding:
    return Finding(rule_id, pillar, Severity(severity), status, f"{rule_id} title",
                   Evidence("GET Microsoft.App/jobs/j", "identity.type", "None"),
                   Fix("az containerapp job show --name j --resource-group rg --query identity"), ("PSRule:x",))


def test_a_fail_costs_the_whole_weight_and_a_warn_half() -> None:
    # H fail (3) + M warn (1 of 2) + L ok (0 of 1): 100 × (1 − 4/6) = 33
    found = [finding("SEC-01", Status.FAIL, "high"), finding("SEC-02", Status.WARN, "medium"),
             finding("SEC-03", Status.OK, "low")]
    assert pillar_score(found).score == 33
    assert pillar_score([finding("SEC-01", Status.OK)]).score == 100
    assert pillar_score([finding("SEC-01", Status.WARN)]).score == 50


def test_errors_count_against_coverage_and_skips_do_not_apply() -> None:
    two_of_four = [finding("A", Status.OK), finding("B", Status.OK), finding("C", Status.ERROR),
                   finding("D", Status.ERROR), finding("E", Status.SKIPPED)]
    score = pillar_score(two_of_four)
    assert (score.score, score.evaluated, score.total) == (100, 2, 4)  # exactly half: still scored
    under_half = [finding("A", Status.OK), finding("C", Status.ERROR), finding("D", Status.ERROR)]
    assert pillar_score(under_half).score is None  # n/a
    assert pillar_score([finding("E", Status.SKIPPED)]).score is None


def test_every_pillar_gets_a_score_even_with_no_findings() -> None:
    assert set(scores([])) == set(Pillar)
    assert all(s.score is None for s in scores([]).values())


def report() -> ReviewReport:
    found = (finding("SEC-01", Status.FAIL), finding("SEC-02", Status.WARN, "medium"),
             finding("SEC-06", Status.ERROR), finding("REL-06", Status.SKIPPED, pillar=Pillar.RELIABILITY),
             finding("OPS-01", Status.FAIL, "high", Pillar.OPERATIONS))
    window = Window(datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    return ReviewReport(JobRef("j", "rg", "sub", "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.App/jobs/j"),
                        window, scores(found), found)


def test_the_json_has_the_contract_shape() -> None:
    data = json.loads(json.dumps(review_to_dict(report())))
    assert data["kind"] == "review"
    assert set(data) >= {"kind", "job", "window", "evidence_complete", "scores", "cost", "findings"}
    assert data["evidence_complete"] is False  # SEC-06 is an error
    assert data["window"] == {"start": "2026-11-24T00:00:00Z", "end": "2026-12-01T00:00:00Z"}
    assert data["scores"]["security"] == {"score": 20, "evaluated": 2, "total": 3}  # 100 × (1 − (3 + 1) / (3 + 2))
    first = data["findings"][0]
    assert set(first) == {"id", "pillar", "severity", "status", "title", "evidence", "fix", "anchors", "money"}
    assert first["evidence"] == {"source": "GET Microsoft.App/jobs/j", "path": "identity.type", "observed": "None"}
    assert set(first["fix"]) == {"verify", "change"} and first["fix"]["verify"].startswith("az ")


def test_worst_first_puts_fails_by_severity_before_warns_and_errors() -> None:
    order = [f.id for f in worst_first(report().findings)]
    assert order == ["OPS-01", "SEC-01", "SEC-02", "SEC-06", "REL-06"]
    assert headline(report()) == "Review of j: 2 fail, 1 warn, 3/5 evaluated"
    assert "verify: az containerapp job show" in render_review_text(report())


def test_the_slack_message_keeps_block_kit_limits_and_names_errors_and_skips() -> None:
    message = render_review_blocks(report(), actions=review_buttons("review-1", report()))
    assert check_blocks(message.blocks) == []
    assert message.blocks[0]["text"]["text"] == "Review of j: 2 fail, 1 warn, 3/5 evaluated"
    fields = message.blocks[1]["fields"]
    assert len(fields) == 5 and fields[0]["text"].startswith("*Security*\n20")
    [context] = [b["elements"][0]["text"] for b in message.blocks if b["type"] == "context"]
    assert "not evaluated: SEC-06" in context and "not applicable: REL-06" in context
    [actions] = [b for b in message.blocks if b["type"] == "actions"]
    assert [(e["text"]["text"], e["action_id"]) for e in actions["elements"]] == [
        ("Full report", "jobbot.review.full_report"), ("Approve change", "jobbot.review.approve"),
        ("Evidence pack", "jobbot.review.evidence_pack")]
    assert actions["elements"][2]["value"] == f"{report().job.id} 168h"  # the job and the review's window


def test_the_slack_message_shows_at_most_eight_findings_of_45() -> None:
    many = tuple(finding(f"SEC-{i:02d}", Status.FAIL if i % 2 else Status.WARN) for i in range(1, 46))
    big = ReviewReport(report().job, report().window, scores(many), many)
    message = render_review_blocks(big)
    assert check_blocks(message.blocks) == []
    shown = [b for b in message.blocks if b["type"] == "section" and "text" in b]
    assert len(shown) == 8
    assert "37 more findings" in next(b for b in message.blocks if b["type"] == "context")["elements"][0]["text"]
