"""The triage report as Slack Block Kit: content at a glance, escaping, links, and every limit kept."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block, SectionBlock

from bot.evidence.payloads import (
    ConsoleEvidence,
    ConsoleSignature,
    ExecutionSummary,
    ExitCodeCount,
    ExitCodesEvidence,
    FailuresEvidence,
    QueueEvidence,
)
from bot.model import (
    Cause,
    CheckResult,
    CheckStatus,
    Confidence,
    JobRef,
    Owners,
    RollbackCandidate,
    Runbook,
    SuspectedChange,
    TriageReport,
    Verdict,
    Window,
)
from bot.respond.links import encode_query, iso_duration, iso_interval, log_analytics_url, portal_url
from bot.slack.blocks import ButtonSpec, SlackMessage, _assemble, _Part, escape, render_blocks, render_progress
from bot.slack.limits import (
    BLOCKS_MAX,
    MESSAGE_TEXT_MAX,
    TRUNCATED,
    URL_MAX,
    check_blocks,
    truncate,
)

START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
JOB = JobRef("orders-processor", "rg-orders", "11111111-2222-3333-4444-555555555555",
             "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-orders/providers/"
             "Microsoft.App/jobs/orders-processor")
WORKSPACE = ("/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-logs/providers/"
             "Microsoft.OperationalInsights/workspaces/law-prod")
SIGNATURE = "psycopg2.OperationalError: could not connect to server orders-db.postgres.database.azure.com port <n>"


# --- building reports by hand ------------------------------------------------------------------------


def executions(n: int, *, failed: str = "Failed") -> tuple[ExecutionSummary, ...]:
    return tuple(
        ExecutionSummary(f"orders-processor-{i:05d}", failed, START.replace(minute=i % 60),
                         START.replace(minute=i % 60, second=40), "contoso.azurecr.io/orders:1.5.0",
                         reasons=("BackoffLimitExceeded",), exit_codes=(137,), attempts=2)
        for i in range(n)
    )


def core_checks(*, failed: int = 12, total: int = 14, summary: str | None = None,
                statuses: dict[str, CheckStatus] | None = None) -> tuple[CheckResult, ...]:
    statuses = statuses or {}

    def status(name: str, default: CheckStatus) -> CheckStatus:
        return statuses.get(name, default)

    return (
        CheckResult("failures", status("failures", CheckStatus.FAIL),
                    summary or f"{failed} of {total} executions in the window failed; "
                               "last success 2026-11-28T08:55:00Z.",
                    FailuresEvidence(total, failed, total - failed, 0, None, None, executions(failed))),
        CheckResult("retries", status("retries", CheckStatus.FAIL),
                    summary or f"{failed} executions used up their retries (replicaRetryLimit 1)."),
        CheckResult("exit_codes", status("exit_codes", CheckStatus.FAIL),
                    summary or f"Exit code 137 in {failed} executions: killed (SIGKILL).",
                    ExitCodesEvidence((
                        ExitCodeCount(137, failed * 2, failed,
                                      "killed (SIGKILL): usually the memory limit, also a kill after the stop "
                                      "grace period or node loss", END - timedelta(minutes=2)),
                        ExitCodeCount(0, 2, 2, "success", None)))),
        CheckResult("queue_depth", status("queue_depth", CheckStatus.OK),
                    summary or "40 messages in stordersprod/orders (scale target 5 per execution, maxExecutions 10).",
                    QueueEvidence("azure-queue", "stordersprod", "orders", 40, None, 5, 10, 50, 0)),
        CheckResult("config_changes", status("config_changes", CheckStatus.WARN),
                    summary or "Changed at 2026-11-28T09:02:00Z by deployer@contoso.com: image orders:1.4.2 -> "
                               "orders:1.5.0."),
        CheckResult("memory", status("memory", CheckStatus.WARN),
                    summary or "Peak memory 1001 MiB of 1024 MiB limit (98%)."),
        CheckResult("console_errors", status("console_errors", CheckStatus.WARN),
                    summary or f"1 error signatures; most common (dependency, 3 executions): {SIGNATURE[:160]}",
                    ConsoleEvidence((ConsoleSignature(SIGNATURE, "dependency", 9, 3, None, None),))),
    )


def oom_report(**overrides: Any) -> TriageReport:
    verdict = Verdict(
        Cause.OOM, Confidence.HIGH,
        "12 of 14 executions in the last hour were killed with exit code 137; peak memory 98% of the limit.",
        SuspectedChange(START + timedelta(minutes=2), "deployer@contoso.com", "MICROSOFT.APP/JOBS/WRITE",
                        "image contoso.azurecr.io/orders:1.4.2 -> contoso.azurecr.io/orders:1.5.0"),
        RollbackCandidate("contoso.azurecr.io/orders:1.4.2", START - timedelta(minutes=5), "orders-processor-good1"),
    )
    fields: dict[str, Any] = {
        "job": JOB, "window": Window(START, END), "verdict": verdict, "checks": core_checks(),
        "runbook": Runbook("oom", "Executions killed for memory (exit 137)",
                           ("Compare the memory limit with the peak in the Usage Bytes metric.",
                            "If the suspected change raised memory use, roll back to the last good image.",
                            "Otherwise raise the memory limit (cpu/memory pairs are fixed) and watch one execution.")),
        "owners": Owners("<!subteam^S0OWN>", ("<@U0MGR>", "<@U0DIR|director>")),
    }
    fields.update(overrides)
    return TriageReport(**fields)


def healthy_report() -> TriageReport:
    checks = tuple(
        CheckResult(c.name, CheckStatus.OK, s, c.evidence if c.name == "queue_depth" else None)
        for c, s in zip(core_checks(failed=0, total=6), [
            "All 6 executions in the window succeeded or are running.", "No execution needed a retry.",
            "No container exited with an error code.", "3 messages in stordersprod/orders.",
            "No change to the job or its environment in the last day.", "Peak memory 210 MiB of 1024 MiB (21%).",
            "No errors in the console output."], strict=True)
    )
    return TriageReport(JOB, Window(START, END),
                        Verdict(Cause.HEALTHY, Confidence.HIGH, "All 6 executions in the window succeeded."),
                        checks, None, Owners("<!subteam^S0OWN>"))


def incomplete_report() -> TriageReport:
    checks = core_checks(statuses={"queue_depth": CheckStatus.ERROR, "memory": CheckStatus.ERROR})
    checks = tuple(
        CheckResult(c.name, c.status, "Log Analytics answered HTTP 500" if c.status is CheckStatus.ERROR else c.summary,
                    None if c.status is CheckStatus.ERROR else c.evidence)
        for c in checks
    )
    verdict = Verdict(Cause.OOM, Confidence.MEDIUM,
                      "12 of 14 executions were killed with exit code 137. Could not check: queue_depth, memory.",
                      missing_evidence=("queue_depth", "memory"))
    return TriageReport(JOB, Window(START, END), verdict, checks, None, None)


def huge_report() -> TriageReport:
    long = "x" * 250 + " the rest of a 300-character summary that nobody reads on a phone ok"
    checks = core_checks(failed=40, total=45, summary=long[:300]) + tuple(
        CheckResult(f"extra_check_{i}", CheckStatus.WARN, long[:300]) for i in range(6)
    )
    steps = tuple(f"Step {i}: " + "do the careful thing and write down what you saw " * 6 for i in range(1, 11))
    return oom_report(checks=checks, runbook=Runbook("oom", "Executions killed for memory (exit 137)", steps))


# --- helpers --------------------------------------------------------------------------------------


def all_text(message: SlackMessage) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def texts(message: SlackMessage) -> list[str]:
    out = []
    for block in message.blocks:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        for element in block.get("elements") or []:
            if isinstance(element.get("text"), str):
                out.append(element["text"])
    return out


def joined(message: SlackMessage) -> str:
    return "\n".join(texts(message))


def header(message: SlackMessage) -> str:
    first = message.blocks[0]
    assert first["type"] == "header"
    text: str = first["text"]["text"]
    return text


def assert_valid(message: SlackMessage) -> None:
    assert check_blocks(message.blocks) == []
    assert 0 < len(message.blocks) <= BLOCKS_MAX
    assert message.text.strip()
    assert len(message.text) <= MESSAGE_TEXT_MAX
    # slack_sdk's own validation: the dicts parse back into the model classes and pass `.to_dict()`.
    for block in message.blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        assert parsed.to_dict() == block


def decode_query(url: str) -> str:
    q = re.search(r"/q/([^/]+)/timespan/", url)
    assert q is not None
    return gzip.decompress(base64.b64decode(unquote(unquote(q.group(1))))).decode()


# --- content ----------------------------------------------------------------------------------------


def test_oom_report_shows_verdict_change_rollback_owners_and_links() -> None:
    queries = {"failed_executions": "ContainerAppSystemLogs_CL | where JobName_s == 'orders-processor' | take 50",
               "exit_codes": "ContainerAppSystemLogs_CL | summarize count() by ExitCode_d"}
    message = render_blocks(oom_report(), workspace_resource_id=WORKSPACE, query_texts=queries,
                            actions=[ButtonSpec("Roll back to 1.4.2", "jobbot.rollback", "orders-processor|1.4.2",
                                                style="danger"),
                                     ButtonSpec("Ack", "jobbot.ack", "orders-processor")])
    assert_valid(message)
    assert "orders-processor" in header(message) and "oom" in header(message)
    assert header(message).startswith(":red_circle:")
    body = joined(message)
    assert "12 of 14 executions in the last hour were killed with exit code 137" in body
    assert "*Suspected change:* image contoso.azurecr.io/orders:1.4.2 -&gt; contoso.azurecr.io/orders:1.5.0" in body
    assert "deployer@contoso.com" in body and "MICROSOFT.APP/JOBS/WRITE" in body
    assert "*Rollback candidate:* `contoso.azurecr.io/orders:1.4.2`" in body
    assert "<!subteam^S0OWN>" in body and "<@U0MGR>" in body and "<@U0DIR|director>" in body
    assert f"<{portal_url(JOB.id)}|Job in the Azure portal>" in body
    # one line per check with its mark, grouped in at most two sections
    for mark, name in ((":x:", "failures"), (":warning:", "config_changes"), (":white_check_mark:", "queue_depth")):
        assert f"{mark} *{name}*" in body
    check_sections = [t for t in texts(message) if ":x: *failures*" in t or ":white_check_mark: *queue_depth*" in t]
    assert 1 <= len(check_sections) <= 2
    # evidence: failing executions with exit codes and their meaning, the queue against capacity
    assert "`orders-processor-00000` Failed" in body and "exit *137*" in body
    assert "*137* in 12 executions: killed (SIGKILL)" in body
    assert "*40* messages waiting vs *50* per round (scale target 5 per execution × maxExecutions 10)" in body
    # runbook as a numbered list
    assert "1. Compare the memory limit" in body and "3. Otherwise raise the memory limit" in body
    # Log Analytics links carry the query that ran, over the report's window
    la = re.findall(r"<(https://portal\.azure\.com/#blade/Microsoft_Azure_Monitoring_Logs/LogsBlade/[^|>]+)\|Logs: "
                    r"(\w+)>", body)
    assert {name for _, name in la} == set(queries)
    for url, name in la:
        assert decode_query(url) == queries[name]
        assert url.endswith("/timespan/2026-11-28T09%3A00%3A00.000Z%2F2026-11-28T10%3A00%3A00.000Z")
    # buttons in one actions block
    (actions,) = [b for b in message.blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == ["jobbot.rollback", "jobbot.ack"]
    assert actions["elements"][0]["style"] == "danger"
    # the fallback is the verdict in one line
    assert "\n" not in message.text
    assert message.text.startswith("orders-processor: oom (high confidence)")


def test_healthy_report_is_short_and_green() -> None:
    message = render_blocks(healthy_report())
    assert_valid(message)
    assert header(message) == ":large_green_circle: orders-processor — healthy (high)"
    body = joined(message)
    assert "Suspected change" not in body and "Rollback" not in body
    assert "evidence incomplete" not in body
    assert "Failing executions" not in body
    assert "<!subteam^S0OWN>" in body
    assert body.count(":white_check_mark:") == 7
    assert "Runbook" not in body


def test_incomplete_evidence_is_said_before_the_details() -> None:
    message = render_blocks(incomplete_report())
    assert_valid(message)
    context = [b for b in message.blocks if b["type"] == "context"]
    assert len(context) == 1
    line = context[0]["elements"][0]["text"]
    assert "evidence incomplete: could not check queue_depth, memory" in line
    assert "Window <!date^" in line and "(1 h)" in line
    # In the order a responder reads: verdict, next step, owner, (what changed,) what could not be checked,
    # then the details.
    ids = [b.get("block_id") for b in message.blocks]
    assert ids[:4] == ["jobbot.header", "jobbot.verdict", "jobbot.owners", "jobbot.context"]  # no runbook: no step
    assert ":grey_question: *queue_depth* Log Analytics answered HTTP 500" in joined(message)
    # no owners known: said, with how to name one and who hears about it meanwhile, not left out
    assert "*Owners:* _no owner set: tag the job `owner` (or `oncall`), or set `jobs.orders-processor.owners.primary`" \
        in joined(message)
    assert "meanwhile nobody is paged for it" in joined(message)
    fallback = render_blocks(replace(incomplete_report(), owners=Owners(None, (), fallback="C0ALERTS")))
    assert "meanwhile its alerts go to <#C0ALERTS>" in joined(fallback)
    assert message.text.endswith("(evidence incomplete)")
    # the queue could not be read, so no queue evidence is invented
    assert ":inbox_tray:" not in joined(message)


def test_huge_report_is_cut_on_purpose_and_says_so() -> None:
    message = render_blocks(huge_report(), workspace_resource_id=WORKSPACE,
                            query_texts={f"q{i}": f"T{i} | take {i}" for i in range(12)})
    assert_valid(message)
    body = joined(message)
    assert "_… 32 more failing executions not shown_" in body
    assert body.count("`orders-processor-000") == 8
    # 300-character summaries are cut per line, visibly
    summary = huge_report().checks[0].summary
    assert len(summary) == 300 and summary not in body
    assert re.search(r":x: \*failures\* x{250} the rest of a [^\n]+…\n", body)
    # all ten runbook steps, numbered in order (two sections at most)
    for i in range(1, 11):
        assert f"\n{i}. Step {i}:" in body
    # what must stay, stays
    assert "oom" in header(message)
    assert "<!subteam^S0OWN>" in body
    assert any(b.get("block_id") == "jobbot.verdict" for b in message.blocks)


def test_many_failing_executions_beyond_the_checks_own_list_are_counted() -> None:
    checks = core_checks(failed=10, total=200)
    failures = CheckResult("failures", CheckStatus.FAIL, "180 of 200 failed.",
                           dataclasses.replace(checks[0].found(FailuresEvidence), failed=180, total=200))
    message = render_blocks(oom_report(checks=(failures, *checks[1:])))
    assert_valid(message)
    assert "*Failing executions* (180 of 200 in the window)" in joined(message)
    assert "_… 172 more failing executions not shown_" in joined(message)


def test_slack_sdk_models_accept_every_block() -> None:
    """slack_sdk's own validation (run in `.to_dict()`) passes for every block we send."""
    for message in (render_blocks(oom_report(), actions=[ButtonSpec("Ack", "jobbot.ack", "x")]),
                    render_blocks(huge_report()), render_blocks(incomplete_report()),
                    render_progress("orders-processor", core_checks(), ["memory"])):
        for block in message.blocks:
            model = Block.parse(block)
            assert model is not None
            model.validate_json()
            assert model.to_dict() == block


