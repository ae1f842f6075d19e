"""Checklists in the store: versioned records, the one-open-checklist-per-job index, re-check timers.

    checklist          <checklist id>       the checklist (codec format), optimistic versioning
    checklist-open     <job name, lower>    {"open": {<job ARM id, lower>: <checklist id>}}
    checklist-recheck  <id>:<minutes>       a timer per re-check; payload names the application it is for

The index is keyed by job *name* so `/jobbot checklist JOB` finds the open checklist without asking
Azure (which may be the thing that is down); the ARM id inside keeps jobs of the same name apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.checklists.codec import decode, encode
from bot.checklists.model import Checklist, Refused
from bot.model import JobRef
from bot.store import Store, Versioned

KIND = "checklist"
OPEN_KIND = "checklist-open"
RECHECK_KIND = "checklist-recheck"
# Ten people clicking at once on one checklist: each lost race costs one more read-apply-write round.
UPDATE_RETRIES = 40

Transition = Callable[[Checklist], Checklist]


@dataclass(frozen=True, slots=True)
class Saved:
    checklist: Checklist
    version: int


@dataclass(frozen=True, slots=True)
class RecheckDue:
    checklist: str
    after_min: int
    applied_at: datetime

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> RecheckDue:
        return cls(str(payload["checklist"]), int(payload["after_min"]),
                   datetime.fromisoformat(str(payload["applied_at"])))


class ChecklistState:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def load(self, checklist_id: str) -> Saved | None:
        found = await self._store.records.get(KIND, checklist_id)
        return None if found is None else Saved(decode(found.value), found.version)

    async def create(self, checklist: Checklist) -> None:
        await self._store.records.put(KIND, checklist.id, encode(checklist), None)

    async def delete(self, checklist_id: str) -> None:
        await self._store.records.delete(KIND, checklist_id)

    async def update(self, checklist_id: str, transition: Transition) -> Saved:
        """Apply a pure transition to the latest stored version, retrying lost races; Refused passes through."""

        def apply(value: dict[str, Any] | None) -> dict[str, Any]:
            if value is None:
                raise Refused("This checklist no longer exists in jobbot's store.")
            return encode(transition(decode(value)))

        saved: Versioned = await self._store.records.update(KIND, checklist_id, apply, retries=UPDATE_RETRIES)
        return Saved(decode(saved.value), saved.version)

    # --- one open checklist per job ----------------------------------------------------------------

    async def open_ids(self, job_name: str) -> dict[str, str]:
        """ARM id (lower) -> id of the checklist recorded as open for jobs named `job_name`."""
        found = await self._store.records.get(OPEN_KIND, job_name.lower())
        return dict((found.value.get("open") or {}) if found else {})

    async def open_for(self, job: JobRef) -> Checklist | None:
        checklist_id = (await self.open_ids(job.name)).get(job.id.lower())
        saved = await self.load(checklist_id) if checklist_id else None
        return saved.checklist if saved and saved.checklist.is_open else None

    async def claim_open(self, checklist: Checklist) -> str:
        """Record `checklist` as its job's open one unless another open one is there; the winner's id."""
        job_key = checklist.job.id.lower()
        for _ in range(5):
            current = await self.open_for(checklist.job)
            if current is not None:
                return current.id
            stale = (await self.open_ids(checklist.job.name)).get(job_key)

            def claim(value: dict[str, Any] | None, stale: str | None = stale) -> dict[str, Any]:
                entries = dict((value or {}).get("open") or {})
                if entries.get(job_key) not in (None, stale):
                    return {"open": entries}  # someone else claimed it meanwhile: look again
                entries[job_key] = checklist.id
                return {"open": entries}

            saved = await self._store.records.update(OPEN_KIND, checklist.job.name.lower(), claim,
                                                     retries=UPDATE_RETRIES)
            if saved.value["open"].get(job_key) == checklist.id:
                return checklist.id
        return str((await self.open_ids(checklist.job.name)).get(job_key))

    async def release_open(self, checklist: Checklist) -> None:
        job_key = checklist.job.id.lower()

        def release(value: dict[str, Any] | None) -> dict[str, Any]:
            entries = dict((value or {}).get("open") or {})
            if entries.get(job_key) == checklist.id:
                del entries[job_key]
            return {"open": entries}

        await self._store.records.update(OPEN_KIND, checklist.job.name.lower(), release, retries=UPDATE_RETRIES)

    # --- re-checks -----------------------------------------------------------------------------------

    async def schedule_rechecks(self, checklist: Checklist, minutes: tuple[int, ...]) -> None:
        applied_at = checklist.applied_at
        if applied_at is None:
            return
        for after in minutes:
            # Scheduling again replaces an earlier timer for the same re-check (the rollback was redone).
            await self._store.timers.schedule(RECHECK_KIND, f"{checklist.id}:{after}",
                                              applied_at + timedelta(minutes=after),
                                              {"checklist": checklist.id, "after_min": after,
                                               "applied_at": applied_at.isoformat()})

    async def cancel_rechecks(self, checklist: Checklist, minutes: tuple[int, ...]) -> None:
        for after in minutes:
            await self._store.timers.cancel(RECHECK_KIND, f"{checklist.id}:{after}")
