"""Rollback checklists end to end: `jobbot serve` over real HTTP, signed requests, the fake Slack Web API and the
local Azure emulator serving the image-change incident, switched to the rolled-back world mid-test.

The bot's clock is the scenario's, made steppable here so the +5/+15/+30 min re-checks can come due.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import yaml
from slack_sdk import WebClient

from bot import scenario_mode
from bot.checklists.actions import ActionId, ViewId
from bot.checklists.model import Checklist
from bot.checklists.render import REASON_ACTION, REASON_BLOCK
from bot.checklists.state import ChecklistState
from bot.clock import ManualClock
from bot.config import parse_config
from bot.server import create_app
from bot.settings import Settings
from bot.slack.limits import check_blocks
from bot.store import Store
from tests.support.served import served
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import block_actions_body, sign, slash_command_body

ROOT = Path(__file__).resolve().parent.parent
OOM = ROOT / "scenarios" / "oom-after-image-change.yaml"
ROLLED_BACK = ROOT / "tests" / "fixtures" / "scenarios" / "oom-rolled-back.yaml"
SECRET = "8f14e45fceea167a5a36dedd4bea2543"
TOKEN = "xoxb-1111-2222-jobbottesttoken"
CHANNEL = "C0INC"
OWNER, ONCALL, STRANGER = "U0OWNER", "U0ONCALL", "U0STRANGER"
TARGET = "contoso.azurecr.io/orders:1.4.2"
BAD = "contoso.azurecr.io/orders:1.5.0"
PLAIN_SECRET = "Sup3r-Secret-Db-Passw0rd!"
CONFIG = {
    "azure": {"check_deadline_s": 20},
    # The job's tags name owner team-orders and oncall @orders-oncall: these map them to user groups.
    "slack": {"user_groups": {"team-orders": "S0OWNERS", "orders-oncall": "S0ONCALL", "ledger-oncall": "S0OWNERS"}},
}
USERGROUPS = {"S0OWNERS": [OWNER], "S0ONCALL": [ONCALL]}


@dataclass
class World:
    emulator: Any
    clock: ManualClock


@contextmanager
def capture_worlds() -> Iterator[list[World]]:
    """Scenario mode as `serve` runs it, with a handle on the emulator (its request record, its control
    endpoint) and a steppable clock."""
    original = scenario_mode.scenario_world
    worlds: list[World] = []

    @contextmanager
    def world_with_handle(path: Any, config: Any = None) -> Iterator[Any]:
        with original(path, config) as world:
            clock = ManualClock(world.clock.instant)
            worlds.append(World(world.emulator, clock))
            yield replace(world, clock=clock)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scenario_mode, "scenario_world", world_with_handle)
        yield worlds


def leaky_scenario(tmp: Path) -> Path:
    """The incident world with a password in a plain env var, as happens: it must never reach Slack."""
    world = yaml.safe_load(OOM.read_text())
    for job in world["jobs"]:
        job["properties"]["template"]["containers"][0]["env"].append({"name": "DB_PASSWORD", "value": PLAIN_SECRET})
    path = tmp / "oom-leaky.yaml"
    path.write_text(yaml.safe_dump(world, sort_keys=False))
    return path


class Bot:
    """Drives the served app the way Slack does, and reads what Slack would show."""

    def __init__(self, url: str, slack: FakeSlack, world: World) -> None:
        self.url, self.slack, self.world = url, slack, world
        self.http = httpx.Client(base_url=url, timeout=20, trust_env=False)
        self.ts = ""
        self.checklist = ""

    def post(self, body: bytes) -> httpx.Response:
        headers = {**sign(SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
        return self.http.post("/slack/events", content=body, headers=headers)

    def command(self, text: str, *, user: str = ONCALL, token: str = "t1") -> httpx.Response:
        return self.post(slash_command_body(text, user_id=user, channel_id=CHANNEL,
                                            response_url=self.slack.response_url(token)))

    def click(self, action: ActionId, step: str, *, user: str = ONCALL,
              trigger_id: str | None = None) -> httpx.Response:
        response = self.post(block_actions_body(action.value, f"{self.checklist}/{step}", user_id=user,
                                                channel_id=CHANNEL, message_ts=self.ts,
                                                response_url=self.slack.response_url(f"click-{user}"),
                                                trigger_id=trigger_id))
        assert response.status_code == 200, "clicks are acked (how fast: bench/slack_ack.py)"
        return response

    def submit_skip(self, step: str, reason: str, *, user: str = ONCALL) -> httpx.Response:
        payload = {
            "type": "view_submission", "team": {"id": "T0TEAM", "domain": "example"},
            "user": {"id": user, "username": user.lower(), "team_id": "T0TEAM"}, "api_app_id": "A0JOBBOT",
            "token": "verificationtoken", "trigger_id": "1.2.3", "is_enterprise_install": False,
            "view": {"id": "V0SKIP", "type": "modal", "callback_id": ViewId.SKIP_REASON.value,
                     "private_metadata": f"{self.checklist}/{step}", "team_id": "T0TEAM",
                     "state": {"values": {REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input",
                                                                         "value": reason}}}}},
        }
        return self.post(urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode())

    # --- what the channel shows ---------------------------------------------------------------------

    def wait(self, what: Callable[[], Any], timeout: float = 25) -> Any:
        return self.slack.wait_for_sync(what, timeout=timeout)

    def checklist_message(self) -> dict[str, Any] | None:
        # A thread's parent carries thread_ts (its own ts) once it has replies, as in Slack.
        return next((m for (channel, _), m in sorted(self.slack.messages.items())
                     if channel == CHANNEL and m.get("thread_ts", m["ts"]) == m["ts"]
                     and str(m.get("text", "")).startswith("Rollback checklist")), None)

    def started(self) -> dict[str, Any]:
        """Wait for the checklist message; remember its ts and checklist id."""
        message: dict[str, Any] = self.wait(self.checklist_message)
        self.ts = message["ts"]
        value = next(e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"])
        self.checklist = value.split("/")[0]
        return message

    def message(self) -> dict[str, Any]:
        return self.slack.message(CHANNEL, self.ts)

    def step(self, kind: str) -> str:
        """The text of a step's section in the message as it is now."""
        blocks = self.message()["blocks"]
        return str(next(b["text"]["text"] for b in blocks if b.get("block_id") == f"checklist.{kind}"))

    def wait_step(self, kind: str, *needles: str, timeout: float = 25) -> str:
        def shown() -> str | None:
            text = self.step(kind)
            return text if all(needle in text for needle in needles) else None

        found: str = self.wait(shown, timeout)
        return found

    def ephemeral_to(self, user: str, needle: str) -> dict[str, Any]:
        found: dict[str, Any] = self.wait(lambda: next(
            (e for e in self.slack.ephemerals if e["user"] == user and needle in e["text"]), None))
        return found

    def thread(self) -> list[dict[str, Any]]:
        return self.slack.thread(CHANNEL, self.ts)


