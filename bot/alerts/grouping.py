"""Which thread an alert goes to: its own, or the open thread of the same rule on the same job (pure).

One `Group` is kept per rule + job (see `routing.group_key`). It remembers the thread opened last and when
its first alert fired, and where every recent alert went, so a repeated delivery of an alert lands in the
thread it joined the first time — even after the window has moved on to a newer thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

# Azure retries a delivery for about 75 s; a day and more covers late Resolved deliveries with room to spare.
REMEMBER = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Placement:
    thread: str
    fired_at: datetime


@dataclass(frozen=True, slots=True)
class Group:
    thread: str | None = None  # the thread firing alerts join while the window is open
    opened_at: datetime | None = None  # when that thread's first alert fired
    alerts: Mapping[str, Placement] = field(default_factory=dict)


def place(group: Group | None, alert_id: str, fired_at: datetime, window: timedelta, *,
          groupable: bool = True) -> tuple[Group, str]:
    """The group after seeing `alert_id`, and the key of the thread the alert belongs to.

    A new alert joins the open thread if it fired within `window` of that thread's first alert (either
    side: deliveries arrive out of order); otherwise it opens a thread of its own, keyed by its own id.
    """
    group = group or Group()
    known = group.alerts.get(alert_id)
    if known is not None:
        return group, known.thread
    within = (group.thread is not None and group.opened_at is not None
              and abs(fired_at - group.opened_at) <= window)
    if groupable and within and group.thread is not None:
        thread = group.thread
        updated = replace(group, alerts=_remember(group, alert_id, Placement(thread, fired_at)))
    else:
        thread = alert_id
        updated = Group(thread, fired_at, _remember(group, alert_id, Placement(thread, fired_at)))
    return updated, thread


def _remember(group: Group, alert_id: str, placement: Placement) -> dict[str, Placement]:
    """Every placement younger than `REMEMBER` (relative to the newest), plus the new one."""
    newest = max([placement.fired_at, *(p.fired_at for p in group.alerts.values())])
    kept = {k: p for k, p in group.alerts.items() if newest - p.fired_at <= REMEMBER or p.thread == group.thread}
    kept[alert_id] = placement
    return kept


def group_to_dict(group: Group) -> dict[str, Any]:
    return {
        "thread": group.thread,
        "opened_at": group.opened_at.isoformat() if group.opened_at else None,
        "alerts": {k: [p.thread, p.fired_at.isoformat()] for k, p in group.alerts.items()},
    }


def group_from_dict(value: Mapping[str, Any] | None) -> Group | None:
    if value is None:
        return None
    opened = value.get("opened_at")
    return Group(
        thread=value.get("thread"),
        opened_at=datetime.fromisoformat(opened) if opened else None,
        alerts={k: Placement(v[0], datetime.fromisoformat(v[1])) for k, v in (value.get("alerts") or {}).items()},
    )
