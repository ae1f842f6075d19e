"""`jobbot serve` end to end: signed requests over real HTTP, a fake Slack Web API, the local emulator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import parse_config
from bot.errors import InvalidRequest
from bot.server import create_app
from bot.settings import Settings
from bot.slack.commands import Verb, help_text, parse_command
from bot.slack.limits import check_blocks
from bot.store import AuditEntry
from tests.support.db import audit_trail
from tests.support.logs import LogLines, captured_logs
from tests.support.served import Served, serving
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import sign, slash_command_body

ROOT = Path(__file__).resolve().parent.parent
OOM = ROOT / "scenarios" / "oom-after-image-change.yaml"
SECRET = "8f14e45fceea167a5a36dedd4bea2543"
TOKEN = "xoxb-1111-2222-jobbottesttoken"


LEAKY_VALUES = ("Sup3r-Secret-Db-Passw0rd!",
                "DefaultEndpointsProtocol=https;AccountName=stordersprod;AccountKey=c2VjcmV0a2V5c2VjcmV0a2V5PT0=")


def leaky_scenario(tmp: Path) -> Path:
    """The oom world where someone put secret values in plain env vars, as happens: none may reach Slack."""
    world = yaml.safe_load(OOM.read_text())
    extra = [{"name": "DB_PASSWORD", "value": LEAKY_VALUES[0]}, {"name": "STORAGE", "value": LEAKY_VALUES[1]}]
    for job in world["jobs"]:
        for container in job["properties"]["template"]["containers"]:
            container.setdefault("env", []).extend(extra)
        for execution in job.get("executions", []):
            for container in execution["properties"].get("template", {}).get("containers", []):
                container.setdefault("env", []).extend(extra)
    path = tmp / "leaky.yaml"
    path.write_text(yaml.safe_dump(world, sort_keys=False))
    return path


def payload_scenario(tmp: Path) -> Path:
    """The oom world with its job renamed payload-worker (Bolt 1.30 misparses bodies containing 'payload')."""
    path = tmp / "payload-worker.yaml"
    path.write_text(OOM.read_text().replace("orders-processor", "payload-worker"))
    return path


class Bot:
    def __init__(self, app: Served, slack: FakeSlack, db: str, logs: LogLines | None = None) -> None:
        self.app, self.url, self.slack, self.db = app, app.url, slack, db
        self.logs = logs or LogLines()
        self.http = httpx.Client(base_url=app.url, timeout=10, trust_env=False)

    def command(self, text: str, *, secret: str = SECRET, user: str = "U0ONCALL", channel: str = "C0INC",
                channel_name: str = "incident", token: str = "t1", age_s: int = 0) -> httpx.Response:
        body = slash_command_body(text, user_id=user, channel_id=channel, channel_name=channel_name,
                                  response_url=self.slack.response_url(token))
        headers = {**sign(secret, body, int(time.time()) - age_s),
                   "Content-Type": "application/x-www-form-urlencoded"}
        return self.http.post("/slack/events", content=body, headers=headers)

    def final_report(self, needle: str, timeout: float = 20) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for call in self.slack.calls_to("chat.update"):
                if call.ok and needle in str(call.args.get("text", "")):
                    return call.args
            return None

        result: dict[str, Any] = self.slack.wait_for_sync(found, timeout=timeout)
        return result


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    tmp = tmp_path_factory.mktemp("serve")
    db = f"sqlite:///{tmp / 'jobbot.db'}"
    config = parse_config({
        "azure": {"check_deadline_s": 20},
        "access": {"commands": {"changes": {"user_groups": ["S0OWNERS"]}}},
    })
    with FakeSlack.in_thread(usergroups={"S0OWNERS": ["U0LEAD"]}) as slack, captured_logs(skip=()) as logs:
        settings_ = Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=slack.api_url,
                             scenario=leaky_scenario(tmp), database_url=db)
        with serving(create_app(settings_, config)) as app:
            yield Bot(app, slack, db, logs)


def test_healthz_and_readyz(bot: Bot) -> None:
    assert bot.http.get("/healthz").status_code == 200
    ready = bot.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_triage_is_acked_at_once_and_the_report_lands_in_the_channel(bot: Bot) -> None:
    response = bot.command("triage orders-processor")
    assert response.status_code == 200  # the ack; its speed: bench/slack_ack.py
    assert "Checking" in response.text
    report = bot.final_report("oom")
    assert report["channel"] == "C0INC"
    assert check_blocks(report["blocks"]) == []
    rendered = str(report["blocks"])
    assert "orders-processor" in rendered and "oom" in rendered
    assert "contoso.azurecr.io/orders:1.4.2" in rendered
    assert "deployer@contoso.com" in rendered
    posts = [c for c in bot.slack.calls_to("chat.postMessage") if c.ok and c.args.get("channel") == "C0INC"]
    assert posts, "the progress message was posted in the channel first"


def test_once_the_app_is_quiet_a_commands_report_is_in_the_channel(bot: Bot) -> None:
    """The idle signal the tests below rely on: it waits for a command's background work, not just its ack."""
    bot.command("exitcodes orders-processor", token="quiet")
    bot.app.quiet()
    assert [c for c in bot.slack.ok_calls_to("chat.update") if "Exit code 137 in 12 executions" in c.args["text"]]


