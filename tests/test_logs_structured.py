"""Structured logs: JSON lines with the request id of the HTTP request (or slash command) they belong to."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Config
from bot.server import create_app
from bot.settings import Settings
from bot.telemetry.logs import RequestIdFilter, formatter, install, log_format, request_id_from
from tests.support.served import serving

TOKEN = "alert-token-logs-7f"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every log record of the process as the served bot writes it: JSON, with the request id."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.INFO
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_request_logs_json_lines_carrying_its_request_id(tmp_path: Path, json_lines: io.StringIO) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'jobbot.db'}", alert_token=TOKEN,
                        scenario=Path(__file__).resolve().parents[1] / "scenarios" / "healthy.yaml")
    with serving(create_app(settings, Config())) as app:
        http = httpx.Client(base_url=app.url, timeout=10, trust_env=False)
        refused = http.post("/alerts/azure-monitor", params={"token": TOKEN}, content=b"{not json",
                            headers={"X-Request-Id": "incident-42.a"})
        own = http.get("/healthz")
    assert refused.status_code == 400 and refused.headers["x-request-id"] == "incident-42.a"
    assert len(own.headers["x-request-id"]) == 32  # one made up when the caller sent none
    lines = [r for r in records(json_lines) if "alert webhook refused" in r["message"]]
    assert lines and all(r["request_id"] == "incident-42.a" for r in lines)
    assert {"time", "level", "logger", "message"} <= set(lines[0])


def test_an_id_that_is_not_a_plain_token_is_replaced() -> None:
    assert request_id_from("abc-123_x.y") == "abc-123_x.y"
    for bad in ("", "two words", "line\nbreak", "x" * 65, "<script>"):
        replaced = request_id_from(bad)
        assert replaced != bad and len(replaced) == 32


def test_json_for_machines_and_text_for_a_person(monkeypatch: pytest.MonkeyPatch) -> None:
    assert log_format("text") == "text" and log_format("json") == "json"
    monkeypatch.setattr("sys.stderr", io.StringIO())  # not a terminal: a container's log collector
    assert log_format(None) == "json"


def test_logging_after_a_commands_redirected_stderr_closed_writes_to_stderr_as_it_is_now(
        capsys: pytest.CaptureFixture[str]) -> None:
    # A command installs logging while its stderr goes through the redaction boundary; a handler that kept
    # that stream would write into a closed file once the command returned ("--- Logging error ---").
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        during = io.StringIO()
        with contextlib.redirect_stderr(during):
            install("info", "text")
            logging.getLogger("jobbot.test").info("while the command runs")
        during.close()
        logging.getLogger("jobbot.test").info("after it returned")
        err = capsys.readouterr().err
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert "after it returned" in err and "Logging error" not in err