# --- escaping and what must not leak ---------------------------------------------------------------


def test_job_and_workload_text_is_escaped_and_cannot_mention_anyone() -> None:
    hostile = "boom <!channel> & <https://evil.example|click> <@U0VICTIM>"
    report = oom_report(
        verdict=Verdict(Cause.APP_ERROR, Confidence.LOW, hostile,
                        SuspectedChange(None, "<!here>", None, hostile), None),
        checks=(CheckResult("failures", CheckStatus.FAIL, hostile, {}),),
        runbook=Runbook("app", hostile, (hostile,)),
        owners=Owners("<!channel>", ("team-orders", "<@U0MGR>", "@orders-oncall")),
    )
    message = render_blocks(report)
    assert_valid(message)
    blob = joined(message) + message.text
    for raw in ("<!channel>", "<!here>", "<https://evil.example", "<@U0VICTIM>"):
        assert raw not in blob
    assert escape(hostile) in joined(message)
    assert "&lt;!channel&gt;" in joined(message)
    assert "<@U0MGR>" in joined(message)  # a real mention still works
    assert "team-orders" in joined(message) and "@orders-oncall" in joined(message)


def test_console_excerpts_are_hidden_unless_allowed() -> None:
    report = oom_report(verdict=Verdict(Cause.DEPENDENCY, Confidence.HIGH,
                                        f"3 of 5 failed; the workload cannot reach something downstream: "
                                        f"{SIGNATURE[:160]}. A rollback would not help."))
    hidden = render_blocks(report)
    assert_valid(hidden)
    blob = all_text(hidden) + hidden.text
    assert "psycopg2" not in blob and "orders-db" not in blob
    assert "[console excerpt hidden]" in joined(hidden)
    assert "console excerpts hidden" in joined(hidden)
    assert "the workload cannot reach something downstream" in joined(hidden)

    shown = render_blocks(report, allow_console_excerpts=True)
    assert_valid(shown)
    assert "*Console errors* (normalised excerpts)" in joined(shown)
    assert escape(SIGNATURE) in joined(shown)
    assert "[console excerpt hidden]" not in joined(shown)


