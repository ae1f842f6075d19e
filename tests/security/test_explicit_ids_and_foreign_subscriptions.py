"""Attacks on job lookup:
- an explicit ARM id that does not exist (a typo in the resource group, a job deleted and re-created
  elsewhere) used to fall back to a search by name, so the triage, alert or rollback ran on a different
  job with the same name. It must be "not found", with the real ids as suggestions.
- alert payloads with random subscription ids in their targets made jobbot build and keep one ARM client
  per subscription, without end. Only configured subscriptions are read; the client cache stays bounded.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from bot.azure.arm import ArmReader
from bot.config import Config
from bot.errors import JobNotFound
from bot.intake import parse_job
from bot.scenario_mode import scenario_world

ROOT = Path(__file__).resolve().parents[2]
OOM = ROOT / "scenarios" / "oom-after-image-change.yaml"


def test_an_explicit_id_that_does_not_exist_is_not_found_not_a_namesake(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with scenario_world(OOM, Config()) as world:
        subscription = world.config.subscriptions[0]
        real = f"/subscriptions/{subscription}/resourceGroups/rg-orders/providers/Microsoft.App/jobs/orders-processor"
        wrong = real.replace("/rg-orders/", "/rg-orders-old/")

        async def run() -> tuple[str, list[str]]:
            reader = ArmReader(world.credential, world.config.subscriptions, world.endpoints)
            try:
                found = await reader.find_job(parse_job(real))
                with pytest.raises(JobNotFound) as refused:
                    await reader.find_job(parse_job(wrong))
                return found.ref.id, refused.value.suggestions
            finally:
                await reader.close()

        found, suggestions = asyncio.run(run())
    assert found.lower() == real.lower()
    assert [s.lower() for s in suggestions][:1] == [real.lower()], "the real id is suggested"


def test_random_subscriptions_in_targets_build_no_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with scenario_world(OOM, Config()) as world:

        async def run() -> tuple[int, int, int]:
            reader = ArmReader(world.credential, world.config.subscriptions, world.endpoints)
            refused = 0
            try:
                for _ in range(200):
                    target = (f"/subscriptions/{uuid.uuid4()}/resourceGroups/rg-orders/providers/Microsoft.App/"
                              "jobs/orders-processor")
                    try:
                        await reader.find_job(parse_job(target))
                    except JobNotFound:
                        refused += 1
                return refused, len(reader._apps), len(reader._monitors)
            finally:
                await reader.close()

        refused, apps, monitors = asyncio.run(run())
    assert refused == 200
    assert apps <= len(world.config.subscriptions) and monitors <= len(world.config.subscriptions)


def test_lookups_by_name_at_once_share_one_listing_of_the_subscription(monkeypatch: pytest.MonkeyPatch) -> None:
    """An alert storm looks up many jobs by name: one jobs listing serves them, and a lookup after it lists anew."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with scenario_world(OOM, Config()) as world:

        async def run() -> list[str]:
            reader = ArmReader(world.credential, world.config.subscriptions, world.endpoints)
            try:
                found = await asyncio.gather(*(reader.find_job(parse_job("orders-processor")) for _ in range(8)),
                                             reader.list_jobs())
                await reader.find_job(parse_job("orders-processor"))
                return [job.ref.name for job in found[:8]]
            finally:
                await reader.close()

        world.emulator.clear_requests()
        names = asyncio.run(run())
        listings = [r for r in world.emulator.requests if r.path.rstrip("/").endswith("/providers/Microsoft.App/jobs")]
    assert names == ["orders-processor"] * 8
    assert len(listings) == 2, "one listing for the eight at once, one for the lookup after it"
