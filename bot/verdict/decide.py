"""Findings -> verdict. Pure: reads check results, never calls anything.

Order of precedence (architecture doc): an active Azure health event; then the most specific platform
signatures (image pull, capacity, identity, scaler, stuck); then exit-code signatures (137 -> oom,
143/deadline -> timeout); then the shape of the failures (dependency, poison-message, app-error).
With no failures: saturation, scaler silence, or healthy — and never healthy while evidence is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from bot import exitcodes
from bot.evidence.activity import is_job_definition_change
from bot.evidence.change_revert import TEMPLATE, restored_by_image_rollback
from bot.evidence.payloads import (
    ConfigChangesEvidence,
    ConsoleEvidence,
    ConsoleSignature,
    ExitCodeCount,
    ExitCodesEvidence,
    FailuresEvidence,
    IdentityEvidence,
    MemoryEvidence,
    QueueEvidence,
    ScalerEvidence,
)
from bot.evidence.rows import iso
from bot.model import NO_ROLLBACK_CAUSES, Cause, CheckResult, CheckStatus, Confidence, RollbackCandidate, Verdict
from bot.verdict.access_now import access_now
from bot.verdict.change_choice import suspected_for

E = TypeVar("E")
# Failures that could not be read count as none here; `_cause` says so when nothing else names a cause.
NO_EXECUTIONS = FailuresEvidence(0, 0, 0, 0, None, None, ())

# Exit codes a runtime uses when its own allocator gives up: 1 (Python, Java, .NET), 2 (Go), 134 (Node abort).
RUNTIME_OOM_EXIT_CODES = frozenset({1, 2, 134})
# A failure share under this, with the rest succeeding, is "some messages", not "the code".
POISON_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class _Findings:
    results: Mapping[str, CheckResult]

    def status(self, name: str) -> CheckStatus:
        result = self.results.get(name)
        return result.status if result else CheckStatus.SKIPPED

    def found(self, name: str, kind: type[E]) -> E | None:
        """What check `name` found, when it ran to the end."""
        result = self.results.get(name)
        return result.found(kind) if result else None

    def summary(self, name: str) -> str:
        result = self.results.get(name)
        return result.summary.rstrip(".") if result else ""

    def failed(self, name: str) -> bool:
        return self.status(name) is CheckStatus.FAIL

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(n for n, r in self.results.items() if r.status is CheckStatus.ERROR)


def decide(results: Sequence[CheckResult], window_label: str = "in the window") -> Verdict:
    findings = _Findings({r.name: r for r in results})
    verdict = _cause(findings, window_label)
    verdict = _attach_change(verdict, findings)
    return _account_for_missing(verdict, findings)


def _cause(f: _Findings, when: str) -> Verdict:
    fail = f.found("failures", FailuresEvidence) or NO_EXECUTIONS
    total, failed, succeeded, running = fail.total, fail.failed, fail.succeeded, fail.running
    trouble = failed > 0 or f.failed("stuck_executions") or f.failed("scaler")
    of_total = f"{failed} of {total} executions {when}"

    if f.failed("platform_health") and (trouble or total == 0):
        return Verdict(Cause.PLATFORM, Confidence.HIGH,
                       f"{f.summary('platform_health')}; {of_total} failed. Wait for Azure rather than roll back.")
    if f.failed("scaler"):
        scaler = f.found("scaler", ScalerEvidence)
        waiting = (f" No execution started {when} while {scaler.depth} messages wait."
                   if scaler and scaler.executions_in_window == 0 and scaler.depth else "")
        return Verdict(Cause.SCALER_FAILURE, Confidence.HIGH,
                       f"The scale rule cannot read its event source: {f.summary('scaler')}.{waiting}")
    for check, cause in (("image_pulls", Cause.IMAGE_PULL), ("capacity", Cause.CAPACITY),
                         ("identity", Cause.IDENTITY), ("stuck_executions", Cause.STUCK_EXECUTION)):
        if f.failed(check):
            return Verdict(cause, Confidence.HIGH, f"{f.summary(check)}." + (f" {of_total} failed." if failed else ""))

    if failed:
        return _failure_shape(f, failed, total, succeeded, of_total)
    if f.status("failures") is CheckStatus.ERROR:
        # Without the execution history "no failures" and "no executions" are unknowns, not findings.
        return Verdict(Cause.UNKNOWN, Confidence.LOW,
                       "Could not read the execution history, and nothing else names a cause "
                       f"({f.summary('failures')}).")
    return _no_failures(f, total, running, when)


def _dominant_exit_code(f: _Findings) -> ExitCodeCount | None:
    codes = f.found("exit_codes", ExitCodesEvidence)
    return codes.dominant_error if codes else None


def _failure_shape(f: _Findings, failed: int, total: int, succeeded: int, of_total: str) -> Verdict:
    code = _dominant_exit_code(f)
    fail = f.found("failures", FailuresEvidence)
    reasons = {r for e in (fail.executions if fail else ()) for r in e.reasons or ()}
    changes = f.found("config_changes", ConfigChangesEvidence)
    suspected = changes.suspected_change if changes else None
    if code and code.code == exitcodes.OOM:
        memory = f.found("memory", MemoryEvidence)
        near_limit = f.status("memory") is CheckStatus.WARN
        memory_cut = bool(changes and changes.memory_changed)
        confidence = Confidence.HIGH if near_limit or memory_cut else Confidence.MEDIUM
        evidence = ""
        if memory and memory.ratio:
            evidence = f"; peak memory reached {memory.ratio:.0%} of the limit"
        elif not near_limit:
            evidence = "; no memory metric confirms it (137 is any SIGKILL)"
        return Verdict(Cause.OOM, confidence,
                       f"{of_total} failed; {code.executions} were killed with exit code 137 (memory limit)"
                       f"{evidence}.")
    if (code and code.code == exitcodes.SIGTERM) or "DeadlineExceeded" in reasons:
        return Verdict(Cause.TIMEOUT, Confidence.HIGH,
                       f"{of_total} failed by hitting replicaTimeout (DeadlineExceeded / exit code 143).")

    console = f.found("console_errors", ConsoleEvidence)
    signatures = console.signatures if console else ()
    dependency = console.widespread("dependency") if console else []
    identity = console.widespread("identity") if console else []
    queue = f.found("queue_depth", QueueEvidence)
    dead_letter = (queue.dead_letter or 0) if queue else 0
    exit_text = f" with exit code {code.code} ({code.meaning})" if code else ""

    out_of_memory = [s for s in signatures if s.kind == "memory"]
    if out_of_memory and (code is None or code.code in RUNTIME_OOM_EXIT_CODES):
        # The runtime's own allocator gave up (JavaScript heap, MemoryError …) before the kernel's 137.
        memory = f.found("memory", MemoryEvidence)
        near_limit = f.status("memory") is CheckStatus.WARN
        peak = f"; peak memory reached {memory.ratio:.0%} of the limit" if memory and memory.ratio else ""
        return Verdict(Cause.OOM, Confidence.HIGH if near_limit else Confidence.MEDIUM,
                       f"{of_total} failed{exit_text}; the runtime ran out of memory: "
                       f"{out_of_memory[0].signature[:160]}{peak}.")
    missing_source = [s for s in signatures if s.kind == "event-source"]
    if missing_source:
        return Verdict(Cause.SCALER_FAILURE, Confidence.HIGH,
                       f"{of_total} failed{exit_text}; the event source the job reads does not exist: "
                       f"{missing_source[0].signature[:160]}.")
    if identity:
        return Verdict(Cause.IDENTITY, Confidence.MEDIUM,
                       f"{of_total} failed; the workload is refused access: {identity[0].signature[:160]}")
    if dependency and not suspected:
        return Verdict(Cause.DEPENDENCY, Confidence.HIGH,
                       f"{of_total} failed{exit_text}; across {dependency[0].executions} executions the "
                       f"workload cannot reach something downstream: {dependency[0].signature[:160]}. "
                       "The job itself did not change: a rollback would not help.")
    share = failed / total if total else 1.0
    if succeeded and share < POISON_SHARE and (dead_letter or _one_signature(signatures, failed)):
        dlq = f"; {dead_letter} messages dead-lettered" if dead_letter else ""
        return Verdict(Cause.POISON_MESSAGE, Confidence.HIGH if dead_letter else Confidence.MEDIUM,
                       f"{of_total} failed with the same error while {succeeded} succeeded{dlq}: "
                       "the same message keeps failing, not the code as a whole.")
    if dependency:
        return Verdict(Cause.DEPENDENCY, Confidence.MEDIUM,
                       f"{of_total} failed{exit_text}; the workload cannot reach something downstream "
                       f"({dependency[0].signature[:120]}), although the job also changed recently.")
    if code is None and not signatures:
        return Verdict(Cause.UNKNOWN, Confidence.LOW,
                       f"{of_total} failed, but neither exit codes nor console errors were logged for them.")
    if not signatures and share < POISON_SHARE and not suspected:
        # A minority fails, nothing changed and the workload said nothing: naming a cause would be a guess.
        return Verdict(Cause.UNKNOWN, Confidence.LOW,
                       f"{of_total} failed{exit_text} while {succeeded} succeeded; nothing changed and the job wrote "
                       "no console output, so the cause cannot be told. Missing: console output of the failing "
                       "executions (does the job log elsewhere?).")
    confidence = Confidence.HIGH if suspected else Confidence.MEDIUM
    return Verdict(Cause.APP_ERROR, confidence, f"{of_total} failed{exit_text}.")


def _one_signature(signatures: Sequence[ConsoleSignature], failed: int) -> bool:
    app = [s for s in signatures if s.kind == "application"]
    return bool(app) and app[0].executions >= max(1, failed - 1) and app[0].count >= 2


def _no_failures(f: _Findings, total: int, running: int, when: str) -> Verdict:
    queue = f.found("queue_depth", QueueEvidence)
    depth = queue.depth if queue else None
    if queue and f.failed("queue_depth") and running >= queue.max_executions > 0:
        return Verdict(Cause.SATURATION, Confidence.HIGH,
                       f"{running} executions are running at maxExecutions {queue.max_executions} and "
                       f"{depth} messages wait (one round takes {queue.capacity}); nothing is failing: "
                       "the job needs more capacity, not a fix.")
    if total == 0 and depth:
        changes = f.found("config_changes", ConfigChangesEvidence)
        lifecycle = [c for c in (changes.changes if changes else ()) if c.lifecycle_action]
        why = f" after a manual {lifecycle[0].lifecycle_action} at {iso(lifecycle[0].time)}" if lifecycle else ""
        return Verdict(Cause.SCALER_FAILURE, Confidence.MEDIUM,
                       f"No execution started {when} while {depth} messages wait{why}: the scale rule is not "
                       "acting, though no scaler error was logged.")
    if f.missing:
        return Verdict(Cause.UNKNOWN, Confidence.LOW,
                       f"No failure seen, but part of the evidence is missing ({', '.join(f.missing)}).")
    if f.failed("queue_depth"):
        return Verdict(Cause.UNKNOWN, Confidence.LOW,
                       f"Nothing fails, but {depth} messages wait and only {running} executions run.")
    stopped = f.found("failures", FailuresEvidence)
    if stopped and stopped.stopped:
        who = f" (the job was stopped by {stopped.stopped_by})" if stopped.stopped_by else ""
        return Verdict(Cause.UNKNOWN, Confidence.LOW,
                       f"No execution failed {when}, but {stopped.stopped} of {total} were stopped{who}: stopped work "
                       "did not complete, and a stop can leave event scaling off.")
    if total == 0:
        return Verdict(Cause.HEALTHY, Confidence.MEDIUM, f"No executions {when} and no work waiting.")
    return Verdict(Cause.HEALTHY, Confidence.HIGH, f"All {total} executions {when} succeeded or are running.")


def _attach_change(verdict: Verdict, f: _Findings) -> Verdict:
    if verdict.cause in {Cause.HEALTHY, Cause.UNKNOWN}:
        return verdict
    changes = f.found("config_changes", ConfigChangesEvidence)
    if changes is None or (verdict.cause is Cause.DEPENDENCY and verdict.confidence is Confidence.HIGH):
        return verdict
    change = suspected_for(verdict.cause, changes)
    if change is None:
        return verdict
    # A deleted role assignment: does the identity lack the role now, or was it re-granted?
    now = access_now(change, f.found("identity", IdentityEvidence), f.found("failures", FailuresEvidence))
    change = now.change
    if now.sentence:
        lower = {Confidence.HIGH: Confidence.MEDIUM, Confidence.MEDIUM: Confidence.LOW, Confidence.LOW: Confidence.LOW}
        verdict = replace(verdict, summary=f"{verdict.summary} {now.sentence}",
                          confidence=lower[verdict.confidence] if now.weakens else verdict.confidence)
    rollback = None
    last_good = changes.last_good
    # An image rollback helps only when the template changed: with the same template it changes nothing.
    template_changed = bool(changes.template_diff) or any(c.path.startswith(TEMPLATE) for c in change.changes)
    if (verdict.cause not in NO_ROLLBACK_CAUSES and is_job_definition_change(change) and template_changed
            and restored_by_image_rollback(change) and last_good and last_good.image):
        rollback = RollbackCandidate(last_good.image, last_good.end or last_good.start, last_good.execution)
    return replace(verdict, suspected_change=change, rollback_candidate=rollback)


def _account_for_missing(verdict: Verdict, f: _Findings) -> Verdict:
    if not f.missing:
        return verdict
    lower = {Confidence.HIGH: Confidence.MEDIUM, Confidence.MEDIUM: Confidence.LOW, Confidence.LOW: Confidence.LOW}
    confidence = verdict.confidence if verdict.cause is Cause.UNKNOWN else lower[verdict.confidence]
    note = "" if "missing" in verdict.summary else f" Could not check: {', '.join(f.missing)}."
    return replace(verdict, confidence=confidence, summary=verdict.summary + note, missing_evidence=f.missing)

