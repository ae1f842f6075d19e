"""A doctor's findings: one per check, with what was seen and the exact fix. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but something a responder will miss (an empty table, an unset channel)
    FAIL = "fail"  # a read or a post the bot needs will not work
    SKIPPED = "skipped"  # not configured here (say why)


@dataclass(frozen=True, slots=True)
class Finding:
    area: str  # config | slack | azure | database | clock
    check: str  # what was checked, e.g. "list jobs in sub-1"
    status: Status
    detail: str  # what was seen
    fix: str = ""  # the exact step that makes it pass (empty when it passes)


_MARK = {Status.OK: "ok  ", Status.WARN: "warn", Status.FAIL: "FAIL", Status.SKIPPED: "skip"}


def exit_code(findings: Sequence[Finding]) -> int:
    """0 when nothing failed (warnings and skips included), else 1."""
    return 1 if any(f.status == Status.FAIL for f in findings) else 0


def as_json(findings: Sequence[Finding]) -> dict[str, Any]:
    counts = {s.value: sum(1 for f in findings if f.status == s) for s in Status}
    return {"kind": "doctor", "ok": exit_code(findings) == 0, "counts": counts,
            "findings": [{**asdict(f), "status": f.status.value} for f in findings]}


def as_text(findings: Sequence[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{_MARK[f.status]}  {f.area:<8} {f.check}: {f.detail}")
        if f.fix and f.status in (Status.FAIL, Status.WARN):
            lines.append(f"{'':14} fix: {f.fix}")
    failed = sum(1 for f in findings if f.status == Status.FAIL)
    warned = sum(1 for f in findings if f.status == Status.WARN)
    lines.append("all checks passed" if not failed and not warned
                 else f"{failed} failed, {warned} warning{'s' if warned != 1 else ''}")
    return "\n".join(lines) + "\n"
