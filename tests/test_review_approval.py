"""The review report's hash (what *Approve change* records), the stored document read back, and the Slack
messages of a review with all 45 findings: within Block Kit's limits, and the full report leaves none out."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.model import JobRef, Window
from bot.review.approval import Approval, canonical_json, report_sha256
from bot.review.findings import CostSummary, Evidence, Finding, Fix, Money, ReviewReport, Status, Waste
from bot.review.report_json import UnreadableReview, review_from_dict, review_to_dict
from bot.review.rules import RULES
from bot.review.score import scores
from bot.reviews.posted import PostedReview, PostedReviews
from bot.slack.blocks import ButtonSpec
from bot.slack.limits import BLOCKS_MAX, check_blocks
from bot.slack.review_blocks import render_review_blocks
from bot.slack.review_thread import render_full_report
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent
JOB = JobRef("orders-processor", "rg-orders", "11111111-2222-3333-4444-555555555555",
             "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-orders/providers/"
             "Microsoft.App/jobs/orders-processor")
END = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
STATUSES = (Status.FAIL, Status.WARN, Status.ERROR, Status.SKIPPED, Status.OK)


def report(*, statuses: tuple[Status, ...] = STATUSES, wordy: int = 1) -> ReviewReport:
    """A review with one finding per rule (45), every status, evidence, verify commands and money; `wordy`
    makes every text that many times longer."""
    findings = []
    for i, rule in enumerate(RULES):
        status = statuses[i % len(statuses)]
        findings.append(Finding(
            rule.id, rule.pillar, rule.severity, status, f"{rule.title} <&> " * wordy,
            Evidence(f"GET Microsoft.App/jobs/{JOB.name}", "properties.configuration." + "x" * 20 * wordy,
                     {"observed": [i, "value " * 10 * wordy], "nested": {"b": 1, "a": None}}),
            Fix(f"az containerapp job show --name {JOB.name} --resource-group {JOB.resource_group} --query "
                + "'properties.template'" * wordy, "-  old\n+  new"),
            rule.anchors, Money(0.25 * i, 1.07 * i, "seconds × rate " * wordy) if i % 3 == 0 else None))
    cost = CostSummary("USD", "config (Central US, quoted)", "2026-11-01", 0.000024, 0.000003, 2.44, 10.46, 132,
                       Waste(0.61, 0.12, 0.0))
    return ReviewReport(JOB, Window(END - timedelta(days=7), END), scores(findings), tuple(findings), cost,
                        ("role assignments: 403 AuthorizationFailed",))


def document() -> dict[str, Any]:
    return review_to_dict(report())


# --- the hash ----------------------------------------------------------------------------------------


def test_the_hash_is_sha256_of_the_canonical_json_and_ignores_key_order_and_indentation() -> None:
    doc = document()
    digest = report_sha256(doc)
    assert len(digest) == 64 and int(digest, 16) >= 0
    reordered = json.loads(json.dumps(doc, indent=2), object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    assert list(reordered) != list(doc)  # really another key order
    assert report_sha256(reordered) == digest
    assert canonical_json(doc) == json.dumps(json.loads(json.dumps(doc)), sort_keys=True, separators=(",", ":"),
                                             ensure_ascii=False).encode()


def test_the_hash_is_the_same_in_another_process() -> None:
    """Stable across runs: another interpreter, with another hash seed, gets the same digest."""
    script = ("import json, sys; from bot.review.approval import report_sha256; "
              "print(report_sha256(json.load(sys.stdin)))")
    for seed in ("1", "4242"):
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}, "PYTHONPATH": str(ROOT),
               "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script], input=json.dumps(document()), capture_output=True,
                              text=True, env=env, timeout=120, check=True)
        assert done.stdout.strip() == report_sha256(document())


def _with_finding(change: dict[str, Any]) -> dict[str, Any]:
    base = report()
    first = dataclasses.replace(base.findings[0], **change)
    return review_to_dict(dataclasses.replace(base, findings=(first, *base.findings[1:])))


@pytest.mark.parametrize("change", [
    {"status": Status.OK}, {"title": "Registry admin user is disabled"},
    {"evidence": Evidence("GET Microsoft.App/jobs/orders-processor", "identity.type", "SystemAssigned")},
    {"fix": Fix("az acr show --name other --query adminUserEnabled")}, {"money": Money(0.01, 0.02, "1 s × rate")},
], ids=["status", "title", "evidence", "fix", "money"])
def test_the_hash_changes_when_a_finding_changes(change: dict[str, Any]) -> None:
    assert report_sha256(_with_finding(change)) != report_sha256(document())


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_change_of_a_finding_title_changes_the_hash(title: str) -> None:
    changed = _with_finding({"title": title})
    assert (report_sha256(changed) == report_sha256(document())) == (title == report().findings[0].title)


# --- the stored document read back ---------------------------------------------------------------------


def test_the_document_reads_back_into_the_same_report() -> None:
    original = report()
    stored = json.loads(json.dumps(review_to_dict(original)))  # as a JSON column gives it back
    again = review_from_dict(stored)
    assert review_to_dict(again) == stored
    assert [f.id for f in again.findings] == [f.id for f in original.findings]
    assert again.window == original.window and again.job == original.job and again.cost == original.cost


@pytest.mark.parametrize("bad", [{}, {"kind": "triage"}, {"kind": "review", "job": {}},
                                 {**document(), "findings": [{"id": "SEC-01", "pillar": "beauty"}]},
                                 {**document(), "window": {"start": "yesterday", "end": "today"}}])
def test_a_document_of_another_shape_is_refused_as_unreadable(bad: dict[str, Any]) -> None:
    with pytest.raises(UnreadableReview):
        review_from_dict(bad)


@settings(max_examples=40, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                 max_size=3), max_leaves=8))
def test_any_observed_value_survives_the_round_trip(observed: Any) -> None:
    doc = _with_finding({"evidence": Evidence("GET x", "y", observed)})
    stored = json.loads(json.dumps(doc))
    assert review_to_dict(review_from_dict(stored)) == stored
    assert report_sha256(review_to_dict(review_from_dict(stored))) == report_sha256(doc)


def test_an_approval_keeps_its_time_zone_and_hash_through_the_store() -> None:
    approval = Approval("U0OWNER", END, report_sha256(document()))
    assert Approval.from_dict(json.loads(json.dumps(approval.to_dict()))) == approval
    with pytest.raises(ValueError, match="timezone"):
        Approval.from_dict({**approval.to_dict(), "at": "2026-12-01T12:00:00"})


# --- Slack, at 45 findings -------------------------------------------------------------------------------

BUTTONS = [ButtonSpec("Full report", "jobbot.review.full_report", value="r" * 32),
           ButtonSpec("Approve change", "jobbot.review.approve", value="r" * 32, style="primary")]


@pytest.mark.parametrize("wordy", [1, 8])
def test_the_review_message_with_buttons_and_approval_fits_at_45_findings(wordy: int) -> None:
    approval = Approval("U0OWNER", END, report_sha256(document()))
    message = render_review_blocks(report(statuses=(Status.FAIL,), wordy=wordy), actions=BUTTONS, approval=approval)
    assert check_blocks(message.blocks) == []
    assert message.blocks[-1]["type"] == "actions"
    assert [e["action_id"] for e in message.blocks[-1]["elements"]] == ["jobbot.review.full_report",
                                                                        "jobbot.review.approve"]
    approved = message.blocks[-2]["elements"][0]["text"]
    assert f"Approved by <@U0OWNER> at 12:00 UTC (report sha256 {approval.report_sha256[:8]}…)" in approved
    assert "37 more findings: *Full report* lists every finding in the thread" in message.blocks[-3]["elements"][0][
        "text"]


@pytest.mark.parametrize("wordy", [1, 4, 12])
def test_the_full_report_shows_all_45_findings_within_block_kit_limits(wordy: int) -> None:
    reviewed = report(statuses=(Status.FAIL, Status.WARN), wordy=wordy)
    messages = render_full_report(reviewed)
    for message in messages:
        assert check_blocks(message.blocks) == [], message.text
        assert len(message.blocks) <= BLOCKS_MAX
    shown = "\n".join(b["text"]["text"] for m in messages for b in m.blocks if b["type"] == "section" and "text" in b)
    assert all(f"*{f.id}*" in shown for f in reviewed.findings)
    assert "not shown" not in shown  # nothing left out
    assert "&lt;&amp;&gt;" in shown and "<&>" not in shown  # job text is escaped for mrkdwn
    if wordy == 1:
        assert len(messages) == 1
    else:  # too much for one message: continued in the thread, in order
        assert len(messages) > 1 and messages[1].text.startswith("Full report — Review of orders-processor")
        assert "(part 2 of" in messages[1].text


def test_the_full_report_lists_failures_first_then_warn_errors_skips_and_passes() -> None:
    [message] = render_full_report(report())
    text = "\n".join(b["text"]["text"] for b in message.blocks if b["type"] == "section" and "text" in b)
    headings = [text.index(h) for h in ("*Fail (9)*", "*Warn (9)*", "*Not evaluated (9)*", "*Not applicable (9)*",
                                        "*Passed (9)*", "*Cost*", "*Reads that failed*")]
    assert headings == sorted(headings)
    assert "could not read role assignments: 403 AuthorizationFailed" in text
    assert "2.44 USD over 132 executions" in text


# --- the stored review: approved once, however many click at once ---------------------------------------


def test_ten_approvals_at_once_record_exactly_one(db_url: str) -> None:
    """On SQLite and PostgreSQL (whose JSONB keeps keys in its own order): one approval, and the stored document
    still hashes as it did before it was stored."""

    async def run() -> tuple[list[bool], PostedReview | None]:
        store = Store.open(db_url)
        try:
            reviews = PostedReviews(store)
            await reviews.create(PostedReview("r1", document(), "C0REV", "1.2", "U0REVIEW", END))
            digest = report_sha256(document())
            results = await asyncio.gather(*(reviews.approve("r1", Approval(f"U0APPROVER{i}", END, digest))
                                             for i in range(10)))
            return [recorded for _, recorded in results], await reviews.load("r1")
        finally:
            store.close()

    recorded, stored = asyncio.run(run())
    assert recorded.count(True) == 1
    assert stored is not None and stored.approval is not None
    assert stored.approval.user == f"U0APPROVER{recorded.index(True)}"
    assert report_sha256(stored.document) == stored.approval.report_sha256  # the stored document hashes the same
