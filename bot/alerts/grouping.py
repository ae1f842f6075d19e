"""Which thread a new alert opens or joins: the open thread of the same rule on the same job, if the
alert fired within the window of that thread's first alert (pure).

One `Group` is kept per rule + job (see `routing.group_key`): the thread opened last and when its first
alert fired. Where each alert went is remembered elsewhere, once and for good (`storage.AlertRecords`),
so an alert that keeps firing for days still finds its thread when its Resolved arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class Group:
    thread: str | None = None  # the thread new alerts join while the window is open
    opened_at: datetime | None = None  # when that thread's first alert fired


def place(group: Group | None, alert_id: str, fired_at: datetime, window: timedelta, *,
          groupable: bool = True, flapping_in: str | None = None) -> tuple[Group, str]:
    """The group after a new alert, and the key of the thread the alert belongs to.

    It joins the open thread if it fired within `window` of that thread's first alert (either side:
    deliveries arrive out of order); otherwise it opens a thread of its own, keyed by its own id. An
    alert flapping in a thread (`flapping_in`) joins that one, however long it has been flapping.
    """
    group = group or Group()
    if flapping_in is not None:
        return group, flapping_in
    if groupable and group.thread is not None and group.opened_at is not None \
            and abs(fired_at - group.opened_at) <= window:
        return group, group.thread
    return Group(alert_id, fired_at), alert_id


def group_to_dict(group: Group) -> dict[str, Any]:
    return {"thread": group.thread, "opened_at": group.opened_at.isoformat() if group.opened_at else None}


def group_from_dict(value: Mapping[str, Any] | None) -> Group | None:
    if value is None:
        return None
    opened = value.get("opened_at")
    return Group(thread=value.get("thread"), opened_at=datetime.fromisoformat(opened) if opened else None)
