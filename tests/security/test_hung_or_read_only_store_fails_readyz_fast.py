"""Attack (a bad day): the database hangs (another process holds its write lock, as a black-holed server
would hold a connection) or turns read-only. /readyz used to wait out the 30 s busy timeout on the default
thread pool, and ran only `SELECT 1`, so a read-only store looked ready. /readyz must fail within 2 s, say
so for a read-only store, and triages and Slack acks must go on meanwhile."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import parse_config
from bot.server import create_app
from bot.settings import Settings
from bot.store import Store
from tests.support.served import served
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import sign, slash_command_body

ROOT = Path(__file__).resolve().parents[2]
OOM = ROOT / "scenarios" / "oom-after-image-change.yaml"
SECRET = "8f14e45fceea167a5a36dedd4bea2543"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def _serve(url: str, slack: FakeSlack) -> Iterator[httpx.Client]:
    settings = Settings(slack_bot_token="xoxb-1111-2222-jobbottesttoken", slack_signing_secret=SECRET,
                        slack_api_url=slack.api_url, scenario=OOM, database_url=url)
    with served(create_app(settings, parse_config({"azure": {"check_deadline_s": 20}}))) as base:
        yield httpx.Client(base_url=base, timeout=30, trust_env=False)


def test_a_hung_store_fails_readyz_within_2_s_and_triages_go_on(tmp_path: Path) -> None:
    path = tmp_path / "jobbot.db"
    with FakeSlack.in_thread() as slack:
        for http in _serve(f"sqlite:///{path}", slack):
            assert http.get("/readyz").status_code == 200
            blocker = sqlite3.connect(path, timeout=1, isolation_level=None, check_same_thread=False)
            blocker.execute("BEGIN EXCLUSIVE")  # the database stops answering writers
            try:
                for _ in range(3):  # repeated probes neither pile up nor take longer
                    started = time.monotonic()
                    ready = http.get("/readyz")
                    assert ready.status_code == 503 and time.monotonic() - started < 2
                body = slash_command_body("triage orders-processor", response_url=slack.response_url("t"))
                started = time.monotonic()
                ack = http.post("/slack/events", content=body,
                                headers={**sign(SECRET, body), "Content-Type": "application/x-www-form-urlencoded"})
                assert ack.status_code == 200 and "Checking" in ack.text and time.monotonic() - started < 3
                report = slack.wait_for_sync(lambda: [c for c in slack.calls_to("chat.update")
                                                      if "oom" in str(c.args.get("text", ""))], timeout=25)
                assert report, "the triage reached the channel while the store hung"
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            deadline = time.monotonic() + 10
            while http.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "ready again once the store answers"
                time.sleep(0.2)


def test_a_read_only_store_is_not_ready(tmp_path: Path) -> None:
    path = tmp_path / "jobbot.db"
    Store.open(f"sqlite:///{path}").close()  # the schema exists; now serve the same file read-only
    with FakeSlack.in_thread() as slack:
        for http in _serve(f"sqlite:///file:{path}?mode=ro&uri=true", slack):
            ready = http.get("/readyz")
            assert ready.status_code == 503, ready.text
