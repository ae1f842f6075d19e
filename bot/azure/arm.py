"""Read-only ARM adapter: jobs, executions, the environment's log setup, and job metrics.

Only GETs. The SDK clients are the real ones; `Endpoints` decides whether they talk to Azure or to
the local emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient
from azure.mgmt.monitor.aio import MonitorManagementClient

from bot.azure.endpoints import Endpoints
from bot.azure.faults import upstream
from bot.azure.order import sort_by
from bot.azure.resources import parse_execution, parse_job, split_id
from bot.errors import JobNotFound, NotApplicable, UpstreamError
from bot.evidence.rows import iso
from bot.intake import JobSpec
from bot.model import Execution, Job, JobRef, LogSetup, MetricSeries, Window

DIAGNOSTIC_SETTINGS_API = "2021-05-01-preview"
WORKSPACE_API = "2023-09-01"
# An environment's log destination changes rarely; re-reading it on every triage would put two more
# calls on the critical path.
LOG_SETUP_TTL_S = 600.0
# Subscriptions learned from Azure's own answers (a job's environment in another subscription), on top of
# the configured ones. Input (a slash command, an alert's target ids) never adds one: clients are cached
# per subscription, so random ids in alert payloads would otherwise grow memory without end.
MAX_LEARNED_SUBSCRIPTIONS = 16


class ArmReader:
    """Implements the JobsReader port over azure-mgmt-appcontainers and azure-mgmt-monitor."""

    def __init__(
        self,
        credential: Any,
        subscriptions: Sequence[str],
        endpoints: Endpoints,
        *,
        catalog: Mapping[str, str] | None = None,
        workspace_override: str | None = None,
    ) -> None:
        if not subscriptions:
            raise ValueError("at least one subscription is needed to look up jobs")
        self._credential = credential
        self._subscriptions = list(subscriptions)
        self._known = {s.lower() for s in subscriptions}
        self._learned: set[str] = set()
        self._endpoints = endpoints
        self._catalog = {k.lower(): v for k, v in (catalog or {}).items()}  # job name -> resource group
        self._workspace_override = workspace_override
        self._apps: dict[str, ContainerAppsAPIClient] = {}
        self._monitors: dict[str, MonitorManagementClient] = {}
        self._log_setups: dict[str, tuple[float, LogSetup]] = {}
        self._seen: dict[str, tuple[float, Job]] = {}
        self._listing: asyncio.Future[list[Job]] | None = None  # the jobs listing in flight, shared

    def _check(self, subscription: str) -> None:
        if subscription.lower() not in self._known | self._learned:
            raise UpstreamError(f"subscription {subscription[:40]} is not one jobbot is configured to read")

    def _learn(self, job: Job) -> None:
        """A found job's environment may live in another subscription: that one may be read too."""
        if job.environment_id and len(self._learned) < MAX_LEARNED_SUBSCRIPTIONS:
            with contextlib.suppress(ValueError):
                self._learned.add(split_id(job.environment_id)[0].lower())

    def _app(self, subscription: str) -> ContainerAppsAPIClient:
        self._check(subscription)
        if subscription not in self._apps:
            self._apps[subscription] = ContainerAppsAPIClient(
                self._credential, subscription, base_url=self._endpoints.arm, **self._endpoints.client_kwargs()
            )
        return self._apps[subscription]

    def _monitor(self, subscription: str) -> MonitorManagementClient:
        self._check(subscription)
        if subscription not in self._monitors:
            self._monitors[subscription] = MonitorManagementClient(
                self._credential, subscription, base_url=self._endpoints.arm, **self._endpoints.client_kwargs()
            )
        return self._monitors[subscription]

    async def close(self) -> None:
        for app in self._apps.values():
            await app.close()
        for monitor in self._monitors.values():
            await monitor.close()

    # -- jobs -------------------------------------------------------------------------------------

    def recall(self, spec: JobSpec) -> Job | None:
        seen = self._seen.get(spec.name.lower())
        if seen and time.monotonic() - seen[0] < LOG_SETUP_TTL_S:
            return seen[1]
        return None

    async def find_job(self, spec: JobSpec) -> Job:
        job = await self._find_job(spec)
        self._learn(job)
        self._seen[job.ref.name.lower()] = (time.monotonic(), job)
        return job

    async def _find_job(self, spec: JobSpec) -> Job:
        explicit = spec.subscription is not None and spec.resource_group is not None  # a full ARM id
        subscription = spec.subscription or self._subscriptions[0]
        if subscription.lower() not in self._known:
            raise JobNotFound(spec.name, await self._suggest(spec, explicit))
        resource_group = spec.resource_group or self._catalog.get(spec.name.lower())
        if resource_group:
            try:
                async with upstream("Azure Resource Manager"):
                    raw = await self._app(subscription).jobs.get(resource_group, spec.name)
                return parse_job(raw.as_dict())
            except ResourceNotFoundError:
                if explicit:  # that id does not exist: a job of the same name elsewhere is another job
                    raise JobNotFound(spec.name, await self._suggest(spec, explicit)) from None
                # a catalog entry gone stale: search by name, which also yields suggestions
        jobs = await self.list_jobs()
        for job in jobs:
            if job.ref.name.lower() == spec.name.lower():
                return job
        raise JobNotFound(spec.name, self._close_names(spec, jobs))

    async def _suggest(self, spec: JobSpec, explicit: bool) -> list[str]:
        """For an id that does not exist: the full ids of jobs with its name, then close names."""
        try:
            jobs = await self.list_jobs()
        except UpstreamError:
            return []
        same = sorted(job.ref.id for job in jobs if job.ref.name.lower() == spec.name.lower())
        return (same + self._close_names(spec, jobs))[:3] if explicit else self._close_names(spec, jobs)

    @staticmethod
    def _close_names(spec: JobSpec, jobs: Sequence[Job]) -> list[str]:
        names = sorted({job.ref.name for job in jobs})
        lowered = {n.lower(): n for n in names}
        close = difflib.get_close_matches(spec.name.lower(), list(lowered), n=3, cutoff=0.5)
        partial = [n for n in names if spec.name.lower() in n.lower() and n.lower() not in close]
        return [lowered[c] for c in close] + partial[: 3 - len(close)]

    async def list_jobs(self, as_found: Callable[[Job], None] | None = None) -> Sequence[Job]:
        # An alert storm looks up many jobs by name at once: they share the listing in flight (it is as
        # fresh as any of them asked for), instead of listing the subscription once per job.
        if self._listing is None or self._listing.done():
            self._listing = asyncio.ensure_future(self._list_jobs(as_found))
        elif as_found is not None:  # joined a listing already under way: its jobs are told at its end
            jobs = await asyncio.shield(self._listing)
            for job in jobs:
                as_found(job)
            return jobs
        return await asyncio.shield(self._listing)

    async def _list_jobs(self, as_found: Callable[[Job], None] | None = None) -> list[Job]:
        def found(raw: Any) -> Job:
            job = parse_job(raw.as_dict())
            if as_found is not None:
                as_found(job)  # page by page: the caller starts its reads while the next page comes
            return job

        async def one(subscription: str) -> list[Job]:
            async with upstream("Azure Resource Manager"):
                return [found(raw) async for raw in self._app(subscription).jobs.list_by_subscription()]

        lists = await asyncio.gather(*(one(s) for s in self._subscriptions))
        seen = time.monotonic()
        for job in (job for jobs in lists for job in jobs):
            # As a lookup does: a triage of a listed job (`jobbot status`) starts its reads from this copy
            # while it looks the job up again.
            self._learn(job)
            self._seen[job.ref.name.lower()] = (seen, job)
        # ARM lists in no promised order: by id, so a name found in two resource groups resolves the same way.
        return sorted((job for jobs in lists for job in jobs), key=lambda j: j.ref.id.lower())

    async def server_date(self) -> datetime | None:
        """Azure's clock: the `Date` header of a jobs list (a read the bot makes anyway), for `jobbot doctor`."""
        seen: list[str] = []

        def keep(response: Any) -> None:
            if date := response.http_response.headers.get("Date"):
                seen.append(date)

        if not self._subscriptions:
            return None
        async with upstream("Azure Resource Manager"):
            async for _ in self._app(self._subscriptions[0]).jobs.list_by_subscription(raw_response_hook=keep):
                break
        return parsedate_to_datetime(seen[0]) if seen else None

    async def executions(self, job: JobRef) -> Sequence[Execution]:
        async with upstream("Azure Resource Manager"):
            pages = self._app(job.subscription).jobs_executions.list(job.resource_group, job.name)
            found = [parse_execution(raw.as_dict()) async for raw in pages]
        # Newest first, as a responder reads them; the name breaks ties in start time.
        return sort_by(found, [(lambda e: e.start, True), (lambda e: e.name.lower(), False)])

    # -- where the logs are -------------------------------------------------------------------------

    async def log_setup(self, job: Job) -> LogSetup:
        if self._workspace_override:
            return LogSetup(self._workspace_override, "log-analytics")
        if not job.environment_id:
            raise NotApplicable("the job names no managed environment")
        cached = self._log_setups.get(job.environment_id.lower())
        if cached and time.monotonic() - cached[0] < LOG_SETUP_TTL_S:
            return cached[1]
        setup = await self._read_log_setup(job.environment_id)
        self._log_setups[job.environment_id.lower()] = (time.monotonic(), setup)
        return setup

    async def _read_log_setup(self, environment_id: str) -> LogSetup:
        subscription, resource_group = split_id(environment_id)
        name = environment_id.rstrip("/").rsplit("/", 1)[-1]
        async with upstream("Azure Resource Manager"):
            env = (await self._app(subscription).managed_environments.get(resource_group, name)).as_dict()
        logs = (env.get("properties") or {}).get("appLogsConfiguration") or {}
        destination = str(logs.get("destination") or "")
        if destination == "log-analytics":
            workspace = (logs.get("logAnalyticsConfiguration") or {}).get("customerId")
            if workspace:
                return LogSetup(str(workspace), destination)
        if destination == "azure-monitor":
            return await self._workspace_from_diagnostics(subscription, environment_id)
        raise NotApplicable(f"the environment {name} does not send logs to a Log Analytics workspace")

    async def _workspace_from_diagnostics(self, subscription: str, environment_id: str) -> LogSetup:
        settings = await self._get(subscription, f"{environment_id}/providers/Microsoft.Insights/diagnosticSettings",
                                   DIAGNOSTIC_SETTINGS_API)
        # The first setting (by name) that names a workspace wins, whatever order ARM lists them in.
        for setting in sorted(settings.get("value") or [], key=lambda s: str(s.get("name") or "").lower()):
            workspace_id = (setting.get("properties") or {}).get("workspaceId")
            if workspace_id:
                workspace = await self._get(subscription, str(workspace_id), WORKSPACE_API)
                customer_id = (workspace.get("properties") or {}).get("customerId")
                if customer_id:
                    return LogSetup(str(customer_id), "azure-monitor", str(workspace_id))
        raise NotApplicable("the environment's diagnostic settings send logs to no Log Analytics workspace")

    async def _get(self, subscription: str, path: str, api_version: str) -> dict[str, Any]:
        """A plain ARM GET through the same pipeline (auth, retries, TLS) as the SDK operations."""
        async with upstream("Azure Resource Manager"):
            response = await self._app(subscription).send_request(
                HttpRequest("GET", f"{path}?api-version={api_version}")
            )
            if response.status_code >= 400:
                raise UpstreamError(f"Azure Resource Manager answered HTTP {response.status_code} for {path}")
            body: dict[str, Any] = response.json()
            return body

    # -- metrics ----------------------------------------------------------------------------------

    async def metric(self, job: JobRef, name: str, window: Window) -> MetricSeries:
        async with upstream("Azure Monitor metrics"):
            response = await self._monitor(job.subscription).metrics.list(
                job.id,
                timespan=f"{iso(window.start)}/{iso(window.end)}",
                interval="PT1M",
                metricnames=name,
                aggregation="Maximum",
            )
        points: list[tuple[Any, float]] = []
        unit = ""
        for metric in response.value or []:
            unit = str(metric.unit or "")
            for series in metric.timeseries or []:
                points += [(p.time_stamp, float(p.maximum)) for p in series.data or [] if p.maximum is not None]
        return MetricSeries(name, unit, tuple(sorted(points)))
