"""A thread as the JSON document the store keeps, and back. Times are ISO 8601 strings in UTC."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.alerts.schema import Condition
from bot.alerts.thread import (
    Ack,
    Effect,
    Facts,
    Flapping,
    IncidentFacts,
    Lease,
    Member,
    Posted,
    Routing,
    Thread,
    TriageResult,
)


def thread_to_dict(thread: Thread) -> dict[str, Any]:
    facts, routing, triage = thread.facts, thread.routing, thread.triage
    return {
        "key": thread.key,
        "facts": {
            "rule": facts.rule, "severity": facts.severity, "signal_type": facts.signal_type,
            "monitoring_service": facts.monitoring_service, "description": facts.description,
            "target": facts.target, "criteria": list(facts.criteria), "link": facts.link,
        },
        "routing": {
            "channel": routing.channel, "channel_source": routing.channel_source, "job": routing.job,
            "job_found_by": routing.job_found_by, "resource_group": routing.resource_group,
            "subscription": routing.subscription, "primary": routing.primary, "chain": list(routing.chain),
            "escalate_after_s": routing.escalate_after_s, "notes": list(routing.notes),
        },
        "opened_at": _time(thread.opened_at),
        "members": [
            {"alert_id": m.alert_id, "fired_at": _time(m.fired_at), "resolved_at": _time(m.resolved_at),
             "seen": [c.value for c in m.seen], "severity": m.severity, "deliveries": list(m.deliveries),
             "job": m.job}
            for m in thread.members
        ],
        "effects": [
            {"key": e.key, "done": e.done, "lease": _lease(e.lease), "attempts": e.attempts,
             "retry_at": _time(e.retry_at), "result": e.result}
            for e in thread.effects
        ],
        "posted": thread.posted.value,
        "channel": thread.channel,
        "ts": thread.ts,
        "view": thread.view,
        "shown": thread.shown,
        "refresh_lease": _lease(thread.refresh_lease),
        "triage": None if triage is None else {"text": triage.text, "cause": triage.cause, "error": triage.error},
        "ack": None if thread.ack is None else {"user": thread.ack.user, "at": _time(thread.ack.at)},
        "escalated": thread.escalated,
        "flapping": None if thread.flapping is None else {
            "fired": thread.flapping.fired, "window_min": thread.flapping.window_min,
            "since": _time(thread.flapping.since)},
        "incident": None if thread.incident is None else {
            "kind": thread.incident.kind, "name": thread.incident.name, "jobs": list(thread.incident.jobs),
            "owner": thread.incident.owner},
        "part_of": thread.part_of,
    }


def thread_from_dict(raw: Mapping[str, Any]) -> Thread:
    facts, routing, triage, ack = raw["facts"], raw["routing"], raw.get("triage"), raw.get("ack")
    flapping = raw.get("flapping")  # absent in threads stored before flapping was noticed
    incident = raw.get("incident")  # absent in threads stored before incidents
    return Thread(
        key=raw["key"],
        facts=Facts(
            rule=facts["rule"], severity=facts["severity"], signal_type=facts["signal_type"],
            monitoring_service=facts["monitoring_service"], description=facts["description"],
            target=facts.get("target"), criteria=tuple(facts.get("criteria") or ()), link=facts.get("link"),
        ),
        routing=Routing(
            channel=routing.get("channel"), channel_source=routing["channel_source"], job=routing.get("job"),
            job_found_by=routing.get("job_found_by"), resource_group=routing.get("resource_group"),
            subscription=routing.get("subscription"), primary=routing.get("primary"),
            chain=tuple(routing.get("chain") or ()), escalate_after_s=float(routing["escalate_after_s"]),
            notes=tuple(routing.get("notes") or ()),
        ),
        opened_at=_parse(raw["opened_at"]),
        members=tuple(
            Member(alert_id=m["alert_id"], fired_at=_maybe(m.get("fired_at")), resolved_at=_maybe(m.get("resolved_at")),
                   seen=tuple(Condition(c) for c in m.get("seen") or ()), severity=m.get("severity") or "",
                   deliveries=tuple(str(d) for d in m.get("deliveries") or ()), job=m.get("job"))
            for m in raw.get("members") or ()
        ),
        effects=tuple(
            Effect(key=e["key"], done=bool(e["done"]), lease=_unlease(e.get("lease")), attempts=int(e["attempts"]),
                   retry_at=_maybe(e.get("retry_at")), result=e.get("result"))
            for e in raw.get("effects") or ()
        ),
        posted=Posted(raw["posted"]),
        channel=raw.get("channel"),
        ts=raw.get("ts"),
        view=int(raw["view"]),
        shown=int(raw["shown"]),
        refresh_lease=_unlease(raw.get("refresh_lease")),
        triage=None if triage is None else TriageResult(
            text=triage["text"], cause=triage.get("cause"), error=triage.get("error")),
        ack=None if ack is None else Ack(ack["user"], _parse(ack["at"])),
        escalated=int(raw.get("escalated") or 0),
        flapping=None if not flapping else Flapping(
            int(flapping["fired"]), float(flapping["window_min"]), _parse(flapping["since"])),
        incident=None if not incident else IncidentFacts(
            str(incident["kind"]), str(incident["name"]), tuple(incident.get("jobs") or ()), incident.get("owner")),
        part_of=raw.get("part_of"),
    )


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _maybe(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text)


def _lease(lease: Lease | None) -> dict[str, str] | None:
    return None if lease is None else {"owner": lease.owner, "until": lease.until.isoformat()}


def _unlease(raw: Mapping[str, str] | None) -> Lease | None:
    return None if not raw else Lease(raw["owner"], datetime.fromisoformat(raw["until"]))
