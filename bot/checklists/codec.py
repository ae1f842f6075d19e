"""Checklist <-> the JSON document the store keeps. One function per shape, both ways.

The document carries a format number: a replica running older code refuses a newer document loudly
(`UnknownFormat`) instead of dropping fields it does not know and writing the rest back. Format 2 added
the steps jobbot completed itself (`evidence`), property reverts and checklists without a target image;
format 1 documents still read (they have none of those).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.checklists.model import (
    Check,
    Checklist,
    Event,
    EventKind,
    Finding,
    FindingState,
    Recheck,
    Revert,
    Step,
    StepKind,
    StepStatus,
    Target,
)
from bot.errors import JobbotError
from bot.model import Cause, JobRef

FORMAT = 2
READABLE = frozenset({1, FORMAT})


class UnknownFormat(JobbotError):
    """A stored checklist written by a newer jobbot (or not a checklist at all)."""


def encode(checklist: Checklist) -> dict[str, Any]:
    c = checklist
    return {
        "format": FORMAT,
        "id": c.id,
        "job": {"name": c.job.name, "resource_group": c.job.resource_group, "subscription": c.job.subscription,
                "id": c.job.id},
        "cause": c.cause.value,
        "summary": c.summary,
        "target": {"image": c.target.image, "current_image": c.target.current_image,
                   "last_success": _time(c.target.last_success), "execution": c.target.execution,
                   "diff": list(c.target.diff)},
        "approvers": list(c.approvers),
        "channel": c.channel,
        "ts": c.ts,
        "opened_by": c.opened_by,
        "opened_at": _time(c.opened_at),
        "steps": [_encode_step(s) for s in c.steps],
        "events": [{"at": _time(e.at), "actor": e.actor, "kind": e.kind.value,
                    "step": None if e.step is None else e.step.value, "note": e.note} for e in c.events],
        "lead": c.lead,
        "applied_at": _time(c.applied_at),
        "queue_baseline": c.queue_baseline,
        "queue_capacity": c.queue_capacity,
        "rechecks": [{"after_min": r.after_min, "applied_at": _time(r.applied_at), "at": _time(r.at),
                      "recovered": r.recovered} for r in c.rechecks],
        "closed_at": _time(c.closed_at),
        "closed_by": c.closed_by,
        "reverts": [{"resource": r.resource, "path": r.path, "before": r.before, "after": r.after}
                    for r in c.reverts],
    }


def decode(value: Mapping[str, Any]) -> Checklist:
    if value.get("format") not in READABLE:
        raise UnknownFormat(f"stored checklist has format {value.get('format')!r}; this jobbot reads "
                            f"{', '.join(str(f) for f in sorted(READABLE))}")
    job, target = value["job"], value["target"]
    return Checklist(
        id=str(value["id"]),
        job=JobRef(str(job["name"]), str(job["resource_group"]), str(job["subscription"]), str(job["id"])),
        cause=Cause(value["cause"]),
        summary=str(value["summary"]),
        target=Target(None if target.get("image") is None else str(target["image"]), target.get("current_image"),
                      _parse(target.get("last_success")), target.get("execution"),
                      tuple(str(line) for line in target.get("diff") or ())),
        approvers=tuple(str(a) for a in value.get("approvers") or ()),
        channel=str(value["channel"]),
        ts=value.get("ts"),
        opened_by=str(value["opened_by"]),
        opened_at=_required(value["opened_at"]),
        steps=tuple(_decode_step(s) for s in value["steps"]),
        events=tuple(Event(_required(e["at"]), str(e["actor"]), EventKind(e["kind"]),
                           None if e.get("step") is None else StepKind(e["step"]), str(e.get("note") or ""))
                     for e in value.get("events") or ()),
        lead=value.get("lead"),
        applied_at=_parse(value.get("applied_at")),
        queue_baseline=value.get("queue_baseline"),
        queue_capacity=value.get("queue_capacity"),
        rechecks=tuple(Recheck(int(r["after_min"]), _required(r["applied_at"]), _required(r["at"]),
                               bool(r["recovered"])) for r in value.get("rechecks") or ()),
        closed_at=_parse(value.get("closed_at")),
        closed_by=value.get("closed_by"),
        reverts=tuple(Revert(str(r["resource"]), str(r["path"]), r.get("before"), r.get("after"))
                      for r in value.get("reverts") or ()),
    )


def _encode_step(step: Step) -> dict[str, Any]:
    check = step.check
    return {
        "kind": step.kind.value,
        "title": step.title,
        "detail": step.detail,
        "commands": list(step.commands),
        "mentions": list(step.mentions),
        "needs_approval": step.needs_approval,
        "status": step.status.value,
        "by": step.by,
        "at": _time(step.at),
        "reason": step.reason,
        "evidence": step.evidence,
        "check": None if check is None else {
            "at": _time(check.at),
            "findings": [{"name": f.name, "state": f.state.value, "evidence": f.evidence} for f in check.findings],
        },
    }


def _decode_step(raw: Mapping[str, Any]) -> Step:
    check = raw.get("check")
    return Step(
        kind=StepKind(raw["kind"]),
        title=str(raw["title"]),
        detail=str(raw.get("detail") or ""),
        commands=tuple(str(c) for c in raw.get("commands") or ()),
        mentions=tuple(str(m) for m in raw.get("mentions") or ()),
        needs_approval=bool(raw.get("needs_approval")),
        status=StepStatus(raw["status"]),
        by=raw.get("by"),
        at=_parse(raw.get("at")),
        reason=raw.get("reason"),
        evidence=str(raw.get("evidence") or ""),
        check=None if check is None else Check(
            _required(check["at"]),
            tuple(Finding(str(f["name"]), FindingState(f["state"]), str(f["evidence"])) for f in check["findings"]),
        ),
    )


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parse(text: Any) -> datetime | None:
    return None if text is None else datetime.fromisoformat(str(text))


def _required(text: Any) -> datetime:
    return datetime.fromisoformat(str(text))
