"""Attack (a bad day): a long game day in scenario mode. Every request to the emulator used to build a new
TLS context (azure-core's `connection_verify=<ca file>`), and aiohttp pools connections per context, so
each request opened a new socket: sockets and memory grew with every triage. TLS is built once."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.intake import parse_job
from bot.runtime import triage_with
from bot.scenario_mode import scenario_world

ROOT = Path(__file__).resolve().parents[2]
OOM = ROOT / "scenarios" / "oom-after-image-change.yaml"


def test_triages_in_scenario_mode_build_no_tls_context_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    built: list[Any] = []
    original = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(kwargs.get("cafile"))
        return original(*args, **kwargs)

    with scenario_world(OOM, replace(Config(), check_deadline_s=30.0)) as world:
        monkeypatch.setattr(ssl, "create_default_context", counting)

        async def triages(n: int) -> list[str]:
            causes = []
            for _ in range(n):
                report = await triage_with(parse_job("orders-processor"), timedelta(hours=1), world.config,
                                           world.endpoints, world.credential, world.clock)
                causes.append(report.verdict.cause.value)
            return causes

        causes = asyncio.run(triages(3))
    assert causes == ["oom"] * 3, "the triages really talked to the emulator over TLS"
    # Each triage makes dozens of HTTPS requests; at most one context per CA file is ever built.
    assert len(built) <= 1, f"{len(built)} TLS contexts built for 3 triages"
