"""The checklist as Slack shows it, and the timeline: every limit kept, ids-only buttons, nothing unescaped."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from bot.checklists.actions import ActionId, parse_value
from bot.checklists.model import Check, Finding, FindingState, StepKind, close, mark_done, record_check, skip
from bot.checklists.render import render_checklist, render_timeline, skip_modal, skip_reason
from bot.checklists.timeline import markdown
from bot.slack.limits import check_blocks
from tests.fakes import NOW
from tests.test_checklist_model import CHECKLIST_ID, checklist, passed

LATER = NOW + timedelta(minutes=2)


def buttons(blocks: list[dict[str, object]]) -> list[dict[str, str]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]  # type: ignore[attr-defined]


def test_the_message_keeps_every_slack_limit_and_has_a_fallback_text() -> None:
    message = render_checklist(checklist())
    assert check_blocks(message.blocks) == []
    assert message.text.startswith("Rollback checklist for orders-processor → contoso.azurecr.io/orders:1.4.2")


def test_every_button_value_is_just_the_checklist_and_step_ids() -> None:
    for button in buttons(render_checklist(checklist()).blocks):
        ref = parse_value(button["value"])
        assert ref.checklist == CHECKLIST_ID
        assert button["action_id"] in {a.value for a in ActionId}


def test_open_steps_offer_done_and_skip_settled_ones_undo_and_verify_offers_check_now() -> None:
    c = mark_done(checklist(), StepKind.PERSIST, "U0A", LATER, approver=True)
    by_step: dict[str, list[str]] = {}
    for button in buttons(render_checklist(c).blocks):
        by_step.setdefault(parse_value(button["value"]).step, []).append(button["text"]["text"])  # type: ignore[index]
    assert by_step["lead"] == ["Go — I'll lead", "No-go…"]
    assert by_step["persist"] == ["Undo"]
    assert by_step["apply"] == ["Done (owner)", "Skip…"]
    assert by_step["verify"] == ["Check now", "Skip…"]
    assert by_step["close"] == ["Close checklist"]
    # What jobbot did when the checklist opened has no button at all: nothing to tick, skip or undo.
    assert not {"evidence", "cause", "target"} & set(by_step)


def test_what_jobbot_did_comes_first_with_its_evidence_and_the_team_steps_are_numbered_from_one() -> None:
    blocks = render_checklist(checklist()).blocks
    sections = [b for b in blocks if str(b.get("block_id", "")).startswith("checklist.") and b["type"] == "section"]
    texts = {b["block_id"].removeprefix("checklist."): b["text"]["text"] for b in sections}  # type: ignore[index]
    assert texts["evidence"].startswith(":white_check_mark: *jobbot* — saved the current definition")
    assert texts["cause"].startswith(":white_check_mark: *jobbot* — cause: oom, high confidence: 12 of 14")
    assert texts["lead"].startswith(":white_large_square: *1. Go / no-go: the incident lead decides*")
    assert texts["apply"].startswith(":white_large_square: *4. Apply the rollback*")
    assert "*Progress:* 0 of 8 steps done or skipped · 3 done by jobbot" in texts["summary"]


def test_a_closed_checklist_has_no_buttons_and_says_it_is_closed() -> None:
    c = checklist()
    for step in c.team_steps:
        if step.kind not in (StepKind.VERIFY, StepKind.CLOSE):
            c = mark_done(c, step.kind, "U0A", LATER, approver=True)
    c = close(record_check(c, passed(), "U0A", LATER), "U0A", LATER)
    message = render_checklist(c)
    assert buttons(message.blocks) == []
    assert "(closed)" in message.blocks[0]["text"]["text"]


def test_text_from_people_and_azure_is_escaped_and_cannot_mention_anyone() -> None:
    c = skip(checklist(), StepKind.REGISTRY, "U0A", "<!channel> see <https://evil|here> & more", LATER, approver=True)
    check = Check(LATER, (Finding("image", FindingState.FAIL, "runs <@U0ADMIN>"),))
    c = record_check(c, check, "U0A", LATER)
    text = json.dumps(render_checklist(c).blocks)
    assert "<!channel>" not in text and "<https://evil" not in text and "<@U0ADMIN>" not in text
    assert "&lt;!channel&gt;" in text and "&amp; more" in text
    assert "<!subteam^S0OWNERS>" in text, "owner mentions pass through"


def test_the_verification_shows_its_evidence_while_still_open() -> None:
    check = Check(LATER, (Finding("image", FindingState.FAIL, "still runs `orders:1.5.0`"),
                          Finding("executions", FindingState.WAITING, "No execution has started since 10:00 yet.")))
    verify = next(b["text"]["text"] for b in render_checklist(record_check(checklist(), check, "U0A", LATER)).blocks
                  if b.get("block_id") == "checklist.verify")
    assert verify.startswith(":white_large_square:")
    assert "not yet" in verify and ":x: still runs `orders:1.5.0`" in verify
    assert ":hourglass_flowing_sand: No execution has started" in verify


def test_very_long_texts_are_cut_on_purpose_not_refused_by_slack() -> None:
    c = checklist()
    long = replace(c, summary="x" * 10_000, steps=tuple(replace(s, detail="y" * 9_000, commands=("z" * 5_000,))
                                                        for s in c.steps))
    assert check_blocks(render_checklist(long).blocks) == []


def test_the_timeline_says_who_did_what_when_in_the_thread_and_as_markdown() -> None:
    c = mark_done(checklist(), StepKind.LEAD, "U0LEAD", LATER, approver=False)
    c = skip(c, StepKind.REGISTRY, "U0LEAD", "tag | pinned", LATER, approver=True)
    document = markdown(c, {"U0LEAD": "alex", "U0ONCALL": "sam"})
    assert document.startswith("# Rollback of orders-processor\n")
    assert "| Time | Who | What |" in document
    assert "| @alex | took the lead: go |" in document
    assert "| jobbot | did “Find the cause” itself when the checklist opened: cause: oom" in document
    assert "skipped “Check the target image still exists”: tag \\| pinned |" in document
    assert "- Lead: @alex" in document and "@sam" in document
    thread = render_timeline(c, document)
    assert check_blocks(thread.blocks) == []
    shown = json.dumps(thread.blocks, ensure_ascii=False)
    assert "<@U0LEAD> took the lead: go" in shown and "```# Rollback of orders-processor" in shown


def test_a_long_timeline_is_split_across_sections_within_the_limits() -> None:
    c = checklist()
    for minute in range(300):
        c = record_check(c, Check(NOW, (Finding("image", FindingState.FAIL, "still the old image " * 5),)), "U0A",
                         NOW + timedelta(minutes=minute))
    thread = render_timeline(c, markdown(c))
    assert check_blocks(thread.blocks) == []
    assert len(thread.blocks) > 3


def test_the_skip_modal_carries_ids_and_reads_the_reason_back() -> None:
    step = checklist().step(StepKind.APPLY)
    view = skip_modal(checklist(), step)
    assert parse_value(view["private_metadata"]).step == "apply"
    submitted = {"state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": "done by hand"}}}}}
    assert skip_reason(submitted) == "done by hand"
    assert skip_reason({}) == ""


def test_a_step_with_many_commands_shows_four_and_says_how_many_more_and_where() -> None:
    c = checklist()
    many = replace(c, steps=tuple(replace(s, commands=tuple(f"az cmd {i}" for i in range(6)))
                                  if s.kind is StepKind.APPLY else s for s in c.steps))
    apply = next(b["text"]["text"] for b in render_checklist(many).blocks if b.get("block_id") == "checklist.apply")
    assert apply.count("```az cmd") == 4 and "```az cmd 4```" not in apply
    assert "+2 more commands not shown here: `jobbot triage orders-processor` in a terminal prints every one" in apply