def test_no_rollback_offered_when_the_cause_is_outside_the_job() -> None:
    base = oom_report()
    report = oom_report(verdict=Verdict(Cause.DEPENDENCY, Confidence.MEDIUM, "The database is down.",
                                        base.verdict.suspected_change, base.verdict.rollback_candidate))
    body = joined(render_blocks(report))
    assert "Suspected change" in body
    assert "Rollback candidate" not in body
    assert "A rollback would not help" in body


# --- buttons ----------------------------------------------------------------------------------------


def test_buttons_beyond_the_actions_limit_are_dropped_and_counted() -> None:
    buttons = [ButtonSpec("A very long button label that goes on and on and on past what Slack shows " * 2,
                          f"jobbot.a{i}", str(i)) for i in range(30)]
    message = render_blocks(oom_report(), actions=buttons)
    assert_valid(message)
    (actions,) = [b for b in message.blocks if b["type"] == "actions"]
    assert len(actions["elements"]) == 25
    assert all(len(e["text"]["text"]) <= 75 for e in actions["elements"])
    assert "… 5 more actions not shown" in joined(message)


@pytest.mark.parametrize("kwargs", [
    {"text": "x", "action_id": ""},
    {"text": "x", "action_id": "a" * 256},
    {"text": "x", "action_id": "a", "value": "v" * 2001},
    {"text": "x", "action_id": "a", "url": "https://x/" + "y" * 3000},
    {"text": "x", "action_id": "a", "style": "loud"},
    {"text": " ", "action_id": "a"},
])
def test_button_spec_refuses_what_slack_would_refuse(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ButtonSpec(**kwargs)


# --- progress ---------------------------------------------------------------------------------------


def test_progress_lists_finished_and_pending_checks() -> None:
    done = core_checks()[:3]
    message = render_progress("orders-processor", done, ["queue_depth", "config_changes", "memory"])
    assert_valid(message)
    assert header(message) == "Checking orders-processor …"
    body = joined(message)
    assert ":x: *failures*" in body
    for name in ("queue_depth", "config_changes", "memory"):
        assert f":hourglass_flowing_sand: {name}" in body
    assert "3 of 6 checks done" in body
    assert message.text == "Checking orders-processor: 3 of 6 checks done"


def test_progress_hides_console_excerpts_and_survives_many_checks() -> None:
    done = [*core_checks(), *(CheckResult(f"c{i}", CheckStatus.OK, "y" * 500, {}) for i in range(80))]
    message = render_progress("orders-processor", done, [f"pending_{i}_" + "z" * 80 for i in range(300)])
    assert_valid(message)
    assert "psycopg2" not in all_text(message)
    assert "more pending checks not shown" in joined(message)
    assert "more checks not shown" in joined(message)


def test_progress_at_the_start_has_only_pending_checks() -> None:
    message = render_progress("orders-processor", [], ["failures", "exit_codes"])
    assert_valid(message)
    assert "0 of 2 checks done" in joined(message)


# --- limits ----------------------------------------------------------------------------------------


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_check_blocks_finds_what_slack_sdk_does_not() -> None:
    # slack_sdk builds both without complaint ...
    too_many = [SectionBlock(text="x").to_dict() for _ in range(51)]
    long_field = SectionBlock(fields=["y" * 2001]).to_dict()
    # ... check_blocks does not.
    assert any("51 blocks" in p for p in check_blocks(too_many))
    assert any("fields[0] is 2001 characters, limit 2000" in p for p in check_blocks([long_field]))


def test_check_blocks_finds_each_broken_limit() -> None:
    button = {"type": "button", "text": {"type": "plain_text", "text": "b" * 76}, "action_id": "a" * 256,
              "value": "v" * 2001, "url": "u" * 3001, "style": "loud"}
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
        {"type": "header", "text": {"type": "mrkdwn", "text": "h"}},
        section("s" * 3001),
        section(""),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11},
        {"type": "section"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11},
        {"type": "actions", "elements": [button] + [{**button, "text": {"type": "plain_text", "text": "ok"}}] * 25},
        {"type": "divider", "block_id": "d" * 256},
        {"type": "divider", "block_id": "same"},
        {"type": "divider", "block_id": "same"},
    ]
    problems = "\n".join(check_blocks(blocks))
    for expected in ("blocks[0] (header) text is 151 characters, limit 150",
                     "blocks[1] (header) text has type 'mrkdwn'",
                     "blocks[2] (section) text is 3001 characters, limit 3000",
                     "blocks[3] (section) text is empty",
                     "blocks[4] (section) has 11 fields, limit 10",
                     "blocks[5] (section) has neither text nor fields",
                     "blocks[6] (context) has 11 elements, limit 10",
                     "blocks[7] (actions) has 26 elements, limit 25",
                     "elements[0] text is 76 characters, limit 75",
                     "elements[0] action_id is 256 characters, limit 255",
                     "elements[0] value is 2001 characters, limit 2000",
                     "elements[0] url is 3001 characters, limit 3000",
                     "elements[0] style 'loud'",
                     "action_id 'aaaa",
                     "blocks[8] (divider) block_id is 256 characters, limit 255",
                     "blocks[10] (divider) block_id 'same' is used twice"):
        assert expected in problems, expected


