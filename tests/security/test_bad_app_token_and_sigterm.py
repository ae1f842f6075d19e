"""Attacks of a bad day on `jobbot serve`:
- a wrong SLACK_APP_TOKEN used to leave the process up, retrying Socket Mode forever and answering nothing;
  start-up must fail with a message naming the variable (exit 2, no traceback);
- SIGTERM must end the process within 5 s, even with a request still in flight (a client that sent half
  a body and went quiet).
Both run the real command line in a child process, against a fake Slack and the local emulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.support.slack_fake import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
OOM = ROOT / "scenarios" / "oom-after-image-change.yaml"


@pytest.fixture()
def slack() -> Iterator[FakeSlack]:
    with FakeSlack.in_thread() as fake:
        fake.register("apps.connections.open", lambda args: {"ok": False, "error": "invalid_auth"})
        yield fake


def environment(tmp: Path, slack: FakeSlack, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "JOBBOT_")) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update(PYTHONPATH=str(ROOT), PORT="0", SLACK_BOT_TOKEN="xoxb-1111-2222-jobbottesttoken",
               JOBBOT_SLACK_API_URL=slack.api_url, JOBBOT_SCENARIO=str(OOM),  # never production Azure
               JOBBOT_DATABASE_URL=f"sqlite:///{tmp / 'j.db'}", **extra)
    return env


@pytest.mark.parametrize("token", ["xapp-1-A0JOBBOT-1-revokedtoken", "xoxb-not-an-app-token"])
def test_a_refused_app_token_fails_start_up_with_a_clear_message(tmp_path: Path, slack: FakeSlack,
                                                                  token: str) -> None:
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1"], cwd=tmp_path,
                              env=environment(tmp_path, slack, SLACK_APP_TOKEN=token), capture_output=True,
                              text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("jobbot serve kept running with a token Slack refuses")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "SLACK_APP_TOKEN" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 20


def test_sigterm_ends_serve_within_5_s_with_a_request_in_flight(tmp_path: Path, slack: FakeSlack) -> None:
    env = environment(tmp_path, slack, SLACK_SIGNING_SECRET="8f14e45fceea167a5a36dedd4bea2543",
                      JOBBOT_ALERT_TOKEN="alert-token-6c1f0e2b9a")
    child = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1"], cwd=tmp_path,
                             env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            lines.append(line)
            if "Uvicorn running on" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(60), "".join(lines)[-2000:]
        port = uvicorn_port(lines)
        # Half a request: headers promise 1000 bytes, 10 arrive; the handler waits on the body.
        hung = socket.create_connection(("127.0.0.1", port))
        hung.sendall(b"POST /alerts/azure-monitor?token=alert-token-6c1f0e2b9a HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"schemaId")
        time.sleep(0.5)
        started = time.monotonic()
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("jobbot serve was still running 10 s after SIGTERM")
        assert time.monotonic() - started < 5
        hung.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@contextlib.contextmanager
def socket_mode_server(app_token: str) -> Iterator[tuple[str, list[str]]]:
    """Slack's Socket Mode on 127.0.0.1: `apps.connections.open` (for `app_token` only, which proves the
    token reaches Slack intact through the redacting client) and a websocket that says hello and stays
    open. Yields the Web API base URL."""
    seen: list[str] = []
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def link(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        seen.append("connected")
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        async for _ in ws:
            pass
        return ws

    async def connections_open(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {app_token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{state['port']}/link"})

    async def start() -> None:
        app = web.Application()
        app.router.add_get("/link", link)
        app.router.add_post("/api/apps.connections.open", connections_open)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        state["runner"], state["port"] = runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()

    thread = threading.Thread(target=lambda: (asyncio.set_event_loop(loop), loop.run_until_complete(start()),
                                              loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield f"http://127.0.0.1:{state['port']}/api/", seen
    finally:
        asyncio.run_coroutine_threadsafe(state["runner"].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_socket_mode_serves_no_http_slack_route_and_ends_within_5_s_on_sigterm(tmp_path: Path) -> None:
    token = "xapp-1-A0JOBBOT-1-sockettoken"
    with FakeSlack.in_thread() as slack, socket_mode_server(token) as (api_url, seen):
        env = {**environment(tmp_path, slack, SLACK_APP_TOKEN=token), "JOBBOT_SLACK_API_URL": api_url}
        child = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1"], cwd=tmp_path,
                                 env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        lines: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert child.stderr is not None
            for line in child.stderr:
                lines.append(line)
                if "Uvicorn running on" in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        try:
            assert ready.wait(60), "".join(lines)[-2000:]
            assert seen[:1] == ["connected"], "Socket Mode connected"
            port = uvicorn_port(lines)
            body = b"token=x&command=%2Fjobbot&text=help&user_id=U0X&channel_id=C0X"
            answer = httpx.post(f"http://127.0.0.1:{port}/slack/events", content=body, trust_env=False,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert answer.status_code == 404
            started = time.monotonic()
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pytest.fail("jobbot serve in Socket Mode was still running 10 s after SIGTERM")
            assert time.monotonic() - started < 5
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()


def uvicorn_port(lines: list[str]) -> int:
    """The port uvicorn bound (the start-up summary before it names the configured one, which may be 0)."""
    running = next(line for line in lines if "Uvicorn running on" in line)
    return int(re.search(r"http://127\.0\.0\.1:(\d+)", running).group(1))  # type: ignore[union-attr]
