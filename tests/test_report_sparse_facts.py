"""A report built from sparse facts says only what is known: an execution without a start, exit code, reason
or image is still listed by name and status; a queue whose scaler gives no target, or whose running count is
unknown, gets no made-up numbers."""

from __future__ import annotations

from dataclasses import replace

from bot.evidence.payloads import ExecutionSummary, FailuresEvidence, QueueEvidence
from bot.model import CheckResult, CheckStatus
from bot.slack.blocks import render_blocks
from tests.test_blocks import core_checks, joined, oom_report


def with_check(name: str, result: CheckResult) -> tuple[CheckResult, ...]:
    return tuple(result if c.name == name else c for c in core_checks())


def test_an_execution_known_only_by_name_and_status_is_listed_without_blanks() -> None:
    bare = ExecutionSummary("orders-processor-x1", "Failed", None, None, None)
    failures = CheckResult("failures", CheckStatus.FAIL, "1 of 1 executions in the window failed.",
                           FailuresEvidence(1, 1, 0, 0, None, None, (bare,)))
    text = joined(render_blocks(oom_report(checks=with_check("failures", failures))))
    line = next(x for x in text.splitlines() if "orders-processor-x1" in x)
    assert line == "• `orders-processor-x1` Failed"


def test_a_single_attempt_and_a_reason_without_system_log_rows_are_shown_as_known() -> None:
    one = ExecutionSummary("orders-processor-x2", "Failed", None, None, "contoso.azurecr.io/orders:1.5.0",
                           reason="DeadlineExceeded", attempts=1)
    failures = CheckResult("failures", CheckStatus.FAIL, "1 of 1 executions in the window failed.",
                           FailuresEvidence(1, 1, 0, 0, None, None, (one,)))
    text = joined(render_blocks(oom_report(checks=with_check("failures", failures))))
    line = next(x for x in text.splitlines() if "orders-processor-x2" in x)
    assert line == "• `orders-processor-x2` Failed · DeadlineExceeded · `orders:1.5.0`", "1 attempt is not news"


def test_a_queue_without_scale_target_or_running_count_shows_only_its_depth_and_round() -> None:
    queue = QueueEvidence("azure-queue", "stordersprod", "orders", 40, None, 0, 0, 50, None)
    result = CheckResult("queue_depth", CheckStatus.OK, "40 messages in stordersprod/orders.", queue)
    text = joined(render_blocks(oom_report(checks=with_check("queue_depth", result))))
    line = next(x for x in text.splitlines() if x.startswith(":inbox_tray:"))
    assert line == ":inbox_tray: *Queue* `stordersprod/orders`: *40* messages waiting vs *50* per round"


def test_a_queue_with_dead_letters_says_how_many() -> None:
    queue = QueueEvidence("azure-servicebus", "sb-orders", "orders", 600, 12, 5, 10, 50, 10)
    result = CheckResult("queue_depth", CheckStatus.FAIL, "600 messages in sb-orders/orders.", queue)
    text = joined(render_blocks(replace(oom_report(), checks=with_check("queue_depth", result))))
    line = next(x for x in text.splitlines() if x.startswith(":inbox_tray:"))
    assert line.endswith(", 12.0× that · 10 running · 12 dead-lettered")
