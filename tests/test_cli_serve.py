"""`jobbot --help`, `--version` and `serve` tell today's truth: what runs, what it needs, what is off."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from bot.assets import bundled_scenarios
from bot.cli import EXIT_USAGE, build_parser, main
from bot.serve_info import ENVIRONMENT, configure_logging, startup_lines
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = next(p for p in bundled_scenarios() if p.stem == "app-error")
NEEDED = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "JOBBOT_ALERT_TOKEN")


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_help_names_every_command_and_promises_nothing_that_is_not_there(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["--help"], capsys)
    assert "arrives" not in text and "serve" in text
    for command in build_parser()._subparsers._group_actions[0].choices:  # type: ignore[union-attr]
        assert command in text
    assert "exit status" in text


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    assert _help(["--version"], capsys).strip() == f"jobbot {version('jobbot')}"


def test_serve_help_names_its_options_and_every_variable_it_needs(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["serve", "--help"], capsys)
    for word in ("--port", "--log-level", "--host", "--scenario", *NEEDED, *(name for name, _ in ENVIRONMENT)):
        assert word in text


def test_serve_against_azure_without_slack_tokens_is_bad_input_naming_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in (*NEEDED, "JOBBOT_SCENARIO"):
        monkeypatch.delenv(name, raising=False)
    assert main(["serve"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN" in err and "SLACK_SIGNING_SECRET" in err and "serve --help" in err


def test_startup_lines_say_what_is_on_and_what_is_off() -> None:
    off = startup_lines(Settings(scenario=SCENARIO, port=8123), "127.0.0.1")
    assert off[0].startswith("jobbot serve: listening on http://127.0.0.1:8123")
    assert "/alerts/azure-monitor" in off[0]
    assert any(line.strip().startswith("Slack: off") and "SLACK_BOT_TOKEN" in line for line in off)
    assert any("JOBBOT_ALERT_TOKEN" in line for line in off)
    on = startup_lines(Settings(slack_bot_token="xoxb-1", slack_signing_secret="s", alert_token="t"), "0.0.0.0")
    assert any("Slack: on (HTTP events)" in line for line in on)
    assert not any("xoxb-1" in line or " s)" in line for line in on)  # never a value


@pytest.fixture
def restore_azure_logger() -> Iterator[None]:
    logger = logging.getLogger("azure")
    level = logger.level
    yield
    logger.setLevel(level)


@pytest.mark.usefixtures("restore_azure_logger")
def test_azure_sdk_logging_is_quiet_unless_debug() -> None:
    configure_logging("info")
    assert logging.getLogger("azure").getEffectiveLevel() == logging.WARNING
    # The policy that logs every request's URL and headers at INFO:
    assert not logging.getLogger("azure.core.pipeline.policies.http_logging_policy").isEnabledFor(logging.INFO)
    configure_logging("debug")
    assert logging.getLogger("azure").getEffectiveLevel() == logging.DEBUG


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_serve_with_a_scenario_and_no_slack_tokens_runs_the_http_routes_and_says_slack_is_off(
    tmp_path: Path,
) -> None:
    port = _free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "JOBBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'jobbot.db'}"}
    argv = [sys.executable, "-m", "bot.cli", "serve", "--scenario", str(SCENARIO), "--host", "127.0.0.1",
            "--port", str(port)]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                if _get(f"http://127.0.0.1:{port}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.2)
        assert _get(f"http://127.0.0.1:{port}/healthz") == (200, json.dumps({"status": "ok"}, separators=(",", ":")))
        status, body = _get(f"http://127.0.0.1:{port}/slack/events", "POST")
        assert status == 503 and "Slack is off" in body
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert f"listening on http://127.0.0.1:{port}" in err
    assert "Slack: off" in err
