"""`/jobbot doctor` through signed HTTP: admins (access.commands.doctor) get the checks privately; nobody else
gets anything but how to be allowed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import parse_config
from bot.server import create_app
from bot.settings import Settings
from tests.support.served import served
from tests.support.slack_bot import SlackBot
from tests.support.slack_fake import FakeSlack

ROOT = Path(__file__).resolve().parents[1]
OOM = ROOT / "scenarios" / "oom-after-image-change.yaml"
SECRET = "8b1a9953c4611296a827abf8c47804d7"
ADMIN, ONCALL = "U0ADMIN", "U0ONCALL"


def bot_for(tmp: Path, slack: FakeSlack, access: dict[str, Any] | None) -> Any:
    settings = Settings(slack_bot_token="xoxb-doctor-slack", slack_signing_secret=SECRET, slack_api_url=slack.api_url,
                        scenario=OOM, database_url=f"sqlite:///{tmp / 'jobbot.db'}", alert_channel="C0INC")
    config = {"azure": {"check_deadline_s": 20}, **({"access": access} if access else {})}
    return served(create_app(settings, parse_config(config)))


@pytest.fixture(scope="module")
def admin_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackBot]:
    tmp = tmp_path_factory.mktemp("doctor-slack")
    with FakeSlack.in_thread() as slack, bot_for(tmp, slack, {"commands": {"doctor": {"users": [ADMIN]}}}) as url:
        yield SlackBot(url, slack, SECRET)


def test_an_admin_gets_every_check_privately(admin_bot: SlackBot) -> None:
    admin_bot.command("doctor", user=ADMIN, token="admin")
    answer = admin_bot.answer("admin", timeout=60)
    assert answer["response_type"] == "ephemeral"
    text = answer["text"]
    assert text.startswith("*jobbot doctor* — :white_check_mark: all checks passed")
    for line in ("slack    bot token: valid", "slack    scopes: all 8 granted", "alert channel #incident",
                 "orders-processor: executions", "ContainerAppConsoleLogs_CL", "database schema: at",
                 "clock    skew against Azure"):
        assert line in text, line


def test_someone_not_allowed_is_refused_by_the_access_rules(admin_bot: SlackBot) -> None:
    response = admin_bot.command("doctor", user=ONCALL, token="oncall")
    assert response.status_code == 200
    assert "doctor" in response.json()["text"] and "jobbot doctor —" not in response.json()["text"]


def test_with_no_rule_for_doctor_nobody_gets_it_and_is_told_how(tmp_path: Path) -> None:
    with FakeSlack.in_thread() as slack, bot_for(tmp_path, slack, None) as url:
        bot = SlackBot(url, slack, SECRET)
        bot.command("doctor", user=ADMIN, token="none")
        answer = bot.answer("none", timeout=60)
    assert answer["response_type"] == "ephemeral"
    assert "access.commands.doctor" in answer["text"] and "jobbot doctor —" not in answer["text"]
