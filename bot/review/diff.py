"""`review --diff`: the job then and now, as plain data — property diffs, the rules on both states, capacity.

Built by `bot.review.diff_service`; shown by `diff_to_dict` (the review JSON's additive `diff` key) and
`diff_text` (lines for the terminal and the Slack thread). Secret-bearing values never reach it: property
changes come from `bot.evidence.change_diff`, which writes "value changed" on those paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.evidence.change_records import VALUE_CHANGED, ChangeRecord, PropertyChange
from bot.evidence.rows import iso
from bot.review.cost import money_text
from bot.review.diff_capacity import Side
from bot.review.findings import Finding, Status

JUDGED = (Status.OK, Status.WARN, Status.FAIL)


@dataclass(frozen=True, slots=True)
class RuleChange:
    id: str
    before: Status
    after: Status
    change: str  # "new fail" | "new warn" | "fixed" | "eased" | "not comparable"
    title: str  # the after side's title (the before side's when only it judged)


@dataclass(frozen=True, slots=True)
class Who:
    time: datetime | None
    caller: str | None
    caller_kind: str
    source: str
    client: str | None
    what: str


@dataclass(frozen=True, slots=True)
class DiffReport:
    at: datetime | None  # the change time the windows meet at; None: not known (no --at, nothing recorded)
    source: str | None  # where the before-state came from (diff_before.BeforeSource); None: not found
    note: str
    changes: tuple[PropertyChange, ...] = ()
    rules: tuple[RuleChange, ...] = ()
    capacity: tuple[Side | None, Side | None] | None = None  # a side is None when the history does not cover it
    who: tuple[Who, ...] = ()
    problems: tuple[str, ...] = ()  # "could not …" lines: what the diff could not show, and why
    changed_at: datetime | None = None  # where the capacity windows meet: the first change after `at`, else `at`
    # Why secret-like values were not compared (a masked snapshot against the job now: both sides show the marker,
    # so a rotated token would look unchanged); None when they were, or the job has none.
    secrets_uncompared: str | None = None


SNAPSHOT_MASKED = "not compared (jobbot's snapshots keep them masked)"


def compare_rules(before: Iterable[Finding], after: Iterable[Finding]) -> tuple[RuleChange, ...]:
    """Rules whose status differs between the two states, by id."""
    then = {f.id: f for f in before}
    out: list[RuleChange] = []
    for now in after:
        old = then.get(now.id)
        if old is None or old.status is now.status:
            continue
        title = now.title if now.status in JUDGED else old.title
        out.append(RuleChange(now.id, old.status, now.status, _change(old.status, now.status), title))
    return tuple(out)


def _change(before: Status, after: Status) -> str:
    if before not in JUDGED or after not in JUDGED:
        return "not comparable"
    if after is Status.FAIL:
        return "new fail"
    if after is Status.OK:
        return "fixed"
    return "new warn" if before is Status.OK else "eased"


def who_of(records: Iterable[ChangeRecord], at: datetime | None) -> tuple[Who, ...]:
    """Who changed what after `at`, oldest first (Activity Log and Resource Graph each say who and when)."""
    kept = [r for r in records if at is None or (r.time is not None and r.time > at)]
    kept.sort(key=lambda r: (r.time.timestamp() if r.time else 0.0, r.source.value, r.what))
    return tuple(Who(r.time, r.caller, r.caller_kind.value, r.source.value, r.client, r.what) for r in kept)


# --- output -----------------------------------------------------------------------------------------------

def diff_to_dict(diff: DiffReport) -> dict[str, Any]:
    return {
        "at": iso(diff.at), "changed_at": iso(diff.changed_at), "before_source": diff.source, "before": diff.note,
        "changes": [{"path": c.path, "before": _shown(c.before), "after": _shown(c.after)} for c in diff.changes],
        "rules": [{"id": r.id, "before": r.before.value, "after": r.after.value, "change": r.change, "title": r.title}
                  for r in diff.rules],
        "capacity": None if diff.capacity is None else {
            name: None if found is None else found.as_dict() for name, found in zip(("before", "after"), diff.capacity,
                                                                                    strict=True)},
        "who": [{"time": iso(w.time), "caller": w.caller, "caller_kind": w.caller_kind, "source": w.source,
                 "client": w.client, "what": w.what} for w in diff.who],
        "problems": list(diff.problems),
        "secret_like_values": diff.secrets_uncompared,  # null: compared (or none in the job)
    }


def _shown(value: Any) -> Any:
    return "changed" if value == VALUE_CHANGED else value


def diff_text(diff: DiffReport, currency: str) -> list[str]:
    """The diff section's lines (plain text: the terminal prints them, Slack wraps them in a code block)."""
    moment = f" since {diff.at:%Y-%m-%d %H:%M} UTC" if diff.at else ""
    lines = [f"diff{moment}: before = {diff.note}" if diff.source else f"diff{moment}: no before-state"]
    lines += [f"  {p}" for p in diff.problems]
    if diff.source:
        lines.append("  properties (before → after):" if diff.changes else "  properties: no difference")
        lines += [f"    {c.path}: {_change_text(c)}" for c in diff.changes]
        if diff.secrets_uncompared:
            lines.append(f"  secret-like values: {diff.secrets_uncompared}")
    for w in diff.who:
        when = f"{w.time:%Y-%m-%d %H:%M} UTC" if w.time else "time unknown"
        via = f" via {w.client}" if w.client else ""
        lines.append(f"  changed {when} by {w.caller or 'unknown'} ({w.caller_kind}, {w.source}{via}): {w.what}")
    if diff.rules:
        lines.append("  rules (before → after):")
        lines += [f"    {r.change:<14} {r.id:<8} {r.before.value} → {r.after.value}  {r.title}" for r in diff.rules]
    elif diff.source:
        lines.append("  rules: every rule judges both states the same")
    if diff.capacity is not None:
        lines += _capacity_lines(*diff.capacity, currency)
    return lines


