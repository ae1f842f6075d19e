"""Environment-wide incidents: several jobs that share a dependency starting to fail together (pure).

When `min_jobs` jobs (3 by default) sharing one dependency — their environment, a registry, a Key Vault,
a user-assigned identity or an event-source namespace — each fire an alert within `window` (10 minutes by
default) of each other, it is one incident about that shared resource, not N unrelated failures. The
incident is keyed by the resource; of several shared ones the most specific names it (a registry says
more about the cause than the environment every job lives in), then the one with the most jobs.

What a job depends on comes from the job as already read for routing and triage (`dependencies_of`); no
new Azure read. Times are the alerts' own (when they fired), so the decision is the same on every
replica, in every replay and whatever order the deliveries arrive in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.model import AccessKind, Job


class Kind(StrEnum):
    """A dependency several jobs may share, most specific first (see `SPECIFICITY`)."""

    REGISTRY = "registry"
    KEY_VAULT = "key vault"
    IDENTITY = "identity"
    NAMESPACE = "event-source namespace"
    ENVIRONMENT = "environment"


# Lower is more specific: a shared registry explains a failure better than a shared environment.
SPECIFICITY = {Kind.REGISTRY: 0, Kind.KEY_VAULT: 1, Kind.IDENTITY: 2, Kind.NAMESPACE: 3, Kind.ENVIRONMENT: 4}


@dataclass(frozen=True, slots=True, order=True)
class Resource:
    kind: Kind
    name: str  # lower-cased: a registry's login server, a vault's or identity's name, an environment's ARM id

    def describe(self) -> str:
        name = self.name.rsplit("/", 1)[-1] if self.kind is Kind.ENVIRONMENT else self.name
        return f"{self.kind.value} {name}"


@dataclass(frozen=True, slots=True)
class IncidentPolicy:
    min_jobs: int = 3  # distinct jobs failing within the window that make an incident
    window: timedelta = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Failing:
    """One alert that fired on a job, with what that job shares with others."""

    job: str
    fired_at: datetime
    resources: frozenset[Resource]


@dataclass(frozen=True, slots=True)
class Incident:
    resource: Resource
    jobs: tuple[str, ...]  # the affected jobs, sorted


def dependencies_of(job: Job) -> frozenset[Resource]:
    """What `job` shares with other jobs, as the job read from ARM says (names lower-cased)."""
    found: set[Resource] = set()
    if job.environment_id:
        found.add(Resource(Kind.ENVIRONMENT, job.environment_id.lower()))
    found |= {Resource(Kind.REGISTRY, r.server.lower()) for r in job.registries if r.server}
    found |= {Resource(Kind.KEY_VAULT, s.vault.lower()) for s in job.secrets if s.vault}
    found |= {Resource(Kind.IDENTITY, i.name.lower()) for i in job.identities if i.resource_id}  # user-assigned
    for access in job.access:
        if access.kind is AccessKind.KEY_VAULT:
            found.add(Resource(Kind.KEY_VAULT, access.name.lower()))
        elif access.kind is AccessKind.REGISTRY:
            found.add(Resource(Kind.REGISTRY, access.name.lower()))
        elif access.kind in (AccessKind.SERVICE_BUS, AccessKind.STORAGE_QUEUE):
            found.add(Resource(Kind.NAMESPACE, access.name.lower()))
    return frozenset(found)


def decide(alert: Failing, recent: Iterable[Failing], policy: IncidentPolicy,
           open_incidents: Iterable[Incident] = ()) -> Incident | None:
    """The incident `alert` belongs to, if any: an open one about a resource its job depends on, else a new
    one when `policy.min_jobs` distinct jobs sharing a resource with it (its own job included) fired within
    one `policy.window` that holds `alert` too (jobs already in an open incident do not count: it explains
    them). `recent` may include `alert` itself; order does not matter.
    """
    open_incidents = list(open_incidents)
    joinable = [i for i in open_incidents if i.resource in alert.resources]
    if joinable:
        best = min(joinable, key=lambda i: (SPECIFICITY[i.resource.kind], -len(i.jobs), i.resource.name))
        return Incident(best.resource, tuple(sorted({*best.jobs, alert.job})))
    # Jobs already in an open incident are explained by it: they make no second one with this alert.
    explained = {job for i in open_incidents for job in i.jobs}
    others = [f for f in recent if f != alert and f.job not in explained]
    candidates = []
    for resource in alert.resources:
        jobs = _jobs_in_one_window(alert, [f for f in others if resource in f.resources], policy.window)
        if len(jobs) >= policy.min_jobs:
            candidates.append(Incident(resource, jobs))
    if not candidates:
        return None
    return min(candidates, key=lambda i: (SPECIFICITY[i.resource.kind], -len(i.jobs), i.resource.name))


def _jobs_in_one_window(alert: Failing, sharing: list[Failing], window: timedelta) -> tuple[str, ...]:
    """The most distinct jobs that fired within one window holding `alert` (each start of a window worth
    trying is some alert's firing time at or before `alert`'s, no longer than a window before it)."""
    starts = sorted({f.fired_at for f in sharing if alert.fired_at - window <= f.fired_at <= alert.fired_at}
                    | {alert.fired_at})
    best: tuple[str, ...] = (alert.job,)
    for start in starts:
        end = start + window
        jobs = tuple(sorted({alert.job} | {f.job for f in sharing if start <= f.fired_at <= end}))
        if len(jobs) > len(best) or (len(jobs) == len(best) and jobs < best):
            best = jobs
    return best


# --- the fleet's record: recent failing alerts and open incidents --------------------------------------

CATCH_ALL = "*"  # `alerts.platform_owners` key paged for an environment with no owner of its own
_KEPT = 1000  # failing alerts remembered at most (the newest)


@dataclass(frozen=True, slots=True)
class Seen:
    """A failing alert as the fleet record keeps it."""

    alert_id: str
    failing: Failing
    severity: str = ""


@dataclass(frozen=True, slots=True)
class OpenIncident:
    key: str  # the incident thread's key
    incident: Incident


@dataclass(frozen=True, slots=True)
class Fleet:
    failing: tuple[Seen, ...] = ()
    open: tuple[OpenIncident, ...] = ()

    def incident_of(self, job: str, resources: frozenset[Resource]) -> OpenIncident | None:
        """The open incident `job` is one of, about a resource it depends on."""
        return next((o for o in self.open if job in o.incident.jobs and o.incident.resource in resources), None)


def incident_key(resource: Resource, opener: str) -> str:
    """The incident thread's key: short and safe wherever a thread key goes (a button's value, a timer)."""
    return "incident:" + hashlib.sha256(f"{resource.kind}|{resource.name}|{opener}".encode()).hexdigest()[:24]


def record(fleet: Fleet | None, seen: Seen, policy: IncidentPolicy) -> tuple[Fleet, OpenIncident | None, bool]:
    """The fleet after `seen`, the open incident it belongs to (if any), and whether it opened that incident.
    A repeated alert is decided again on what the record holds, and opens nothing new."""
    fleet = fleet or Fleet()
    repeated = any(s.alert_id == seen.alert_id for s in fleet.failing)
    failing = fleet.failing if repeated else (*fleet.failing, seen)
    newest = max(s.failing.fired_at for s in failing)
    # Kept a little longer than a window: deliveries arrive out of order.
    failing = tuple(sorted((s for s in failing if newest - s.failing.fired_at <= policy.window * 3),
                           key=lambda s: (s.failing.fired_at, s.alert_id)))[-_KEPT:]
    decided = decide(seen.failing, [s.failing for s in failing], policy, [o.incident for o in fleet.open])
    if decided is None:
        return Fleet(failing, fleet.open), None, False
    existing = next((o for o in fleet.open if o.incident.resource == decided.resource), None)
    if existing is not None:
        joined = OpenIncident(existing.key, decided)
        opened = tuple(joined if o is existing else o for o in fleet.open)
        return Fleet(failing, opened), joined, False
    new = OpenIncident(incident_key(decided.resource, seen.alert_id), decided)
    return Fleet(failing, (*fleet.open, new)), new, True


def close(fleet: Fleet | None, key: str) -> Fleet | None:
    """The fleet with incident `key` closed (all its alerts resolved); None if it was not open."""
    if fleet is None or not any(o.key == key for o in fleet.open):
        return None
    return Fleet(fleet.failing, tuple(o for o in fleet.open if o.key != key))


def reopen(fleet: Fleet | None, incident: OpenIncident) -> Fleet | None:
    """The fleet with `incident` open again (an alert joined it while it was being closed); None if it is open."""
    fleet = fleet or Fleet()
    if any(o.key == incident.key for o in fleet.open):
        return None
    return Fleet(fleet.failing, (*fleet.open, incident))


def fleet_to_dict(fleet: Fleet) -> dict[str, Any]:
    return {
        "failing": [{"alert": s.alert_id, "job": s.failing.job, "at": s.failing.fired_at.isoformat(),
                     "severity": s.severity, "resources": sorted([r.kind.value, r.name] for r in s.failing.resources)}
                    for s in fleet.failing],
        "open": [{"key": o.key, "kind": o.incident.resource.kind.value, "name": o.incident.resource.name,
                  "jobs": list(o.incident.jobs)} for o in fleet.open],
    }


def fleet_from_dict(value: Mapping[str, Any] | None) -> Fleet | None:
    if value is None:
        return None
    failing = tuple(
        Seen(str(s["alert"]), Failing(str(s["job"]), datetime.fromisoformat(s["at"]),
                                      frozenset(Resource(Kind(k), str(n)) for k, n in s.get("resources") or ())),
             str(s.get("severity") or ""))
        for s in value.get("failing") or ())
    opened = tuple(OpenIncident(str(o["key"]), Incident(Resource(Kind(o["kind"]), str(o["name"])),
                                                        tuple(o.get("jobs") or ())))
                   for o in value.get("open") or ())
    return Fleet(failing, opened)
