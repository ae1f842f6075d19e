"""Composition root for one-shot runs (the CLI): wire config, clock, credential and readers, then run one use
case — a triage, a review (with its diff or evidence pack) or the status board — and return what it made."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from bot.azure.endpoints import Endpoints
from bot.azure.wiring import azure_readers
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.errors import ConfigError
from bot.evidence.runner import OnResult
from bot.evidence.sources import Readers
from bot.intake import JobSpec
from bot.model import TriageReport
from bot.review.diff import DiffReport
from bot.review.diff_service import DiffRequest
from bot.review.findings import ReviewReport
from bot.review.pack_service import AuditSource
from bot.review.service import SnapshotStore
from bot.status.board import Board
from bot.triage import triage

T = TypeVar("T")
UseCase = Callable[[Readers, Clock, Config], Awaitable[T]]
BY_NAME = "look up jobs by name (or pass a full ARM id)"


def run_once(use: UseCase[T], config: Config, *, scenario: str | Path | None, subscription: str | None = None,
             needs: str = BY_NAME) -> T:
    """Run `use` once on fresh readers: against the scenario's world (the local emulator, its fixed clock) when
    `scenario` is given, else against Azure with the production credential. Outside a scenario the
    subscriptions come from the config, else the job's own (`subscription`); with neither, `needs` says why
    they are needed."""

    async def with_readers(endpoints: Endpoints, credential: object, clock: Clock, run_config: Config) -> T:
        async with azure_readers(credential, endpoints, run_config) as readers:
            return await use(readers, clock, run_config)

    if scenario:
        from bot.scenario_mode import scenario_world

        with scenario_world(scenario, config) as world:
            return asyncio.run(with_readers(world.endpoints, world.credential, world.clock, world.config))
    subscriptions = config.subscriptions or ((subscription,) if subscription else ())
    if not subscriptions:
        raise ConfigError([f"azure.subscriptions: needed to {needs}"])
    from bot.azure.credentials import production_credential

    async def run() -> T:
        credential = production_credential()
        async with credential:
            run_config = replace(config, subscriptions=subscriptions)
            return await with_readers(Endpoints(), credential, SystemClock(), run_config)

    return asyncio.run(run())


async def triage_with(
    spec: JobSpec, since: timedelta, config: Config, endpoints: Endpoints, credential: object, clock: Clock,
    on_result: OnResult | None = None, *, fresh: bool = False,
) -> TriageReport:
    async with azure_readers(credential, endpoints, config) as readers:
        return await triage(spec, since, readers, clock, deadline_s=config.check_deadline_s, config=config,
                            on_result=on_result, fresh=fresh)


def triage_once(spec: JobSpec, since: timedelta, config: Config, *, scenario: str | Path | None,
                on_result: OnResult | None = None, fresh: bool = False) -> TriageReport:
    async def use(readers: Readers, clock: Clock, run_config: Config) -> TriageReport:
        return await triage(spec, since, readers, clock, deadline_s=run_config.check_deadline_s, config=run_config,
                            on_result=on_result, fresh=fresh)

    return run_once(use, config, scenario=scenario, subscription=spec.subscription)


def review_once(spec: JobSpec, window: timedelta, config: Config, *, scenario: str | Path | None,
                snapshots: SnapshotStore | None = None) -> ReviewReport:
    """`jobbot review`: the same wiring as a triage, then the review use case."""
    from bot.review.service import review

    async def use(readers: Readers, clock: Clock, run_config: Config) -> ReviewReport:
        return await review(spec, window, readers, clock, run_config, snapshots=snapshots)

    return run_once(use, config, scenario=scenario, subscription=spec.subscription)


def review_diff_once(spec: JobSpec, window: timedelta, request: DiffRequest, config: Config, *,
                     scenario: str | Path | None, snapshots: SnapshotStore | None = None
                     ) -> tuple[ReviewReport, DiffReport]:
    """`jobbot review --diff`: the review and the job then and now, on the same wiring as a review."""
    from bot.azure.resources import parse_job
    from bot.review.diff_service import review_diff

    async def use(readers: Readers, clock: Clock, run_config: Config) -> tuple[ReviewReport, DiffReport]:
        return await review_diff(spec, window, request, readers, clock, run_config, parse=parse_job,
                                 snapshots=snapshots)

    return run_once(use, config, scenario=scenario, subscription=spec.subscription)


def review_pack_once(spec: JobSpec, window: timedelta, days: int, config: Config, *, scenario: str | Path | None,
                     audit: AuditSource | None = None, secrets: tuple[str, ...] = ()
                     ) -> tuple[ReviewReport, dict[str, bytes]]:
    """`jobbot review --evidence-pack`: the review and the pack's files, on the same wiring as a review."""
    from bot.azure.credentials import reader_identity
    from bot.review.pack_service import evidence_pack

    async def use(readers: Readers, clock: Clock, run_config: Config) -> tuple[ReviewReport, dict[str, bytes]]:
        return await evidence_pack(spec, window, days, readers, clock, run_config,
                                   reader=reader_identity(scenario=bool(scenario)), audit=audit, secrets=secrets)

    return run_once(use, config, scenario=scenario, subscription=spec.subscription)


def status_once(scope: str | None, since: timedelta, config: Config, *, scenario: str | Path | None) -> Board:
    """`jobbot status`: the board for an environment, a resource group or every job, on a triage's wiring."""
    from bot.status.service import status_board

    async def use(readers: Readers, clock: Clock, run_config: Config) -> Board:
        return await status_board(scope, since, readers, clock, run_config)

    return run_once(use, config, scenario=scenario, needs="list the jobs for `jobbot status`")
