"""Every `/jobbot` command end to end: a signed request over real HTTP to a running `serve` app on the image-change
incident (the local Azure emulator), and the answer read back from the fake Slack as the user would see it.

The figures asserted come from the scenario file itself (executions, exit codes, queue depth, the change), so a
command that answered from the wrong check, the wrong window or the wrong job fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.checklists.actions import ActionId
from bot.config import parse_config
from bot.server import create_app
from bot.settings import Settings
from bot.slack.commands import USAGE, Verb
from bot.slack.limits import check_blocks
from tests.support.served import served
from tests.support.slack_bot import SlackBot
from tests.support.slack_fake import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
OOM = ROOT / "scenarios" / "oom-after-image-change.yaml"
SECRET = "0cc175b9c0f1b6a831c399e269772661"
TOKEN = "xoxb-1111-2222-entrypoints"
JOB = "orders-processor"
OWNER, ONCALL = "U0OWNER", "U0ONCALL"
CONFIG = {
    "azure": {"check_deadline_s": 20},
    "slack": {"user_groups": {"team-orders": "S0OWNERS", "orders-oncall": "S0ONCALL"}},
}
USERGROUPS = {"S0OWNERS": [OWNER], "S0ONCALL": [ONCALL]}


def _world() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(OOM.read_text())
    return loaded


WORLD = _world()
NOW = datetime.fromisoformat(WORLD["now"])
ORDERS = next(j for j in WORLD["jobs"] if j["name"] == JOB)
# The default window is the last hour.
IN_WINDOW = [e for e in ORDERS["executions"]
             if datetime.fromisoformat(e["properties"]["startTime"]) >= NOW - timedelta(hours=1)]
FAILED = [e for e in IN_WINDOW if e["properties"]["status"] == "Failed"]
LAST_SUCCESS = max(e["properties"]["endTime"] for e in IN_WINDOW if e["properties"]["status"] == "Succeeded")
QUEUE = next(q for q in WORLD["queues"] if q["type"] == "azure-queue")
MAX_EXECUTIONS = ORDERS["properties"]["configuration"]["eventTriggerConfig"]["scale"]["maxExecutions"]
GOOD, BAD = WORLD["expect"]["rollback_image"], "contoso.azurecr.io/orders:1.5.0"


def test_the_scenario_says_what_the_tests_below_expect() -> None:
    """The figures this file asserts, read from the scenario (so a scenario edit shows up here first)."""
    assert (len(IN_WINDOW), len(FAILED)) == (14, 12)
    assert QUEUE["depth"] == 1520 and MAX_EXECUTIONS == 10
    assert LAST_SUCCESS == "2026-11-28T09:04:18Z"


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackBot]:
    tmp = tmp_path_factory.mktemp("entrypoints")
    with FakeSlack.in_thread(usergroups=USERGROUPS) as slack:
        settings = Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=slack.api_url,
                            scenario=OOM, database_url=f"sqlite:///{tmp / 'jobbot.db'}")
        with served(create_app(settings, parse_config(CONFIG))) as url:
            yield SlackBot(url, slack, SECRET)


def checking(response: Any) -> None:
    """The ack every slow command gets at once: ephemeral, naming the job."""
    assert response.status_code == 200
    assert response.json() == {"text": f":mag: Checking *{JOB}* …", "response_type": "ephemeral"}


def report_text(args: dict[str, Any]) -> str:
    assert check_blocks(args["blocks"]) == [], "Slack would refuse these blocks"
    assert args["channel"] == "C0INC"
    return json.dumps(args["blocks"], ensure_ascii=False)


# --- the checks, one command each ----------------------------------------------------------------------


def test_triage_posts_the_full_report_with_verdict_change_and_rollback_image(bot: SlackBot) -> None:
    checking(bot.command(f"triage {JOB}", token="triage"))
    shown = report_text(bot.update_with("jobbot.verdict"))
    assert JOB in shown and "oom" in shown
    assert f"{len(FAILED)} of {len(IN_WINDOW)} executions" in shown
    assert GOOD in shown and BAD in shown and "deployer@contoso.com" in shown


def test_failures_lists_the_failed_executions_of_the_window(bot: SlackBot) -> None:
    checking(bot.command(f"failures {JOB}", token="failures"))
    shown = report_text(bot.update_with("*failures* —"))
    assert f"{len(FAILED)} of {len(IN_WINDOW)} executions in the window failed" in shown
    assert f"last success {LAST_SUCCESS}" in shown
    for execution in FAILED[:5]:
        assert f"`{execution['name']}` Failed start {execution['properties']['startTime']} exit 137" in shown


def test_retries_says_nothing_is_retried_with_replica_retry_limit_zero(bot: SlackBot) -> None:
    checking(bot.command(f"retries {JOB}", token="retries"))
    shown = report_text(bot.update_with("*retries* —"))
    assert ORDERS["properties"]["configuration"]["replicaRetryLimit"] == 0
    assert f"{len(FAILED)} executions failed on their first attempt: replicaRetryLimit is 0" in shown


def test_exitcodes_counts_each_code_and_explains_it(bot: SlackBot) -> None:
    checking(bot.command(f"exitcodes {JOB}", token="exitcodes"))
    shown = report_text(bot.update_with("*exit_codes* —"))
    assert f"`137` × {len(FAILED)} executions — killed (SIGKILL): usually the memory limit" in shown
    assert f"`0` × {len(IN_WINDOW) - len(FAILED)} executions — success" in shown


def test_queue_compares_the_depth_with_the_scale_target(bot: SlackBot) -> None:
    checking(bot.command(f"queue {JOB}", token="queue"))
    shown = report_text(bot.update_with("*queue_depth* —"))
    assert (f"{QUEUE['depth']} messages in {QUEUE['account']}/{QUEUE['name']} (scale target 5 per execution, "
            f"maxExecutions {MAX_EXECUTIONS}, 0 running)") in shown


def test_changes_names_who_changed_the_image_and_when(bot: SlackBot) -> None:
    checking(bot.command(f"changes {JOB}", token="changes"))
    shown = report_text(bot.update_with("*config_changes* —"))
    assert f"by deployer@contoso.com: image {GOOD} → {BAD}" in shown
    assert "2026-11-28T09:02:07Z MICROSOFT.APP/JOBS/WRITE by deployer@contoso.com" in shown


def test_runbook_posts_the_runbook_for_the_verdict_with_the_rollback_image(bot: SlackBot) -> None:
    checking(bot.command(f"runbook {JOB}", token="runbook"))
    posted = bot.post_with(f"runbook for *{JOB}*")
    assert posted["channel"] == "C0INC" and check_blocks(posted["blocks"]) == []
    text = posted["text"]
    assert "(verdict `oom`)" in text and "Executions are killed at the memory limit (exit 137)" in text
    assert f"Roll back to the last good image `{GOOD}`" in text
    assert f"az containerapp job show --name {JOB} --resource-group rg-orders" in text


def test_owners_answers_privately_with_the_primary_and_the_escalation(bot: SlackBot) -> None:
    checking(bot.command(f"owners {JOB}", token="owners"))
    answer = bot.answer("owners")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith(f"*{JOB}* — primary: ")
    assert "<!subteam^S0ONCALL>" in answer["text"] and "escalation: <!subteam^S0OWNERS>" in answer["text"]


def test_jobs_lists_every_job_in_the_subscription_with_its_trigger_and_state(bot: SlackBot) -> None:
    response = bot.command("jobs", token="jobs")
    assert response.json()["text"] == ":mag: Checking the jobs …"
    answer = bot.answer("jobs")
    assert answer["response_type"] == "ephemeral"
    names = sorted(j["name"] for j in WORLD["jobs"])
    assert answer["text"].splitlines()[0] == f"{len(names)} jobs:"
    assert [line.split("*")[1] for line in answer["text"].splitlines()[1:]] == names
    assert f"• *{JOB}* (rg-orders) — Event trigger, Ready" in answer["text"]


def test_help_lists_every_command_with_its_usage(bot: SlackBot) -> None:
    response = bot.command("help", token="help")
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    for verb in Verb:
        assert f"`/jobbot {USAGE[verb]}`" in answer["text"], verb
    assert "`since` is like 30m, 2h or 1d" in answer["text"]
    assert bot.command("", token="empty").json()["text"] == answer["text"], "no words: the same help"


def test_a_command_without_its_job_gets_its_usage(bot: SlackBot) -> None:
    answer = bot.command("queue", token="nojob").json()
    assert answer == {"text": "Which job? Usage: `/jobbot queue JOB`", "response_type": "ephemeral"}


# --- rollback, checklist and the Undo button -----------------------------------------------------------


def test_rollback_opens_a_checklist_that_checklist_shows_and_undo_reopens_a_step(tmp_path: Path) -> None:
    with FakeSlack.in_thread(usergroups=USERGROUPS) as slack:
        settings = Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=slack.api_url,
                            scenario=OOM, database_url=f"sqlite:///{tmp_path / 'jobbot.db'}")
        with served(create_app(settings, parse_config(CONFIG))) as url:
            bot = SlackBot(url, slack, SECRET)
            bot.command(f"checklist {JOB}", token="before")
            assert "No rollback checklist is open" in bot.answer("before")["text"]

            checking(bot.command(f"rollback {JOB}", token="rollback"))
            message = bot.post_with("Rollback checklist")
            ts = bot.wait(lambda: next((c.response["ts"] for c in slack.ok_calls_to("chat.postMessage")
                                        if c.args is message), None))
            shown = json.dumps(message["blocks"], ensure_ascii=False)
            assert f"*Target:* `{GOOD}`" in shown and f"today `{BAD}`" in shown
            # Ready once its evidence snapshot is in the thread. (`checklist` typed in the instant between the
            # post and jobbot storing its ts posts the message a second time: seen with --randomly-seed=303.)
            snapshot = bot.wait(lambda: slack.thread("C0INC", ts) or None)
            assert f"Snapshot of {JOB}" in json.dumps(snapshot, ensure_ascii=False)

            bot.command(f"checklist {JOB}", token="open")
            opened = bot.answer("open")
            assert opened["response_type"] == "ephemeral"
            assert f"`{GOOD}`" in json.dumps(opened["blocks"], ensure_ascii=False)

            def lead_step() -> dict[str, Any]:
                blocks = slack.message("C0INC", ts)["blocks"]
                return next(b for b in blocks if b.get("block_id") == "checklist.lead")

            def buttons() -> dict[str, str]:
                blocks = slack.message("C0INC", ts)["blocks"]
                return {e["value"].split("/")[1] + ":" + e["action_id"]: e["text"]["text"]
                        for b in blocks if b["type"] == "actions" for e in b["elements"]}

            checklist = next(v.split("/")[0] for b in message["blocks"] if b["type"] == "actions"
                             for v in (e["value"] for e in b["elements"]))
            assert f"lead:{ActionId.DONE}" in buttons() and f"lead:{ActionId.UNDO}" not in buttons()

            assert bot.click(ActionId.DONE, f"{checklist}/lead", message_ts=ts).status_code == 200
            bot.wait(lambda: "Done by <@U0ONCALL>" in lead_step()["text"]["text"] or None)
            assert f"lead:{ActionId.UNDO}" in buttons(), "a done step offers Undo"
            assert "*Lead:* <@U0ONCALL>" in json.dumps(slack.message("C0INC", ts)["blocks"])

            assert bot.click(ActionId.UNDO, f"{checklist}/lead", message_ts=ts).status_code == 200
            bot.wait(lambda: "Done by" not in lead_step()["text"]["text"] or None)
            assert lead_step()["text"]["text"].startswith(":white_large_square:")
            assert buttons()[f"lead:{ActionId.DONE}"] == "Go — I'll lead" and f"lead:{ActionId.UNDO}" not in buttons()
            assert "*Lead:* _nobody yet_" in json.dumps(slack.message("C0INC", ts)["blocks"])
            # A second Undo on the reopened step is refused privately, and changes nothing.
            bot.click(ActionId.UNDO, f"{checklist}/lead", message_ts=ts)
            told = bot.wait(lambda: [e for e in slack.ephemerals if "nothing to undo" in e["text"]])
            assert told[0]["user"] == ONCALL