def test_check_blocks_guards_the_total_message_size() -> None:
    assert any("characters of text" in p for p in check_blocks([section("m" * 3000)] * 14))
    assert check_blocks([section("m" * 3000)] * 13) == []


def test_truncate_cuts_on_purpose_and_says_so() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("a" * 20, 10) == "a" * 9 + "…"
    cut = truncate("word " * 100, 50, note=TRUNCATED)
    assert len(cut) <= 50 and cut.endswith("… (truncated)")
    assert truncate("abcdef", 3, note=TRUNCATED) == "… ("
    assert truncate("abc", 0) == ""


def test_assemble_drops_least_important_parts_first_and_never_exceeds_50_blocks() -> None:
    def part(name: str, priority: int, n: int) -> _Part:
        return _Part(name, priority, [section(f"{name} {i}") for i in range(n)])

    def context(notes: list[str]) -> dict[str, Any]:
        return {"type": "context", "elements": [{"type": "mrkdwn", "text": " ".join(notes) or "ctx"}]}

    parts = [part("header", 0, 1), part("verdict", 0, 1), part("owners", 0, 1), part("checks", 2, 20),
             part("runbook", 4, 20), part("links", 5, 20)]
    blocks = _assemble(parts, context=context, after="verdict")
    assert len(blocks) <= BLOCKS_MAX
    names = {b["text"]["text"].split()[0] for b in blocks if b["type"] == "section"}
    assert names == {"header", "verdict", "owners", "checks", "runbook"}
    note = next(b for b in blocks if b["type"] == "context")["elements"][0]["text"]
    assert "links" in note and "runbook" not in note
    assert blocks[2]["type"] == "context"


