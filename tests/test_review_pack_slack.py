"""The **Evidence pack** button under `/jobbot review`, end to end: signed slash command and signed click over
real HTTP, the pack built against the emulator, uploaded with slack_sdk's `files_upload_v2` (getUploadURLExternal,
the upload POST, completeUploadExternal) into the review's thread on the fake Slack; the zip opened and its
manifest checked. The button obeys the review's access rules; a token without `files:write` gets a clear answer."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.errors import InvalidRequest
from bot.slack.scopes import REQUIRED_BOT_SCOPES
from tests.support.db import audit_trail
from tests.support.review_bot import ReviewBot, review_bot
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import block_actions_body

ROOT = Path(__file__).resolve().parent.parent
SECRET = "c4ca4238a0b923820dcc509a6f75849b"
TOKEN = "xoxb-1111-2222-jobbotpacktest"
CHANNEL = "C0REV"
REVIEWER, STRANGER = "U0REVIEW", "U0STRANGER"
ACTION = "jobbot.review.evidence_pack"
PLAIN_PASSWORD = "Pl41n-T3xt-Pa55word!"
CONFIG = {"azure": {"check_deadline_s": 20}, "access": {"commands": {"review": {"users": [REVIEWER]}}}}


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewBot]:
    with running(tmp_path_factory.mktemp("pack"), scopes=None) as found:
        yield found


def running(tmp: Path, scopes: list[str] | None) -> contextlib.AbstractContextManager[ReviewBot]:
    return review_bot(tmp, CONFIG, secret=SECRET, token=TOKEN, channel=CHANNEL, user=REVIEWER, scopes=scopes)


def test_the_button_uploads_the_pack_as_a_zip_into_the_review_thread(bot: ReviewBot) -> None:
    review = bot.post_review()
    assert review.buttons[ACTION]["text"]["text"] == "Evidence pack"
    bot.click(review, ACTION, REVIEWER)
    [upload] = bot.slack.wait_for_sync(lambda: bot.slack.files or None, timeout=60)
    assert upload["channel"] == CHANNEL and upload["thread_ts"] == review.ts  # in the review's thread
    assert upload["name"].startswith("evidence-payments-export-") and upload["name"].endswith(".zip")
    assert "Evidence pack for *payments-export*" in upload["initial_comment"]
    # The three steps of files_upload_v2, each as Slack has them.
    assert [c.method for c in bot.slack.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal", "files.completeUploadExternal"]
    [shared] = bot.slack.thread(CHANNEL, review.ts)
    assert shared["files"][0]["id"] == upload["id"]

    archive = zipfile.ZipFile(io.BytesIO(upload["content"]))
    folder = upload["name"].removesuffix(".zip")
    files = {name.removeprefix(folder + "/"): archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files["manifest.json"])
    assert set(manifest["files"]) == set(files) - {"manifest.json"} and len(files) == 12
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256(files[name]).hexdigest(), name
    assert manifest["job"]["name"] == "payments-export"
    assert manifest["reader"]["credential"].startswith("static token")
    assert any(r["path"].endswith("/jobs/payments-export/executions") for r in manifest["requests"])
    # jobbot's own audit trail is evidence too: the review that produced the message.
    audit = json.loads(files["owners.json"])["jobbot_audit"]
    assert any(e["action"] == "command:review" and e["actor"] == REVIEWER for e in audit)
    for name, content in files.items():
        assert PLAIN_PASSWORD.encode() not in content, name
    # The module's other tests click too, and are refused: the one click that packed is this one. (Its audit
    # entry is written as the click's work ends, just after the upload: wait for that.)
    bot.app.quiet(timeout=180)
    entries = [e for e in audit_trail(bot.db) if e.action == "click:evidence-pack" and e.outcome == "ok"]
    assert [(e.actor, e.target, e.outcome) for e in entries] == [(REVIEWER, "payments-export", "ok")]


def test_the_button_obeys_the_review_access_rules(bot: ReviewBot) -> None:
    review = bot.post_review()
    uploads = len(bot.slack.files)
    bot.click(review, ACTION, STRANGER)
    refusal = bot.slack.wait_for_sync(
        lambda: [e for e in bot.slack.ephemerals if e.get("user") == STRANGER] or None, timeout=30)[-1]
    assert ":no_entry:" in refusal["text"] and "`review` is limited to" in refusal["text"]
    bot.app.quiet()
    assert len(bot.slack.files) == uploads
    assert [e.outcome for e in audit_trail(bot.db) if e.action == "click:evidence-pack" and e.actor == STRANGER] == [
        "refused"]


def test_a_forged_or_stale_button_is_answered_privately(bot: ReviewBot) -> None:
    review = bot.post_review()
    uploads = len(bot.slack.files)
    job = "/subscriptions/7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f/resourceGroups/rg-payments/providers/Microsoft.App/jobs"
    for value, said in (("payments-export 7d", "not one jobbot made"),
                        (f"{job}/payments-gone 168h", "`payments-gone` was not found")):
        body = block_actions_body(ACTION, value, user_id=REVIEWER, channel_id=CHANNEL, message_ts=review.ts,
                                  response_url=bot.slack.response_url("forged"))
        assert bot.post(body).status_code == 200
        told = bot.slack.wait_for_sync(
            lambda said=said: [e for e in bot.slack.ephemerals if said in e.get("text", "")] or None, timeout=60)
        assert "Traceback" not in told[-1]["text"]
    bot.app.quiet()
    assert len(bot.slack.files) == uploads


def test_without_files_write_the_user_is_told_which_scope_to_add(tmp_path: Path) -> None:
    assert "files:write" in REQUIRED_BOT_SCOPES
    with running(tmp_path, scopes=[s for s in REQUIRED_BOT_SCOPES if s != "files:write"]) as bot:
        review = bot.post_review()
        bot.click(review, ACTION, REVIEWER)
        told = bot.slack.wait_for_sync(
            lambda: [e for e in bot.slack.ephemerals if "evidence pack" in e.get("text", "")] or None, timeout=60)[-1]
        assert "`files:write`" in told["text"] and "Traceback" not in told["text"]
        assert bot.slack.files == []


def test_the_button_joins_an_existing_actions_row_or_makes_one() -> None:
    from bot.slack.pack_button import EVIDENCE_PACK_ACTION, parse_pack_value, with_button
    from bot.slack.sections import ButtonSpec

    button = ButtonSpec("Evidence pack", EVIDENCE_PACK_ACTION, value="/subscriptions/s/resourceGroups/r/x 168h")
    other = {"type": "actions", "block_id": "jobbot.actions",
             "elements": [{"type": "button", "action_id": "jobbot.review.full", "text": {"type": "plain_text",
                                                                                       "text": "Full report"}}]}
    joined = with_button([{"type": "section"}, other, {"type": "context"}], button)
    assert [b["type"] for b in joined] == ["section", "actions", "context"]
    assert [e["action_id"] for e in joined[1]["elements"]] == ["jobbot.review.full", EVIDENCE_PACK_ACTION]
    assert other["elements"][0]["action_id"] == "jobbot.review.full" and len(other["elements"]) == 1  # untouched
    made = with_button([{"type": "section"}], button)
    assert [b["type"] for b in made] == ["section", "actions"]
    assert parse_pack_value("/subscriptions/s/resourceGroups/r/x 168h") == ("/subscriptions/s/resourceGroups/r/x",
                                                                           "168h")
    for forged in ("", "orders 7d", "/subscriptions/s/x"):
        with pytest.raises(InvalidRequest):
            parse_pack_value(forged)


async def test_the_fake_slack_takes_uploads_the_way_slack_does() -> None:
    import aiohttp
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    async with FakeSlack() as slack:
        client = AsyncWebClient(token=TOKEN, base_url=slack.api_url)
        parent = await client.chat_postMessage(channel=CHANNEL, text="review")
        done = await client.files_upload_v2(channel=CHANNEL, thread_ts=parent["ts"], content=b"PK\x03\x04 zip",
                                            filename="pack.zip", title="Pack", initial_comment="here")
        assert done["file"]["title"] == "Pack" and done["file"]["name"] == "pack.zip"
        [stored] = slack.files
        assert stored["content"] == b"PK\x03\x04 zip" and stored["thread_ts"] == parent["ts"]
        # Bytes that differ from the announced length are refused by the upload URL, and it takes one upload.
        url = await client.files_getUploadURLExternal(filename="a.zip", length=10)
        async with aiohttp.ClientSession(trust_env=False) as session:
            async with session.post(url["upload_url"], data=b"12345") as short:
                assert short.status == 400
            async with session.post(url["upload_url"], data=b"0123456789") as whole:
                assert whole.status == 200 and (await whole.text()) == "OK - 10"
            async with session.post(url["upload_url"], data=b"0123456789") as again:
                assert again.status == 404
        other = await client.files_getUploadURLExternal(filename="b.zip", length=3)
        # Completing an upload whose bytes never arrived is refused.
        with pytest.raises(SlackApiError) as refused:
            await client.files_completeUploadExternal(files=[{"id": other["file_id"], "title": "b"}],
                                                      channel_id=CHANNEL)
        assert refused.value.response["error"] == "file_not_found"
        with pytest.raises(SlackApiError) as unknown_thread:
            await client.files_upload_v2(channel=CHANNEL, thread_ts="1.000001", content=b"x", filename="c.zip")
        assert unknown_thread.value.response["error"] == "invalid_thread_ts"
