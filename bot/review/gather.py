"""Read everything a review judges, all at once: the triage checks (their own reads, memoised by Sources),
the environment, the execution history, the identity's role grants and the registries' properties.

One round after the job itself: every read below starts together; role definitions follow their
assignments. A read that fails is kept as its reason (`Facts.unread`), never silently dropped.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from bot.config import Config
from bot.config_schema import Review
from bot.errors import NotApplicable, UpstreamError
from bot.evidence.registry import CHECKS
from bot.evidence.runner import run_checks
from bot.evidence.sources import Readers, Sources, Tasks
from bot.model import Job, Owners, QueryResult, Window
from bot.owners import resolve_owners
from bot.review.alerting import action_group_ids
from bot.review.facts import Alerting, Facts, Grant, covers, poison_rules, source_ids
from bot.review.reads import Read, read_within

CHANNEL_TAG = "jobbot-channel"
ACR_SUFFIX = ".azurecr.io"
# The review's own canned queries that need nothing beyond the job and the window (kql/README.md).
LOG_QUERIES = ("execution_durations", "log_volume", "secret_shaped_logs")
_read = partial(read_within, mark_not_applicable=True)  # a finding tells "n/a" from a fault


def _in_job_group(job: Job, provider: str, name: str) -> str:
    return f"/subscriptions/{job.ref.subscription}/resourceGroups/{job.ref.resource_group}/providers/{provider}/{name}"


def vault_ids(job: Job, secret_urls: dict[str, str]) -> dict[str, str]:
    """Key Vault name -> where it is looked for (the job's resource group), for each vault a secret names."""
    return {name: _in_job_group(job, "Microsoft.KeyVault/vaults", name) for name in sorted(set(secret_urls.values()))}


def registry_id(job: Job, server: str) -> str | None:
    """Where an ACR is looked for: the job's own resource group (locating it elsewhere needs Resource Graph)."""
    if not server.lower().endswith(ACR_SUFFIX):
        return None
    return _in_job_group(job, "Microsoft.ContainerRegistry/registries", server[: -len(ACR_SUFFIX)])


async def _grants(sources: Sources) -> tuple[Grant, ...]:
    """The job identities' role assignments anywhere in reach, and every assignment at or above the job (who
    can change it), with role names resolved: one read of each, then the role definitions."""
    assignments = await sources.role_assignments([sources.job.ref.id])
    wanted = set(sources.identity_principals())
    mine = [a for a in assignments if str((a.get("properties") or {}).get("principalId", "")).lower() in wanted
            or covers(str((a.get("properties") or {}).get("scope", "")), sources.job.ref.id)]
    ids = sorted({str((a.get("properties") or {}).get("roleDefinitionId", "")) for a in mine})
    definitions = await asyncio.gather(*(sources.role_definition(i) for i in ids), return_exceptions=True)
    names = {i.lower(): _role_name(i, d) for i, d in zip(ids, definitions, strict=True)}
    return tuple(sorted(
        (Grant(str(p.get("principalId", "")).lower(), names[str(p.get("roleDefinitionId", "")).lower()],
               str(p.get("scope", "")), p.get("principalType"))
         for a in mine for p in [a.get("properties") or {}]),
        key=lambda g: (g.scope.lower(), g.role, g.principal_id)))


async def _alerting(sources: Sources) -> Alerting:
    """The alert rules of the job's resource group, then the action groups they notify (a group that cannot be
    read counts as notifying nobody)."""
    rules = await sources.alert_rules()
    ids = sorted({i.lower() for kind in rules.values() for rule in kind for i in action_group_ids(rule)})
    groups = await asyncio.gather(*(sources.action_group(i) for i in ids), return_exceptions=True)
    found: dict[str, Mapping[str, Any] | None] = {}
    for group_id, group in zip(ids, groups, strict=True):
        if isinstance(group, BaseException) and not isinstance(group, UpstreamError | NotApplicable):
            raise group
        found[group_id] = None if isinstance(group, BaseException) else group
    return Alerting(rules, found)


async def _workspace(sources: Sources) -> Mapping[str, Any]:
    """The job's Log Analytics workspace (ARM JSON), located by the customer id its environment names: by GET
    when the diagnostic setting or config names it, else as Resource Graph has it (review SEC-12)."""
    found = await sources.workspace_resource()
    if found is None:
        setup = await sources.log_setup()
        raise UpstreamError(f"no workspace with customer id {setup.workspace_id} is in the reader's reach "
                            "(Resource Graph found none)")
    return found


def _role_name(definition_id: str, found: Mapping[str, Any] | BaseException) -> str:
    if isinstance(found, BaseException):
        if isinstance(found, UpstreamError | NotApplicable):
            return f"role {definition_id.rsplit('/', 1)[-1]}"  # unnamed: judged as no broad role
        raise found
    return str((found.get("properties") or {}).get("roleName") or definition_id.rsplit("/", 1)[-1])


def _bodies(reads: Mapping[str, Read], prefix: str) -> dict[str, Mapping[str, Any]]:
    return {k.removeprefix(prefix): r.value for k, r in reads.items() if k.startswith(prefix) and r.value is not None}


def channel_for(job: Job, config: Config) -> str | None:
    entry = config.job(job.ref.name)
    return (entry.channel if entry else None) or job.tags.get(CHANNEL_TAG) or config.alert_channel


def _lookups(job: Job) -> dict[str, str]:
    """The registries', Key Vaults' and event sources' ids to read, by "registry NAME" / "vault NAME" /
    "storage NAME" / "namespace NAME"."""
    registries = {s.server[: -len(ACR_SUFFIX)].lower(): rid
                  for s in job.registries if (rid := registry_id(job, s.server))}
    vaults = vault_ids(job, {s.name: s.vault for s in job.secrets if s.vault})
    return {**{f"registry {n}": rid for n, rid in registries.items()},
            **{f"vault {n}": vid for n, vid in vaults.items()}, **source_ids(job)}


def audit_scopes(job: Job) -> list[str]:
    """Where a role-assignment change counts for SEC-08 (lower-cased): the job, its resource group, its vaults."""
    group = f"/subscriptions/{job.ref.subscription}/resourceGroups/{job.ref.resource_group}"
    vaults = vault_ids(job, {s.name: s.vault for s in job.secrets if s.vault})
    return sorted({i.lower() for i in (job.ref.id, group, *vaults.values())})


def message_id_pattern(settings: Review) -> str | None:
    """review.message_id_regex as the query reads it: the id is its first group (the whole match if it has none)."""
    regex = settings.message_id_regex
    if not regex:
        return None
    try:
        groups = re.compile(regex).groups
    except re.error:
        groups = 1  # the query's own engine judges it; its refusal becomes REL-06's error
    return regex if groups else f"({regex})"


def _log_asks(sources: Sources, settings: Review | None) -> dict[str, dict[str, object]]:
    """The review's own queries, by name, with the values each takes beyond the job and the window."""
    asks: dict[str, dict[str, object]] = {name: {} for name in LOG_QUERIES}
    asks["audit_activity"] = {"scopes": audit_scopes(sources.job)}
    pattern = message_id_pattern(settings) if settings is not None else None
    if pattern is not None and sources.job.trigger_type.lower() == "event":
        asks["message_reprocessing"] = {"message_id_regex": pattern}
    return asks


def _log_reads(sources: Sources, settings: Review | None) -> dict[str, Awaitable[QueryResult]]:
    """The review's own queries, by name (all of one round: each waits only for the log setup)."""
    return {name: sources.query(name, **extra) for name, extra in _log_asks(sources, settings).items()}


def prefetch(sources: Sources, settings: Review | None) -> None:
    """Start every read of round 2 without waiting (also for the job as last seen, while it is looked up)."""
    # The checks' queries and the review's own go together where they can: Log Analytics runs 5 at a time,
    # and about ten asked one by one would take two rounds.
    checks: dict[str, dict[str, object]] = {
        n.partition(":")[2]: {} for c in CHECKS for n in c.needs if n.startswith("query:")}
    sources.query_together({**checks, **_log_asks(sources, settings)})
    lookups = _lookups(sources.job)
    own = {"executions", "resource:environment", "metric:UsageNanoCores", "usages", "workspace"}
    sources.prefetch({n for c in CHECKS for n in c.needs} | own | {f"resource:{rid}" for rid in lookups.values()})
    for read in _log_reads(sources, settings).values():
        quiet = asyncio.ensure_future(read)
        quiet.add_done_callback(lambda done: done.cancelled() or done.exception())  # reported when read again
    for task in (asyncio.ensure_future(sources.role_assignments([sources.job.ref.id])),
                 asyncio.ensure_future(sources.alert_rules())):
        task.add_done_callback(lambda done: done.cancelled() or done.exception())  # failures are read again, reported


async def gather(job: Job, window: Window, now: datetime, readers: Readers, config: Config,
                 tasks: Tasks | None = None) -> Facts:
    """`tasks`: reads already started for this job (memoised by their inputs; a read for other inputs is unused)."""
    deadline = config.check_deadline_s
    sources = Sources(job, window, now, readers, tasks)
    settings = config.review_for(job.ref.name)
    prefetch(sources, settings)
    lookups = _lookups(job)
    logs = _log_reads(sources, settings)
    poison = poison_rules(job, settings)
    try:
        # The checks and the review's own reads run together: one round after the job.
        checks_task = asyncio.ensure_future(run_checks(CHECKS, sources, deadline))
        env, executions, setup, grants, cpu, alerting, usages, workspace, *found = await asyncio.gather(
            _read(sources.resource(job.environment_id), deadline),
            _read(sources.executions(), deadline),
            _read(sources.log_setup(), deadline),
            _read(_grants(sources), deadline * 2),  # two steps: assignments, then their role names
            _read(sources.metric("UsageNanoCores"), deadline),
            _read(_alerting(sources), deadline * 2),  # two steps: the rules, then the action groups they name
            _read(sources.environment_usages(), deadline),
            _read(_workspace(sources), deadline * 2),  # two steps: the log setup, then where it is
            *(_read(sources.resource(rid), deadline) for rid in lookups.values()),
            *(_read(sources.queue_depth(i), deadline) for i in range(len(job.rules))),
            *(_read(read, deadline * 2) for read in logs.values()),  # two steps: the log setup, then the query
            *(_read(sources.queue_depth_of(rule), deadline) for rule in poison.values()),
        )
        checks = await checks_task
    finally:
        sources.cancel()
    names = [*lookups, *(f"queue {r.name}" for r in job.rules), *(f"query {q}" for q in logs),
             *(f"poison {n}" for n in poison)]
    reads = {"environment": env, "executions": executions, "log setup": setup, "role assignments": grants, "cpu": cpu,
             "alert rules": alerting, "environment usages": usages, "workspace": workspace,
             **dict(zip(names, found, strict=True))}
    entry = config.job(job.ref.name)
    owners = resolve_owners(job.tags, entry.owners if entry else None, config.directory) or Owners(None)
    return Facts(
        job=job, window=window, now=now, settings=settings,
        checks={c.name: c for c in checks},
        environment_body=env.value, executions_list=tuple(executions.value) if executions.value is not None else None,
        grants_list=grants.value,
        registries=_bodies(reads, "registry "), vaults=_bodies(reads, "vault "),
        event_sources={k: r.value for k, r in reads.items() if k in source_ids(job) and r.value is not None},
        queues={r.name: read.value for r, read in zip(job.rules, found[len(lookups):][:len(job.rules)], strict=True)
                if read.value is not None},
        poison={n: reads[f"poison {n}"].value for n in poison if reads[f"poison {n}"].value is not None},
        logs={q: reads[f"query {q}"].value for q in logs if reads[f"query {q}"].value is not None},
        owners=owners, channel=channel_for(job, config), cpu=cpu.value, log_setup=setup.value,
        alerting_read=alerting.value,
        usages_list=tuple(usages.value) if usages.value is not None else None, workspace_body=workspace.value,
        unread={name: read.error for name, read in reads.items() if read.error is not None},
    )