# --- links -----------------------------------------------------------------------------------------


def test_portal_url() -> None:
    assert portal_url(JOB.id) == f"https://portal.azure.com/#@/resource{JOB.id}/overview"


def test_log_analytics_url_round_trips_the_query() -> None:
    query = "ContainerAppConsoleLogs_CL\n| where ContainerJobName_s =~ 'orders-processor'\n| take 10"
    url = log_analytics_url(WORKSPACE, query, timespan="PT1H")
    assert url is not None
    assert url.startswith("https://portal.azure.com/#blade/Microsoft_Azure_Monitoring_Logs/LogsBlade/resourceId/"
                          "%2Fsubscriptions%2F11111111-2222-3333-4444-555555555555%2FresourceGroups%2Frg-logs%2F")
    assert "/source/LogsBlade.AnalyticsShareLinkToQuery/q/H4sI" in url
    assert url.endswith("/timespan/PT1H")
    assert decode_query(url) == query
    assert re.fullmatch(r"[A-Za-z0-9%._~\-/:#]+", url)
    # Decoded here by hand, as the portal does: URL-decode twice, base64, gunzip.
    segment = url.split("/q/", 1)[1].split("/", 1)[0]
    assert segment == encode_query(query)
    packed = base64.b64decode(unquote(unquote(segment)), validate=True)
    assert gzip.decompress(packed).decode("utf-8") == query
    # Stable: the gzip header carries no timestamp (MTIME, bytes 4-7, is zero), so the same query always
    # gives the same link.
    assert packed[:2] == b"\x1f\x8b" and packed[4:8] == b"\x00\x00\x00\x00"