@contextmanager
def running_bot(tmp: Path, db: str | None = None, scenario: Path | None = None) -> Iterator[Bot]:
    with capture_worlds() as worlds, FakeSlack.in_thread(usergroups=USERGROUPS) as slack:
        slack.register("views.open", lambda args: {"view": {"id": "V0SKIP", **json.loads(args["view"])}
                                                   if isinstance(args.get("view"), str) else args.get("view")})
        settings = Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=slack.api_url,
                            scenario=scenario or leaky_scenario(tmp), database_url=db or f"sqlite:///{tmp / 'j.db'}")
        with served(create_app(settings, parse_config(CONFIG))) as url:
            yield Bot(url, slack, worlds[-1])


async def stored_checklist(db: str, checklist_id: str) -> Checklist:
    """The checklist as jobbot's store holds it (read with a store of the test's own)."""
    store = Store.open(db)
    try:
        saved = await ChecklistState(store).load(checklist_id)
    finally:
        store.close()
    assert saved is not None
    return saved.checklist


def assert_only_reads_reached_azure(bot: Bot) -> None:
    azure = [r for r in bot.world.emulator.requests if r.target != "control"]
    assert azure, "the flow read Azure"
    def read(r: Any) -> bool:  # GETs, and the two query APIs (reads sent as POST): Log Analytics, Resource Graph
        return bool(r.method == "GET" or (r.method == "POST" and r.path.startswith("/v1/workspaces/")
                                          and r.path.endswith("/query"))
                    or (r.method == "POST" and r.path.lower() == "/providers/microsoft.resourcegraph/resources"))

    writes = [r for r in azure if not r.allowed or not read(r)]
    assert writes == []


