"""The likely shared cause of an environment-wide incident: the one change its jobs' triages agree on (pure).

Each job's triage already looks for changes to what the job depends on (Resource Graph `resourcechanges`
and the Activity Log on its registry, Key Vault, identity, role assignments, environment): a rotated
registry credential, a deleted role assignment, a workload profile cut. When several jobs failing
together each name the same change of the same resource (same resource, operation and time), that change
is the incident's likely shared cause. A change of the incident's own shared resource is preferred to one
of some other resource; then the one more jobs found; then the newest.

Only the stored triage reports are read: nothing here asks Azure anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from bot.evidence.payloads import ConfigChangesEvidence, SuspectedChange
from bot.model import TriageReport

MIN_JOBS = 2  # a change one job's triage found explains that job, not the incident
JOB_TYPE = "/providers/microsoft.app/jobs/"
# The ARM resource type segment(s) each kind of shared resource is named after, lower-cased.
RESOURCE_TYPES: dict[str, tuple[str, ...]] = {
    "registry": ("registries",),
    "key vault": ("vaults",),
    "identity": ("userassignedidentities",),
    "event-source namespace": ("namespaces", "storageaccounts"),
}


@dataclass(frozen=True, slots=True)
class SharedCause:
    resource: str  # the ARM id of what changed, lower-cased
    what: str  # "registry acrshared credentials regenerated"
    time: datetime | None
    caller: str | None
    operation: str | None
    source: str | None  # resource-graph | activity-log
    jobs: tuple[str, ...]  # the jobs whose triage found it, sorted
    of_shared: bool  # the change is of the incident's shared resource (not merely common to its jobs)


def dependency_changes(report: TriageReport) -> Iterator[SuspectedChange]:
    """The changes of something other than the job itself that the triage found (most likely first)."""
    found = [report.verdict.suspected_change]
    check = report.check("config_changes")
    if check is not None and isinstance(check.evidence, ConfigChangesEvidence):
        found.append(check.evidence.suspected_change)
    for change in found:
        if change is None:
            continue
        for one in (change, *change.also):
            # A job is no job's dependency: its own writes (or another job's) explain it alone.
            if one.resource and JOB_TYPE not in one.resource.lower():
                yield one


def names_resource(resource_id: str, kind: str, name: str) -> bool:
    """Whether the ARM id `resource_id` is (or lies under) the incident's shared resource `kind` `name`:
    a registry named by login server (acrshared.azurecr.io → registries/acrshared), an environment by its
    id, the rest by name — matched as the name after its resource type, so a resource group that happens
    to share the name is not taken for the resource."""
    resource_id = resource_id.lower()
    if kind == "environment":
        environment = name.lower().rstrip("/")
        return resource_id == environment or resource_id.startswith(environment + "/")
    short = name.lower().rstrip("/").rsplit("/", 1)[-1]
    if kind == "registry":
        short = short.split(".", 1)[0]
    segments = resource_id.split("/")
    types = RESOURCE_TYPES.get(kind, ())
    return any(segment in types and following == short for segment, following in pairwise(segments))


def shared_cause(kind: str, name: str, reports: Mapping[str, TriageReport]) -> SharedCause | None:
    """Of the dependency changes in the jobs' `reports` (job -> report), the one at least MIN_JOBS jobs
    found, preferring a change of the shared resource `kind` `name`; None when no change is shared."""
    seen: dict[tuple[str, str, str], tuple[SuspectedChange, set[str]]] = {}
    for job, report in reports.items():
        for change in dependency_changes(report):
            resource = (change.resource or "").lower()
            key = (resource, (change.operation or "").upper(), change.time.isoformat() if change.time else "")
            seen.setdefault(key, (change, set()))[1].add(job)
    causes = [SharedCause(resource, change.what, change.time, change.caller, change.operation,
                          change.source.value if change.source else None, tuple(sorted(jobs)),
                          names_resource(resource, kind, name))
              for (resource, _, _), (change, jobs) in seen.items() if len(jobs) >= MIN_JOBS]
    if not causes:
        return None
    newest = max((c.time for c in causes if c.time), default=None)

    def rank(cause: SharedCause) -> tuple[bool, int, float, str]:
        age = (newest - cause.time).total_seconds() if newest and cause.time else float("inf")
        return not cause.of_shared, -len(cause.jobs), age, cause.resource

    return min(causes, key=rank)