def _capacity_lines(before: Side | None, after: Side | None, currency: str) -> list[str]:
    known = before or after
    if known is None:
        return []
    hours = known.window.length.total_seconds() / 3600
    meet = known.window.end if before is not None else known.window.start
    rows = [
        ("runs/h", _of(before, lambda s: f"{s.runs_per_hour:.2f}"), _of(after, lambda s: f"{s.runs_per_hour:.2f}")),
        ("p95 duration", _of(before, lambda s: _s(s.p95_duration_s)), _of(after, lambda s: _s(s.p95_duration_s))),
        ("failure rate", _of(before, lambda s: _pct(s.failure_rate)), _of(after, lambda s: _pct(s.failure_rate))),
        ("p95 start-up", _of(before, lambda s: _s(s.startup_p95_s)), _of(after, lambda s: _s(s.startup_p95_s))),
        ("peak replicas", _of(before, lambda s: f"{s.peak_replicas} of {s.capacity_replicas}"),
         _of(after, lambda s: f"{s.peak_replicas} of {s.capacity_replicas}")),
        ("cost per run", _of(before, lambda s: _money(s.cost_per_run, currency)),
         _of(after, lambda s: _money(s.cost_per_run, currency))),
    ]
    runs = " vs ".join(_of(s, lambda s: str(s.runs)) for s in (before, after))
    lines = [f"  capacity, {hours:.1f} h before vs {hours:.1f} h after {meet:%Y-%m-%d %H:%M} UTC "
             f"({runs} runs; peak replicas of parallelism × maxExecutions):"]
    lines += [f"    {name:<14} {b:>16}  →  {a}" for name, b, a in rows]
    return lines


def _of(found: Side | None, shown: Callable[[Side], str]) -> str:
    return "n/a" if found is None else shown(found)


def _change_text(change: PropertyChange) -> str:
    if VALUE_CHANGED in (change.before, change.after) and None not in (change.before, change.after):
        return "changed"  # a secret-like value: that it changed, never what to
    return f"{_value(change.before)} → {_value(change.after)}"


def _value(value: Any) -> str:
    if value is None:
        return "(absent)"
    if value == VALUE_CHANGED:
        return "changed"
    return str(value)


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} s"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


def _money(value: float | None, currency: str) -> str:
    return "n/a" if value is None else money_text(value, currency)
