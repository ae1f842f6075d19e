"""The job's spend over the review window (and the window before it), from the execution history."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import NotApplicable
from bot.evidence.payloads import RetriesEvidence
from bot.model import Execution, ExecutionStatus, Window
from bot.review.cost import execution_cost, monthly, runtime_s
from bot.review.facts import Facts, NotRead
from bot.review.findings import CostSummary, Waste


@dataclass(frozen=True, slots=True)
class Spend:
    window: float
    previous: float | None  # the equal window before; None when the history does not reach back that far
    costs: dict[str, float]  # execution name -> cost, executions started in the window
    runs: tuple[Execution, ...]

    def month(self, facts: Facts) -> float:
        return monthly(self.window, facts.window)


def spend(facts: Facts) -> Spend:
    runs = tuple(facts.in_window())
    rates = facts.settings.rates
    costs = {e.name: execution_cost(e, facts.job, rates, facts.now) for e in runs}
    before = Window(facts.window.start - facts.window.length, facts.window.start)
    history = facts.executions()
    earlier = [e for e in history if e.start is not None and before.start <= e.start < before.end]
    reaches_back = any(e.start is not None and e.start < before.start for e in history) or bool(earlier)
    previous = sum(execution_cost(e, facts.job, rates, facts.now) for e in earlier) if reaches_back else None
    return Spend(sum(costs.values()), previous, costs, runs)


def empty_runs(facts: Facts, found: Spend) -> list[Execution]:
    limit = facts.settings.empty_run_s
    return [e for e in found.runs if e.status is ExecutionStatus.SUCCEEDED
            and (seconds := runtime_s(e, facts.now)) is not None and seconds < limit]


def retry_waste(facts: Facts, found: Spend) -> float | None:
    """The share of each retried execution's cost spent on its failed attempts; None without retry evidence."""
    result = facts.checks.get("retries")
    retries = result.found(RetriesEvidence) if result is not None else None
    if retries is None:
        return None
    return sum(found.costs.get(r.execution, 0.0) * r.failed_attempts / r.attempts
               for r in retries.by_execution if r.attempts > 0)


def extra_replicas(facts: Facts, found: Spend) -> float:
    job = facts.job
    needed = job.replica_completion_count or job.parallelism
    if job.parallelism <= needed:
        return 0.0
    return found.window * (job.parallelism - needed) / job.parallelism


@dataclass(frozen=True, slots=True)
class Duplicates:
    """message_reprocessing.kql's one row: messages seen, those seen in 2+ executions, the executions beyond one."""

    messages: int
    duplicated: int
    extra_executions: int

    def cost(self, found: Spend) -> float | None:
        """Extra executions at the window's average execution cost; None without executions to average."""
        if not found.runs:
            return None
        return self.extra_executions * found.window / len(found.runs)


def duplicates_of(facts: Facts) -> Duplicates | None:
    """What message_reprocessing.kql found; None when it was not run (no message_id_regex, not an event job)."""
    if "message_reprocessing" not in facts.logs and "query message_reprocessing" not in facts.unread:
        return None
    rows = facts.rows("message_reprocessing")
    row = rows[0] if rows else {}
    return Duplicates(int(row.get("Messages") or 0), int(row.get("Duplicated") or 0),
                      int(row.get("ExtraExecutions") or 0))


def duplicate_waste(facts: Facts, found: Spend) -> float | None:
    try:
        duplicates = duplicates_of(facts)
    except (NotRead, NotApplicable):
        return None
    return duplicates.cost(found) if duplicates is not None else None


def summary(facts: Facts) -> CostSummary | None:
    """The report's cost block; None when the execution history could not be read."""
    if facts.executions_list is None:
        return None
    found = spend(facts)
    rates = facts.settings.rates
    waste = Waste(failed_retries=_round(retry_waste(facts, found)),
                  empty_runs=_round(sum(found.costs[e.name] for e in empty_runs(facts, found))),
                  extra_replicas=_round(extra_replicas(facts, found)),
                  duplicates=_round(duplicate_waste(facts, found)))
    return CostSummary(rates.currency, rates.source, rates.as_of, rates.vcpu_s, rates.gib_s,
                       round(found.window, 4), round(found.month(facts), 2), len(found.runs), waste)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