def test_log_analytics_url_refuses_what_it_cannot_link() -> None:
    assert log_analytics_url(None, "T", timespan="PT1H") is None
    assert log_analytics_url("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "T", timespan="PT1H") is None  # a GUID
    assert log_analytics_url(WORKSPACE, "  ", timespan="PT1H") is None
    incompressible = base64.b64encode(random.Random(7).randbytes(2400)).decode()
    assert log_analytics_url(WORKSPACE, incompressible, timespan="PT1H") is None
    long_but_repetitive = "T | where x == 1\n" * 500
    url = log_analytics_url(WORKSPACE, long_but_repetitive, timespan="P1D")
    assert url is not None and len(url) <= URL_MAX


def test_iso_timespans() -> None:
    assert iso_duration(timedelta(hours=1)) == "PT1H"
    assert iso_duration(timedelta(days=1)) == "P1D"
    assert iso_duration(timedelta(days=1, minutes=90, seconds=5)) == "P1DT1H30M5S"
    assert iso_duration(timedelta(0)) == "PT0S"
    assert iso_interval(START, END) == "2026-11-28T09:00:00.000Z/2026-11-28T10:00:00.000Z"
    assert iso_interval(START.replace(tzinfo=None), END) == "2026-11-28T09:00:00.000Z/2026-11-28T10:00:00.000Z"


# --- the real triage output renders --------------------------------------------------------------


async def test_a_report_from_the_triage_core_renders() -> None:
    from bot.clock import FixedClock
    from bot.intake import JobSpec
    from bot.triage import triage
    from tests.fakes import NOW, FakeJobs, FakeLogs, execution, make_job, readers

    logs = FakeLogs({
        "exit_codes": [{"ExitCode": 137, "Count": 6, "Executions": 3, "LastSeen": NOW}],
        "failed_executions": [
            {"ExecutionName": f"e{i}", "Attempts": 2, "FailedAttempts": 2, "Reasons": ["BackoffLimitExceeded"],
             "ExitCodes": [137], "FirstSeen": NOW, "LastSeen": NOW, "LastMessage": "killed"} for i in (1, 2, 3)],
    })
    history = [execution("e1", "Failed", 10), execution("e2", "Failed", 20), execution("e3", "Failed", 30),
               execution("e0", "Succeeded", 70, image="contoso.azurecr.io/orders:1.4.2")]
    report = await triage(JobSpec("orders-processor"), timedelta(hours=1),
                          readers(FakeJobs([make_job()], history), logs), FixedClock(NOW))
    message = render_blocks(report)
    assert_valid(message)
    assert report.job.name in header(message) and report.verdict.cause.value in header(message)
    assert "`e1` Failed" in joined(message) and "exit *137*" in joined(message)


# --- properties ------------------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=4000)
_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-<>&", min_size=1, max_size=300)


@st.composite
def reports(draw: st.DrawFn) -> TriageReport:
    n_exec = draw(st.integers(0, 400))
    summary = draw(_text)
    checks = [
        CheckResult("failures", draw(st.sampled_from(CheckStatus)), summary,
                    FailuresEvidence(n_exec + draw(st.integers(0, 5)), n_exec, 0, 0, None, None, tuple(
                        dataclasses.replace(e, name=draw(_name)) if i == 0 else e
                        for i, e in enumerate(executions(n_exec))))),
        CheckResult("queue_depth", CheckStatus.FAIL, summary,
                    QueueEvidence("azure-queue", draw(_name), draw(_name), draw(st.integers(0, 10**9)), 2, 5,
                                  draw(st.integers(0, 1000)), draw(st.integers(0, 10**6)), 3)),
        CheckResult("exit_codes", CheckStatus.FAIL, summary,
                    ExitCodesEvidence(tuple(ExitCodeCount(c, 1, 1, draw(_text), None)
                                            for c in draw(st.lists(st.integers(0, 255), max_size=30))))),
        CheckResult("console_errors", CheckStatus.WARN, summary,
                    ConsoleEvidence(tuple(ConsoleSignature(s, "application", 2, 2, None, None)
                                          for s in draw(st.lists(_text, max_size=20))))),
    ]
    checks += [CheckResult(draw(_name), draw(st.sampled_from(CheckStatus)), draw(_text))
               for _ in range(draw(st.integers(0, 60)))]
    change = draw(st.none() | st.builds(SuspectedChange, st.none() | st.just(START), st.none() | _text,
                                        st.none() | _text, _text))
    rollback = draw(st.none() | st.builds(RollbackCandidate, _text, st.none() | st.just(START), st.none() | _name))
    verdict = Verdict(draw(st.sampled_from(Cause)), draw(st.sampled_from(Confidence)), draw(_text), change, rollback,
                      tuple(draw(st.lists(_name, max_size=20))))
    runbook = draw(st.none() | st.builds(Runbook, _name, _text, st.lists(_text, max_size=60).map(tuple)))
    owners = draw(st.none() | st.builds(Owners, st.none() | _name | st.just("<!subteam^S0OWN>"),
                                        st.lists(_name | st.just("<@U0MGR>"), max_size=80).map(tuple)))
    job = JobRef(draw(_name), "rg", "sub", draw(st.sampled_from([JOB.id, "", "/subscriptions/x/" + "y" * 3000])))
    return TriageReport(job, Window(START, END), verdict, tuple(checks), runbook, owners)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(report=reports(), allow=st.booleans(),
       queries=st.dictionaries(_name, _text, max_size=25),
       n_actions=st.integers(0, 40))
def test_no_input_breaks_a_limit(report: TriageReport, allow: bool, queries: dict[str, str], n_actions: int) -> None:
    buttons = [ButtonSpec(f"Action {i} " * 20, f"jobbot.action.{i}", "v" * 2000) for i in range(n_actions)]
    message = render_blocks(report, workspace_resource_id=WORKSPACE, query_texts=queries,
                            allow_console_excerpts=allow, actions=buttons)
    assert_valid(message)
    ids = [b.get("block_id") for b in message.blocks]
    assert {"jobbot.header", "jobbot.verdict", "jobbot.owners", "jobbot.context"} <= set(ids)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(job=_name, done=st.lists(st.builds(CheckResult, _name, st.sampled_from(CheckStatus), _text), max_size=80),
       pending=st.lists(_name, max_size=200))
def test_progress_never_breaks_a_limit(job: str, done: list[CheckResult], pending: list[str]) -> None:
    message = render_progress(job, done, pending)
    assert_valid(message)
    assert len([b for b in message.blocks if b["type"] == "header"]) == 1


def test_the_link_builder_and_slack_agree_on_the_longest_link() -> None:
    from bot.respond import links

    assert links.URL_MAX == URL_MAX


def test_the_next_step_and_owner_come_before_the_details_within_ten_blocks() -> None:
    """Issue 14 item 5: the next step and who owns it, then what changed, before any check or runbook."""
    from bot.model import Runbook
    from bot.respond.next_step import next_step

    steps = ("Save the current definition in the thread: `az containerapp job show …`",
             "Fill the gaps named in the report, then run the triage again: `/jobbot triage orders-processor`")
    report = replace(incomplete_report(), runbook=Runbook("unknown", "Not enough evidence", steps))
    message = render_blocks(report)
    ids = [b.get("block_id") or b["type"] for b in message.blocks]
    details = ids.index("divider")  # the checks start the details
    assert details <= 10
    assert ids.index("jobbot.next") < ids.index("jobbot.owners") < details
    step = next_step(report)
    assert step is not None
    next_text = message.blocks[ids.index("jobbot.next")]["text"]["text"]
    # Saving the definition is bookkeeping: the next step is the first that acts.
    assert next_text.startswith(":point_right: *Next:* Fill the gaps named in the report") and step.command is None