def switch_world(bot: Bot, path: Path) -> None:
    emulator = bot.world.emulator
    answer = httpx.post(f"{emulator.url}/_emulator/scenario", json={"path": str(path)},
                        verify=ssl.create_default_context(cafile=emulator.ca_file), trust_env=False, timeout=30)
    assert answer.status_code == 200 and answer.json()["loaded"] == "oom-rolled-back"


# --- the acceptance flow -----------------------------------------------------------------------------


def test_a_rollback_is_guided_in_one_message_verified_by_the_bot_and_closed_with_a_timeline(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        response = bot.command("rollback orders-processor")
        assert response.status_code == 200 and "Checking" in response.text

        # One checklist message proposing the last known good image, with the exact command to copy.
        posted = bot.started()
        assert check_blocks(posted["blocks"]) == []
        shown = json.dumps(posted["blocks"], ensure_ascii=False)
        assert f"*Target:* `{TARGET}`" in bot.step("summary") and f"today `{BAD}`" in shown
        assert (f"az containerapp job update --name orders-processor --resource-group rg-orders --subscription "
                f"11111111-2222-3333-4444-555555555555 --image {TARGET}") in bot.step("apply")
        assert "scale rule today: azure-queue `orders-queue`" in bot.step("target")
        assert "not recorded in execution history" in bot.step("target")
        assert "image contoso.azurecr.io/orders:1.4.2 → contoso.azurecr.io/orders:1.5.0" in bot.step("target")
        assert "--max-executions 1" in bot.step("intake") and "suspend" in bot.step("intake")

        # The evidence snapshot is in the thread: configuration and executions, env names but never values.
        snapshot = json.dumps(bot.wait(lambda: bot.thread() or None), ensure_ascii=False)
        assert "Snapshot of orders-processor" in snapshot and BAD in snapshot and "DB_PASSWORD" in snapshot
        assert PLAIN_SECRET not in snapshot

        bot.click(ActionId.DONE, "lead", user=ONCALL)
        bot.wait_step("lead", "Done by <@U0ONCALL>")
        assert "*Lead:* <@U0ONCALL>" in bot.step("summary")

        # Approval: a non-owner is refused privately, and the step stays open.
        bot.click(ActionId.DONE, "apply", user=STRANGER)
        refusal = bot.ephemeral_to(STRANGER, "needs an owner's approval")
        assert "<!subteam^S0OWNERS>" in refusal["text"]
        assert bot.step("apply").startswith(":white_large_square:")
        bot.click(ActionId.DONE, "apply", user=OWNER)
        bot.wait_step("apply", "Done by <@U0OWNER>")

        # Verification stays open while Azure still serves the bad image, and says why.
        bot.click(ActionId.CHECK, "verify", user=ONCALL)
        verify = bot.wait_step("verify", "not yet")
        assert verify.startswith(":white_large_square:")
        assert f"still runs `{BAD}`" in verify and "No execution has started since" in verify

        # The rollback lands (emulator control), and the bot's own check ticks the step with its evidence.
        switch_world(bot, ROLLED_BACK)
        bot.click(ActionId.CHECK, "verify", user=ONCALL)
        verify = bot.wait_step("verify", "Verified by jobbot")
        assert verify.startswith(":white_check_mark:")
        assert f"runs `{TARGET}`" in verify and "4 executions on" in verify and "down from 1520" in verify

        # +5 min after the rollback the bot re-checks and says so in the thread.
        bot.world.clock.advance(timedelta(minutes=5.5))
        recheck = bot.wait(lambda: next((m for m in bot.thread() if "Re-check +5 min" in m["text"]), None))
        said = json.dumps(recheck["blocks"], ensure_ascii=False)
        assert "after the rollback: recovered" in said and f"runs `{TARGET}`" in said

        # Skip with a reason, through the modal; an empty reason is refused inside the modal.
        bot.click(ActionId.SKIP, "registry", user=ONCALL, trigger_id="9.9.9")
        opened = bot.wait(lambda: bot.slack.ok_calls_to("views.open") or None)[-1]
        assert opened.args["trigger_id"] == "9.9.9"
        view = opened.args["view"]
        assert (json.loads(view) if isinstance(view, str) else view)["private_metadata"] == f"{bot.checklist}/registry"
        refused = bot.submit_skip("registry", "  ")
        assert refused.json()["response_action"] == "errors"
        assert bot.submit_skip("registry", "tag pinned by digest in the release notes").status_code == 200
        bot.wait_step("registry", "Skipped by <@U0ONCALL>", "tag pinned by digest")

        # `/jobbot checklist JOB` shows the open checklist (and rebuilds the message from the store).
        bot.command("checklist orders-processor", token="show")
        shown_again = bot.wait(lambda: bot.slack.responses_to("show") or None)[-1]
        assert shown_again["response_type"] == "ephemeral"
        assert "The open rollback checklist" in json.dumps(shown_again["blocks"], ensure_ascii=False)
        assert f"`{TARGET}`" in json.dumps(shown_again["blocks"], ensure_ascii=False)

        # Closing too early is refused with the open steps named.
        bot.click(ActionId.CLOSE, "close", user=ONCALL)
        assert "steps are still open" in bot.ephemeral_to(ONCALL, "Not closed")["text"]

        for step, user in (("intake", OWNER), ("persist", ONCALL), ("notify", ONCALL)):
            bot.click(ActionId.DONE, step, user=user)
            bot.wait_step(step, "Done by")
        bot.click(ActionId.CLOSE, "close", user=ONCALL)
        timeline = bot.wait(lambda: next((m for m in bot.thread() if "Timeline" in m["text"]), None))
        trail = json.dumps(timeline["blocks"], ensure_ascii=False)
        assert "| Time | Who | What |" in trail and "marked “Apply the rollback” done" in trail
        assert "skipped “Check the target image still exists”: tag pinned by digest" in trail
        assert "re-checked +5 min: recovered" in trail
        closed = bot.wait(lambda: bot.message() if "(closed)" in bot.message()["text"] + str(bot.message()["blocks"])
                          else None)
        assert not [b for b in closed["blocks"] if b["type"] == "actions"], "a closed checklist has no buttons"

        # Every click changed the one message in place: one top-level post, the rest are updates or replies.
        tops = [c for c in bot.slack.ok_calls_to("chat.postMessage") if not c.args.get("thread_ts")]
        assert len(tops) == 1
        assert all(c.args["ts"] == bot.ts for c in bot.slack.ok_calls_to("chat.update"))
        assert len(bot.slack.history(CHANNEL, bot.ts)) > 10
        sent = json.dumps([c.args for c in bot.slack.calls], ensure_ascii=False)
        assert PLAIN_SECRET not in sent and TOKEN not in sent

        bot.command("checklist orders-processor", token="after")
        assert "No rollback checklist is open" in bot.wait(lambda: bot.slack.responses_to("after") or None)[-1]["text"]
        assert_only_reads_reached_azure(bot)


def test_ten_concurrent_clicks_on_one_checklist_are_all_recorded_and_shown(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        bot.command("rollback orders-processor")
        bot.started()
        steps = ["lead", "registry", "intake", "apply", "persist", "notify"]
        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            clicks = [pool.submit(bot.click, ActionId.DONE, step, user=OWNER) for step in steps]
            clicks.append(pool.submit(bot.click, ActionId.CHECK, "verify", user=OWNER))
            assert all(c.result().status_code == 200 for c in clicks)

        def all_shown() -> bool:
            done = all("Done by <@U0OWNER>" in bot.step(s) for s in steps)
            return done and "Last check" in bot.step("verify")

        bot.wait(lambda: all_shown() or None, timeout=40)
        assert "*Progress:* 6 of 8 steps done or skipped · 3 done by jobbot" in bot.step("summary")
        assert not [e for e in bot.slack.ephemerals if e["user"] == OWNER], "no click was refused or lost"
        assert_only_reads_reached_azure(bot)


def test_a_restart_loses_nothing_the_message_is_rebuilt_from_the_store(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    with running_bot(tmp_path, db) as before:
        before.command("rollback orders-processor")
        before.started()
        before.click(ActionId.DONE, "lead", user=ONCALL)
        before.click(ActionId.DONE, "apply", user=OWNER)
        before.wait_step("apply", "Done by <@U0OWNER>")
        before.wait_step("lead", "Done by <@U0ONCALL>")
        last = before.message()["blocks"]
        ts, checklist = before.ts, before.checklist

    with running_bot(tmp_path, db) as after:  # a new process: nothing in memory, the same store
        after.slack.add_channel(CHANNEL, "incident")
        # Slack moved on meanwhile (a message elsewhere): the re-posted message gets a ts unlike the old one's.
        WebClient(token=TOKEN, base_url=after.slack.api_url).chat_postMessage(channel="C0ELSEWHERE", text="hello")
        # The old message is not in this fake Slack: `checklist` re-posts it from the store alone.
        after.command("checklist orders-processor", token="rebuild")
        rebuilt = after.wait(after.checklist_message)
        after.ts, after.checklist = rebuilt["ts"], checklist
        assert rebuilt["blocks"] == last, "the same state renders the same message"
        # The old message's ts is replaced by the new one in the store: later clicks update the new message.
        assert rebuilt["ts"] != ts
        def replaced() -> Checklist | None:  # written once Slack has answered the post
            saved = asyncio.run(stored_checklist(db, checklist))
            return saved if saved.ts == rebuilt["ts"] else None

        assert after.slack.wait_for_sync(replaced, timeout=25, interval=0.1).channel == CHANNEL
        # Buttons carry ids only, so the re-posted message keeps working.
        after.click(ActionId.DONE, "persist", user=ONCALL)
        after.wait_step("persist", "Done by <@U0ONCALL>")
        assert "Done by <@U0OWNER>" in after.step("apply")


def test_a_triage_report_offers_the_checklist_and_its_button_starts_one(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        bot.command("triage orders-processor")

        def report() -> dict[str, Any] | None:
            return next((c.args for c in bot.slack.ok_calls_to("chat.update") if "oom" in str(c.args.get("text"))),
                        None)

        blocks = bot.wait(report)["blocks"]
        button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"]
                      if e["action_id"] == ActionId.START.value)
        assert button["text"]["text"] == "Start rollback checklist"
        assert button["value"].endswith("/providers/Microsoft.App/jobs/orders-processor"), "the value is an id"
        bot.post(block_actions_body(ActionId.START.value, button["value"], user_id=ONCALL, channel_id=CHANNEL,
                                    message_ts="1700000000.000100", response_url=bot.slack.response_url("start")))
        assert f"`{TARGET}`" in json.dumps(bot.started()["blocks"], ensure_ascii=False)
        # A second start is refused: one open checklist per job.
        bot.command("rollback orders-processor", token="again")
        again = bot.wait(lambda: bot.slack.responses_to("again") or None)[-1]
        assert "already open" in again["text"]


# --- a configuration-only change: the revert, end to end ------------------------------------------------

TIMEOUT_CUT = ROOT / "scenarios" / "change-replica-timeout-cut.yaml"
REVERT = ("az containerapp job update --name ledger-close --resource-group rg-ledger --replica-timeout 1800")


def load_world(bot: Bot, world: dict[str, Any]) -> None:
    """Swap the emulator's world (its control endpoint): what Azure looks like after a person acted."""
    emulator = bot.world.emulator
    answer = httpx.post(f"{emulator.url}/_emulator/scenario", json=world, trust_env=False, timeout=30,
                        verify=ssl.create_default_context(cafile=emulator.ca_file))
    assert answer.status_code == 200, answer.text


def timeout_reverted(replica_timeout: int) -> dict[str, Any]:
    """The ledger-close world after the revert window: one execution started after it and succeeded, and the
    job's replicaTimeout as given (1800 once a person ran the command)."""
    world = yaml.safe_load(TIMEOUT_CUT.read_text())
    job = world["jobs"][0]
    job["properties"]["configuration"]["replicaTimeout"] = replica_timeout
    job["executions"].insert(0, {
        "name": "ledger-close-after", "id": f"{job['id']}/executions/ledger-close-after",
        "type": "Microsoft.App/jobs/executions",
        "properties": {"status": "Succeeded", "startTime": "2026-12-16T06:15:00Z", "endTime": "2026-12-16T06:22:12Z",
                       "template": {"containers": job["properties"]["template"]["containers"]}}})
    return world


def test_a_configuration_change_is_reverted_by_a_person_and_verified_by_the_bot(tmp_path: Path) -> None:
    with running_bot(tmp_path, scenario=TIMEOUT_CUT) as bot:
        bot.command("rollback ledger-close")
        posted = bot.started()
        assert check_blocks(posted["blocks"]) == []
        assert "*Revert:* replicaTimeout 1800 → 240" in bot.step("summary") and "the image stays" in bot.step("summary")
        # What jobbot did is done, by jobbot, with its evidence, and has no button; the decision is step 1.
        assert bot.step("cause").startswith(":white_check_mark: *jobbot* — cause: timeout, high confidence")
        assert bot.step("evidence").startswith(":white_check_mark: *jobbot* — saved the current definition")
        with_buttons = {b["block_id"] for b in posted["blocks"] if b["type"] == "actions"}
        assert not {"checklist.evidence.actions", "checklist.cause.actions", "checklist.target.actions"} & with_buttons
        assert bot.step("lead").startswith(":white_large_square: *1. Go / no-go")
        assert bot.step("apply").startswith(":white_large_square: *3. Revert the change*")
        assert REVERT in bot.step("apply")

        # A forged click cannot reopen what the bot did.
        bot.click(ActionId.UNDO, "cause", user=OWNER)
        assert "cannot be undone" in bot.ephemeral_to(OWNER, "done by jobbot itself")["text"]

        bot.click(ActionId.DONE, "lead", user=ONCALL)
        bot.wait_step("lead", "Done by <@U0ONCALL>")
        bot.click(ActionId.DONE, "apply", user=OWNER)
        bot.wait_step("apply", "Done by <@U0OWNER>")

        # Executions succeed again but the job still has 240 s: the bot does not tick the step, and says why.
        load_world(bot, timeout_reverted(240))
        bot.click(ActionId.CHECK, "verify", user=ONCALL)
        verify = bot.wait_step("verify", "not yet")
        assert "`configuration.replicaTimeout` is `240`, not `1800`" in verify

        # A person ran the command: the job holds 1800 again, and the bot's own check ticks the step.
        load_world(bot, timeout_reverted(1800))
        bot.click(ActionId.CHECK, "verify", user=ONCALL)
        verify = bot.wait_step("verify", "Verified by jobbot")
        assert "`configuration.replicaTimeout` is `1800`" in verify and "1 executions since" in verify
        assert_only_reads_reached_azure(bot)
