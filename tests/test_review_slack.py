"""`/jobbot review JOB [window]` end to end: a signed slash command over real HTTP, acked at once, the review
posted in the channel as review.md §3 lays it out, and in the audit trail; then its buttons, clicked as Slack
clicks them (signed block_actions): *Full report* in the thread, *Approve change* allowed, refused, twice."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack.commands import Verb, help_text, parse_command
from bot.slack.limits import check_blocks
from tests.support.db import audit_trail
from tests.support.review_bot import RISKY, Posted, ReviewBot, blocks_of, review_bot

ROOT = Path(__file__).resolve().parent.parent
SECRET = "0cc175b9c0f1b6a831c399e269772661"
TOKEN = "xoxb-1111-2222-jobbotreviewtest"
CHANNEL = "C0REV"
REVIEWER, OWNER, STRANGER = "U0REVIEW", "U0OWNER", "U0STRANGER"
# No `approve` rule: approving follows the rollback rule, here the owners' user group.
CONFIG = {"azure": {"check_deadline_s": 20}, "access": {"commands": {"rollback": {"user_groups": ["S0OWNERS"]}}}}


def cli_report_sha256(tmp: Path) -> str:
    """SHA-256 of the canonical form of what `jobbot review --format json` prints for the same job and world,
    as an auditor would compute it (the README's one-liner)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith(("JOBBOT_", "SLACK_"))}
    (tmp / "jobbot.yaml").write_text("azure:\n  check_deadline_s: 30\n")
    env.update(PYTHONPATH=str(ROOT), JOBBOT_CONFIG=str(tmp / "jobbot.yaml"))
    done = subprocess.run([sys.executable, "-m", "bot.cli", "review", "payments-export", "--window", "7d",
                           "--scenario", str(RISKY), "--format", "json"], cwd=tmp, env=env, capture_output=True,
                          text=True, timeout=300, check=True)
    canonical = json.dumps(json.loads(done.stdout), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewBot]:
    with review_bot(tmp_path_factory.mktemp("review"), CONFIG, secret=SECRET, token=TOKEN, channel=CHANNEL,
                    user=REVIEWER, usergroups={"S0OWNERS": [OWNER]}) as served:
        yield served


def test_review_is_acked_at_once_and_the_review_lands_in_the_channel(bot: ReviewBot) -> None:
    before = set(bot.reviews())
    response = bot.command("review payments-export 7d", token="r1")
    assert response.status_code == 200 and "Checking" in response.text  # the ack; its speed: bench/slack_ack.py
    bot.app.quiet()
    [message] = [m for ts, m in bot.reviews().items() if ts not in before]
    blocks = blocks_of(message)
    assert check_blocks(blocks) == []
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"].startswith("Review of payments-export: 9 fail, 9 warn, ")
    assert [f["text"].split("\n")[0] for f in blocks[1]["fields"]] == [
        "*Security*", "*Cost*", "*Reliability*", "*Performance*", "*Operations*"]
    findings = [b["text"]["text"] for b in blocks[2:] if b["type"] == "section"]
    assert len(findings) == 8
    assert all(":x:" in text for text in findings) and "*SEC-05*" in str(findings)  # 8 fails, worst first
    assert any("*SEC-05*" in t and "az acr show --name payacr --query adminUserEnabled" in t for t in findings)
    [context] = [b["elements"][0]["text"] for b in blocks if b["type"] == "context"]
    assert "not evaluated: COST-03" in context and "not applicable:" in context
    assert "10 more findings: *Full report* lists every finding in the thread" in context  # 18 fail or warn, 8 shown
    buttons = blocks[-1]["elements"]
    assert [(b["text"]["text"], b["action_id"]) for b in buttons] == [
        ("Full report", "jobbot.review.full_report"), ("Approve change", "jobbot.review.approve"),
        ("Evidence pack", "jobbot.review.evidence_pack")]
    assert "Pl41n-T3xt-Pa55word!" not in str(message)
    entry = next(e for e in audit_trail(bot.db) if e.action == "command:review")  # the newest
    assert (entry.target, entry.outcome, entry.detail) == ("payments-export", "ok", "review payments-export 7d")


def test_review_usage_is_in_the_help_and_a_bad_window_is_refused_privately(bot: ReviewBot) -> None:
    assert "`/jobbot review JOB [window]`" in help_text()
    assert parse_command("review payments-export").verb is Verb.REVIEW
    response = bot.command("review payments-export 90d", token="r2")
    assert response.status_code == 200 and "at most 30d" in response.text


def test_full_report_posts_every_finding_in_the_thread_within_block_kit_limits(bot: ReviewBot) -> None:
    posted = bot.post_review("full-1")
    bot.click(posted, "jobbot.review.full_report", REVIEWER)
    thread = bot.slack.wait_for_sync(lambda: bot.slack.thread(CHANNEL, posted.ts) or None)
    for message in thread:
        assert check_blocks(blocks_of(message)) == []
    text = "\n".join(b["text"]["text"] for m in thread for b in blocks_of(m) if b["type"] == "section" and "text" in b)
    ids = [f"{p}-{n:02d}" for p, count in (("SEC", 12), ("COST", 9), ("REL", 10), ("PERF", 7), ("OPS", 7))
           for n in range(1, count + 1)]
    assert sum(1 for rule in ids if f"*{rule}*" in text) == 45, [r for r in ids if f"*{r}*" not in text]
    assert "*Fail (9)*" in text and "*Warn (9)*" in text and "*Passed (" in text
    assert "az acr show --name payacr --query adminUserEnabled" in text
    assert "Pl41n-T3xt-Pa55word!" not in str(thread)
    [entry] = bot.audit(posted, "click:review-full-report")
    assert (entry.actor, entry.target, entry.outcome) == (REVIEWER, "payments-export", "ok")
    # Once is enough: a second click points at the thread instead of posting it again.
    bot.click(posted, "jobbot.review.full_report", REVIEWER)
    bot.told(REVIEWER, "already in this message's thread")
    assert len(bot.slack.thread(CHANNEL, posted.ts)) == len(thread)


def test_approve_records_who_when_the_job_and_the_report_hash_and_shows_it(bot: ReviewBot, tmp_path: Path) -> None:
    posted = bot.post_review("approve-1")
    bot.click(posted, "jobbot.review.approve", OWNER)
    [entry] = bot.audit(posted, "click:review-approve")
    assert (entry.actor, entry.channel, entry.target, entry.outcome) == (OWNER, CHANNEL, "payments-export", "approved")
    assert entry.at.isoformat() == "2026-12-01T12:00:00+00:00"  # the injected clock: the scenario's now
    digest = cli_report_sha256(tmp_path)  # the same JSON `jobbot review --format json` prints
    assert f"report_sha256={digest}" in entry.detail
    assert "job=/subscriptions/" in entry.detail and "/jobs/payments-export" in entry.detail
    assert "approved_at=2026-12-01T12:00:00+00:00" in entry.detail
    shown = [b for b in bot.message(posted) if b.get("block_id") == "jobbot.review.approval"]
    assert [b["elements"][0]["text"] for b in shown] == [
        f":white_check_mark: Approved by <@{OWNER}> at 12:00 UTC (report sha256 {digest[:8]}…)"]
    assert check_blocks(bot.message(posted)) == []
    assert [b["type"] for b in bot.message(posted)][-1] == "actions"  # the buttons stay


def test_approve_by_someone_the_rollback_rule_does_not_allow_is_refused_and_records_nothing(bot: ReviewBot) -> None:
    posted = bot.post_review("approve-2")
    bot.click(posted, "jobbot.review.approve", STRANGER)
    refusal = bot.told(STRANGER, "Not approved")
    assert "`rollback` is limited to <!subteam^S0OWNERS>; you are not in it." in refusal["text"]
    assert not any(b.get("block_id") == "jobbot.review.approval" for b in bot.message(posted))
    assert len(bot.slack.history(CHANNEL, posted.ts)) == 1  # the message was never changed
    # No approval and no report hash in the audit trail: only the refused attempt, as every refused click is.
    [attempt] = bot.audit(posted, "click:review-approve")
    assert (attempt.actor, attempt.outcome) == (STRANGER, "refused")
    assert "report_sha256" not in attempt.detail


def test_a_second_approve_of_the_same_report_is_shown_not_recorded_again(bot: ReviewBot) -> None:
    posted = bot.post_review("approve-3")
    bot.click(posted, "jobbot.review.approve", OWNER)
    first = bot.message(posted)
    bot.click(posted, "jobbot.review.approve", OWNER)
    again = bot.told(OWNER, "Already approved")
    assert f"Approved by <@{OWNER}> at 12:00 UTC (report sha256 " in again["text"]
    entries = bot.audit(posted, "click:review-approve")
    assert sorted(e.outcome for e in entries) == ["approved", "duplicate"]  # one approval, one repeat click
    assert bot.message(posted) == first
    assert sum(1 for b in bot.message(posted) if b.get("block_id") == "jobbot.review.approval") == 1


def test_an_approve_button_value_clicked_on_another_message_approves_nothing(bot: ReviewBot) -> None:
    posted = bot.post_review("approve-4")
    # The value copied into another message: a ts the fake Slack never hands out, so it can never be this one's.
    elsewhere = Posted("1600000000.000100", posted.buttons)
    bot.click(elsewhere, "jobbot.review.approve", OWNER)
    bot.told(OWNER, "does not belong to this message; nothing was done")
    assert [e.outcome for e in bot.audit(posted, "click:review-approve")] == ["refused"]
    assert not any(b.get("block_id") == "jobbot.review.approval" for b in bot.message(posted))


def test_where_jobbot_cannot_post_the_review_and_its_buttons_answer_through_response_urls(bot: ReviewBot) -> None:
    bot.slack.fail_next("chat.postMessage", status=200, retry_after=None, error="not_in_channel")
    assert bot.command("review payments-export 7d", token="outside").status_code == 200
    bot.app.quiet()
    [answer] = [r for r in bot.slack.responses_to("outside") if r["response_type"] == "in_channel"]
    buttons = {e["action_id"]: e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]}
    posted = Posted("1600000000.000200", buttons)  # the ts Slack gave the message; jobbot never learnt it

    bot.click(posted, "jobbot.review.approve", OWNER, token="outside-approve")  # only response_url can change it
    [replaced] = [r for r in bot.slack.responses_to("outside-approve") if r["replace_original"]]
    assert any(b.get("block_id") == "jobbot.review.approval" and f"<@{OWNER}>" in b["elements"][0]["text"]
               for b in replaced["blocks"])
    assert [e.outcome for e in bot.audit(posted, "click:review-approve")] == ["approved"]

    bot.slack.fail_next("chat.postMessage", status=200, retry_after=None, error="not_in_channel")
    bot.click(posted, "jobbot.review.full_report", REVIEWER, token="outside-full")  # no thread: told privately
    private = [r for r in bot.slack.responses_to("outside-full") if r["response_type"] == "ephemeral"]
    assert private and all(check_blocks(r["blocks"]) == [] for r in private)
    assert "*OPS-07*" in json.dumps([r["blocks"] for r in private])


def test_an_approval_is_audited_even_when_slack_refuses_to_update_the_message(bot: ReviewBot) -> None:
    posted = bot.post_review("approve-5")
    bot.slack.fail_next("chat.update", status=200, retry_after=None, error="invalid_blocks")
    bot.click(posted, "jobbot.review.approve", OWNER)
    bot.told(OWNER, "the message itself could not be updated")
    [entry] = bot.audit(posted, "click:review-approve")
    assert entry.outcome == "approved" and "report_sha256=" in entry.detail
