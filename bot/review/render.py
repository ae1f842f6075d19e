"""The review for a terminal (`--format text`), and the order both it and Slack list findings in."""

from __future__ import annotations

from collections.abc import Iterable

from bot.review.cost import money_text
from bot.review.findings import Finding, ReviewReport, Status

STATUS_RANK = {Status.FAIL: 0, Status.WARN: 1, Status.ERROR: 2, Status.SKIPPED: 3, Status.OK: 4}
MARK = {Status.OK: "ok  ", Status.WARN: "WARN", Status.FAIL: "FAIL", Status.ERROR: "ERR ", Status.SKIPPED: "skip"}


def worst_first(findings: Iterable[Finding]) -> list[Finding]:
    """fail before warn, then severity, then money at stake, then id (a stable tie-break)."""
    return sorted(findings, key=lambda f: (STATUS_RANK[f.status], -f.severity.weight,
                                           -(f.money.month if f.money else 0.0), f.id))


def headline(report: ReviewReport) -> str:
    count = {s: sum(1 for f in report.findings if f.status is s) for s in Status}
    evaluated = count[Status.OK] + count[Status.WARN] + count[Status.FAIL]
    return (f"Review of {report.job.name}: {count[Status.FAIL]} fail, {count[Status.WARN]} warn, "
            f"{evaluated}/{len(report.findings)} evaluated")


def score_text(report: ReviewReport) -> list[str]:
    return [f"{pillar.value:<12} {'n/a' if s.score is None else s.score:>4}  ({s.evaluated}/{s.total} evaluated)"
            for pillar, s in report.scores.items()]


def render_review_text(report: ReviewReport) -> str:
    days = report.window.length.total_seconds() / 86400
    lines = [headline(report), f"window: {days:g} d to {report.window.end:%Y-%m-%d %H:%M} UTC", "", "scores:"]
    lines += ["  " + s for s in score_text(report)]
    if report.cost is not None:
        c = report.cost
        lines += ["", f"cost: {money_text(c.window, c.currency)} over {c.executions} executions in the window, about "
                      f"{money_text(c.month, c.currency)} a month (before the free grant: {c.free_grant})",
                  f"  waste: failed retries {_money(c.waste.failed_retries, c.currency)}, empty runs "
                  f"{_money(c.waste.empty_runs, c.currency)}, extra replicas "
                  f"{_money(c.waste.extra_replicas, c.currency)}"
                  f", duplicates {_money(c.waste.duplicates, c.currency)}",
                  f"  rates: {c.vcpu_s}/vCPU-s, {c.gib_s}/GiB-s — {c.rates_source}; "
                  f"as of {c.rates_as_of or 'not dated'}"]
    lines += ["", "findings (worst first):"]
    for f in worst_first(report.findings):
        lines.append(f"  {MARK[f.status]} {f.id:<8} {f.severity.value:<6} {f.title}")
        if f.status in (Status.FAIL, Status.WARN) and f.fix is not None:
            lines.append(f"                  verify: {f.fix.verify}")
    return "\n".join(lines) + "\n"


def _money(value: float | None, currency: str) -> str:
    return "not measured" if value is None else money_text(value, currency)  # duplicates need message_id_regex
