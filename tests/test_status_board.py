"""The board, pure: worst first, could-not-check rows, and a 50-job board inside Slack's Block Kit limits."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.model import JobRef
from bot.slack.limits import BLOCKS_MAX, check_blocks
from bot.status.board import (
    TRIAGE_ACTION,
    Board,
    Change,
    Health,
    Row,
    board_to_dict,
    could_not_check,
    ordered,
    render_blocks,
    render_text,
)

SUB = "11111111-2222-3333-4444-555555555555"


def ref(name: str, group: str = "rg-orders") -> JobRef:
    return JobRef(name, group, SUB, f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.App/jobs/{name}")


def row(name: str, health: Health, failures: int = 0, executions: int = 10, **more: object) -> Row:
    r = ref(name)
    return Row(job=r.name, resource_group=r.resource_group, job_id=r.id, health=health, executions=executions,
               failures=failures, **more)  # type: ignore[arg-type]


def test_worst_first_failing_then_degraded_then_could_not_check_then_healthy() -> None:
    rows = [row("quiet", Health.HEALTHY), could_not_check(ref("blind"), "executions: 403 AuthorizationFailed"),
            row("wobbly", Health.DEGRADED, 0), row("some", Health.FAILING, 2), row("most", Health.FAILING, 9),
            row("rate", Health.FAILING, 2, executions=2)]
    assert [r.job for r in ordered(rows)] == ["most", "rate", "some", "wobbly", "blind", "quiet"]


def test_a_could_not_check_row_says_why_in_every_format() -> None:
    board = Board("all jobs", "in the last hour", ordered([could_not_check(ref("blind"), "executions: 403 denied")]))
    assert "could-not-check  blind (rg-orders) — could not check: executions: 403 denied" in render_text(board)
    assert board_to_dict(board)["jobs"][0]["why"] == "executions: 403 denied"
    assert "could not check: executions: 403 denied" in str(render_blocks(board).blocks)


def test_a_failing_row_shows_failures_reason_queue_and_last_change() -> None:
    change = Change(datetime(2026, 11, 28, 9, 2, tzinfo=UTC), "deployer@contoso.com", "MICROSOFT.APP/JOBS/WRITE")
    failing = row("orders", Health.FAILING, 12, 14, top_reason="exit 137 (killed)", cause="oom", queue_depth=1520,
                  queue_capacity=50, last_change=change)
    text = render_text(Board("environment cae", "in the last hour", (failing,)))
    assert ("12/14 executions failed; exit 137 (killed); likely oom; queue 1520/50 capacity; last change "
            "2026-11-28 09:02 UTC by deployer@contoso.com: MICROSOFT.APP/JOBS/WRITE") in text
    assert "→ jobbot triage orders" in text


def _buttons(blocks: list[dict[str, object]]) -> list[str]:
    return [b["accessory"]["value"] for b in blocks if isinstance(b.get("accessory"), dict)]  # type: ignore[index]


def test_fifty_jobs_fit_one_message_each_problem_with_its_triage_button_and_the_healthy_on_one_line() -> None:
    rows = [row(f"job-{i:02d}", Health.FAILING, i % 5 + 1, top_reason="exit 1 (application error) " * 8)
            for i in range(30)]
    rows += [could_not_check(ref(f"blind-{i}"), "Log Analytics: 429 " * 10) for i in range(5)]
    rows += [row(f"fine-{i:02d}", Health.HEALTHY) for i in range(15)]
    message = render_blocks(Board("environment cae-orders-weu", "in the last hour", ordered(rows)))
    assert check_blocks(message.blocks) == []
    assert len(message.blocks) <= BLOCKS_MAX
    buttons = _buttons(message.blocks)
    assert sorted(buttons) == sorted(r.job_id for r in rows if r.health is not Health.HEALTHY)
    assert all(b["accessory"]["action_id"] == TRIAGE_ACTION for b in message.blocks if "accessory" in b)
    healthy = [b for b in message.blocks if "*15 healthy*" in str(b)]
    assert len(healthy) == 1 and all(f"fine-{i:02d}" in str(healthy[0]) for i in range(15))


@given(st.lists(st.tuples(st.sampled_from(list(Health)), st.integers(0, 500), st.text(max_size=300)),
                max_size=120))
def test_any_board_fits_slack_and_names_every_job(spec: list[tuple[Health, int, str]]) -> None:
    rows = [row(f"job-{i:03d}", health, failures, executions=failures + 1, top_reason=reason)
            if health is not Health.COULD_NOT_CHECK else could_not_check(ref(f"job-{i:03d}"), reason)
            for i, (health, failures, reason) in enumerate(spec)]
    message = render_blocks(Board("all jobs", "in the last hour", ordered(rows)))
    assert check_blocks(message.blocks) == []
    shown = str(message.blocks)
    unhealthy = [r for r in rows if r.health is not Health.HEALTHY]
    # Every job that needs a look is there with a button or, past Slack's 50 blocks, with its command.
    for r in unhealthy[:40]:
        assert r.job in shown


def test_more_failing_jobs_than_a_message_holds_fold_into_lines_that_say_how_to_triage_each() -> None:
    failing = ordered([row(f"job-{i:03d}", Health.FAILING, failures=1 + i % 7) for i in range(60)])
    blocks = render_blocks(Board("all jobs", "in the last hour", failing)).blocks
    assert check_blocks(blocks) == [] and len(blocks) <= BLOCKS_MAX
    buttons = [b for b in blocks if b.get("accessory")]
    folded = blocks[-1]["text"]["text"]
    assert len(buttons) + folded.count("/jobbot triage ") == 60, "every failing job: a button or a command"
    assert all(b["accessory"]["action_id"] == TRIAGE_ACTION for b in buttons)


def test_a_fold_too_long_for_one_section_says_how_many_it_left_out() -> None:
    failing = ordered([row(f"a-rather-long-job-name-for-the-fold-{i:04d}", Health.FAILING, 3) for i in range(400)])
    blocks = render_blocks(Board("all jobs", "in the last hour", failing)).blocks
    assert check_blocks(blocks) == []
    assert "more" in blocks[-1]["text"]["text"].splitlines()[-1]