def test_a_bad_or_stale_signature_gets_401_and_triggers_nothing(bot: Bot) -> None:
    bot.app.quiet()  # what earlier tests started has finished
    before, audited = len(bot.slack.calls), len(audit_trail(bot.db))
    assert bot.command("triage orders-processor", secret="not-the-secret").status_code == 401
    assert bot.command("triage orders-processor", age_s=600).status_code == 401
    bot.app.quiet()  # whatever the refused requests could have started has finished too
    assert len(bot.slack.calls) == before and len(audit_trail(bot.db)) == audited


def test_a_typo_gets_ephemeral_help_with_the_closest_command(bot: Bot) -> None:
    response = bot.command("traige orders-processor")
    assert response.status_code == 200
    assert "Did you mean `/jobbot triage`" in response.text


def test_an_unknown_job_gets_not_found_with_suggestions(bot: Bot) -> None:
    assert bot.command("triage orders-procesor", token="nf").status_code == 200
    answer = bot.slack.wait_for_sync(lambda: bot.slack.responses_to("nf"), timeout=15)[-1]
    assert "was not found" in answer["text"] and "orders-processor" in answer["text"]
    assert answer["response_type"] == "ephemeral"


def test_a_refused_command_says_why_and_runs_nothing(bot: Bot) -> None:
    response = bot.command("changes orders-processor", user="U0STRANGER")
    assert response.status_code == 200
    assert "limited to" in response.text


def test_an_allowed_group_member_may_run_the_restricted_command(bot: Bot) -> None:
    response = bot.command("changes orders-processor", user="U0LEAD", token="lead")
    assert "Checking" in response.text
    answer = bot.final_report("deployer@contoso.com")
    assert "orders:1.4.2" in str(answer["blocks"]) and "orders:1.5.0" in str(answer["blocks"])


def test_every_command_is_in_the_audit_trail_without_secrets(bot: Bot) -> None:
    assert "limited to" in bot.command("changes orders-processor", user="U0AUDITED").text
    assert bot.command("help", user="U0AUDITED").status_code == 200

    def audited() -> list[AuditEntry] | None:  # written just after the ack: wait for both rows
        entries = [e for e in audit_trail(bot.db) if e.actor == "U0AUDITED"]
        return entries if len(entries) == 2 else None

    entries = bot.slack.wait_for_sync(audited, timeout=15)
    assert {(e.action, e.target, e.outcome, e.channel) for e in entries} == {
        ("command:help", None, "ok", "C0INC"), ("command:changes", "orders-processor", "refused", "C0INC")}
    dump = repr(audit_trail(bot.db))
    assert SECRET not in dump and TOKEN not in dump


def test_no_secret_value_from_the_scenario_reaches_slack(bot: Bot) -> None:
    bot.command("triage orders-processor", token="secrets")
    bot.final_report("oom")
    sent = repr([c.args for c in bot.slack.calls]) + repr(bot.slack.responses)
    assert all(value not in sent for value in LEAKY_VALUES)
    logged = "\n".join(bot.logs.lines)
    assert logged, "the app logged something"
    assert all(value not in logged for value in (*LEAKY_VALUES, SECRET, TOKEN))
    assert TOKEN not in sent and SECRET not in sent


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=120))
def test_any_command_text_gets_the_answer_its_parse_promises_privately(bot: Bot, text: str) -> None:
    """Whatever is typed after /jobbot: a 200 whose private answer is the usage help the parser gives for it
    (or the ack of a command that parses), never a server error nor an empty or public answer."""
    text = text.replace("\x00", "")
    response = bot.command(text, token="fuzz")
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    try:
        parsed = parse_command(text, "/jobbot")
    except InvalidRequest as error:
        assert answer["text"] == str(error) and answer["text"].strip()
        return
    if parsed.verb is Verb.HELP:
        assert answer["text"] == help_text("/jobbot")
    elif parsed.verb is Verb.CHANGES:  # limited to S0OWNERS in this app's config
        assert answer["text"].startswith(":no_entry:")
    else:
        assert answer["text"].startswith(":mag: Checking ")


def test_slack_rate_limit_is_waited_out_and_the_post_lands_once(tmp_path: Path) -> None:
    path = payload_scenario(tmp_path)
    with FakeSlack.in_thread() as slack:
        slack.fail_next("chat.postMessage", status=429, retry_after=1, times=1)
        settings_ = Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=slack.api_url,
                             scenario=path, database_url=f"sqlite:///{tmp_path / 'j.db'}")
        config = parse_config({"azure": {"check_deadline_s": 20}})
        with serving(create_app(replace(settings_), config)) as app:
            local = Bot(app, slack, settings_.database_url)
            # The Bolt 1.30 bug: a body mentioning "payload" (job and channel name here) must still work.
            response = local.command("triage payload-worker", channel="C0PAY", channel_name="payload-incidents")
            assert response.status_code == 200 and "Checking" in response.text
            local.final_report("oom")
            posted = [c for c in slack.calls_to("chat.postMessage") if c.ok]
            limited = [c for c in slack.calls_to("chat.postMessage") if c.status == 429]
    assert len(limited) == 1
    assert len(posted) == 1
