"""The verdict, branch by branch, from typed evidence: what the on-call engineer is told and how sure we are.

Each test builds the findings of one situation (every check's result, healthy unless said otherwise) and
asserts the cause, the confidence and the words of the summary a responder reads.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.evidence.payloads import (
    ChangeEvent,
    ConfigChangesEvidence,
    ConsoleEvidence,
    ConsoleSignature,
    ExecutionSummary,
    ExitCodeCount,
    ExitCodesEvidence,
    FailuresEvidence,
    LastGood,
    MemoryEvidence,
    PlatformEvent,
    QueueEvidence,
    ScalerEvidence,
    SignatureEvidence,
    StuckEvidence,
    StuckExecution,
    SuspectedChange,
)
from bot.model import Cause, CheckResult, CheckStatus, Confidence, Verdict
from bot.verdict.decide import decide

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
CHANGE_AT = NOW - timedelta(minutes=58)
IMAGE_CHANGE = SuspectedChange(CHANGE_AT, "deployer@contoso.com", "MICROSOFT.APP/JOBS/WRITE",
                               "image orders:1.4.2 -> orders:1.5.0")
LAST_GOOD = LastGood("orders-processor-good", "contoso.azurecr.io/orders:1.4.2", NOW - timedelta(minutes=70),
                     NOW - timedelta(minutes=69))
DEPENDENCY_LINE = "psycopg.OperationalError: connection to server at <n>.<n>.<n>.<n> failed: timeout expired"


def ok(name: str, evidence: object = None) -> CheckResult:
    return CheckResult(name, CheckStatus.OK, f"{name} is fine.", evidence)  # type: ignore[arg-type]


def failures(total: int = 6, failed: int = 0, succeeded: int | None = None, running: int = 0,
             reasons: tuple[str, ...] = ()) -> CheckResult:
    succeeded = total - failed - running if succeeded is None else succeeded
    executions = tuple(
        ExecutionSummary(f"e{i}", "Failed" if i < failed else "Succeeded", NOW - timedelta(minutes=i + 1), None,
                         "orders:1.5.0", reasons=reasons if i < failed else (), exit_codes=(), attempts=1)
        for i in range(total))
    status = CheckStatus.FAIL if failed else (CheckStatus.WARN if total == 0 else CheckStatus.OK)
    return CheckResult("failures", status, f"{failed} of {total} executions in the window failed.",
                       FailuresEvidence(total, failed, succeeded, running, None, None, executions))


def exit_codes(*codes: tuple[int, int]) -> CheckResult:
    evidence = ExitCodesEvidence(tuple(ExitCodeCount(code, n, n, f"meaning of {code}", None) for code, n in codes))
    bad = [c for c, _ in codes if c != 0]
    return CheckResult("exit_codes", CheckStatus.FAIL if bad else CheckStatus.OK, "exit codes", evidence)


def console(*signatures: tuple[str, str, int, int]) -> CheckResult:
    found = tuple(ConsoleSignature(text, kind, count, execs, None, None) for text, kind, execs, count in signatures)
    return CheckResult("console_errors", CheckStatus.WARN if found else CheckStatus.OK, "console",
                       ConsoleEvidence(found))


def queue(depth: int = 0, *, dead_letter: int | None = None, max_executions: int = 10, running: int | None = 0,
          status: CheckStatus | None = None) -> CheckResult:
    capacity = 5 * max_executions
    if status is None:
        status = CheckStatus.FAIL if depth > 3 * capacity else (CheckStatus.WARN if depth > capacity or dead_letter
                                                                  else CheckStatus.OK)
    return CheckResult("queue_depth", status, f"{depth} messages in st/orders",
                       QueueEvidence("azure-queue", "st", "orders", depth, dead_letter, 5, max_executions, capacity,
                                     running))


def changes(suspected: SuspectedChange | None = None, *, last_good: LastGood | None = LAST_GOOD,
            diff: tuple[str, ...] | None = None, events: tuple[ChangeEvent, ...] = ()) -> CheckResult:
    """The change check's finding; a suspected change comes with its template diff unless told otherwise."""
    diff = ((suspected.what,) if suspected else ()) if diff is None else diff
    return CheckResult("config_changes", CheckStatus.WARN if suspected else CheckStatus.OK, "changes",
                       ConfigChangesEvidence(events, diff, last_good, suspected))


def platform(name: str, reason: str, message: str) -> CheckResult:
    return CheckResult(name, CheckStatus.FAIL, f"3 {name} events ({reason}): {message}",
                       SignatureEvidence((PlatformEvent(reason, 3, 2, None, None, message),)))


def memory(ratio: float | None, status: CheckStatus = CheckStatus.OK) -> CheckResult:
    return CheckResult("memory", status, "memory", MemoryEvidence(1e9, 1.07e9 if ratio else None, ratio))


def error(name: str) -> CheckResult:
    return CheckResult(name, CheckStatus.ERROR, f"Could not check {name}: Log Analytics answered HTTP 500.",
                       error="HTTP 500")


def world(*overrides: CheckResult) -> list[CheckResult]:
    """Every check healthy, then the given results in their place."""
    base = {
        "failures": failures(),
        "retries": ok("retries"),
        "exit_codes": exit_codes((0, 6)),
        "queue_depth": queue(0),
        "config_changes": changes(),
        "stuck_executions": ok("stuck_executions", StuckEvidence(600, ())),
        "scaler": ok("scaler", ScalerEvidence((), 6, 0)),
        "image_pulls": ok("image_pulls", SignatureEvidence(())),
        "capacity": ok("capacity", SignatureEvidence(())),
        "identity": ok("identity", SignatureEvidence(())),
        "platform_health": ok("platform_health"),
        "console_errors": console(),
        "memory": memory(0.3),
    }
    base.update({r.name: r for r in overrides})
    return list(base.values())


def verdict(*overrides: CheckResult) -> Verdict:
    return decide(world(*overrides), "in the last hour")


# --- healthy and its near misses ------------------------------------------------------------------------


def test_all_succeeded_is_healthy_with_high_confidence() -> None:
    v = verdict()
    assert (v.cause, v.confidence) == (Cause.HEALTHY, Confidence.HIGH)
    assert v.summary == "All 6 executions in the last hour succeeded or are running."
    assert v.suspected_change is None and v.rollback_candidate is None


def test_no_executions_and_no_work_is_healthy_but_only_medium() -> None:
    v = verdict(failures(total=0))
    assert (v.cause, v.confidence) == (Cause.HEALTHY, Confidence.MEDIUM)
    assert "No executions in the last hour and no work waiting" in v.summary


def test_missing_evidence_never_reads_healthy() -> None:
    v = verdict(error("console_errors"), error("memory"))
    assert (v.cause, v.confidence) == (Cause.UNKNOWN, Confidence.LOW)
    assert "console_errors, memory" in v.summary
    assert v.missing_evidence == ("console_errors", "memory")


def test_a_deep_queue_with_nothing_failing_and_room_to_run_is_not_healthy() -> None:
    v = verdict(failures(total=6, running=2), queue(900, running=2))
    assert (v.cause, v.confidence) == (Cause.UNKNOWN, Confidence.LOW)
    assert v.summary == "Nothing fails, but 900 messages wait and only 2 executions run."


def test_unreadable_execution_history_is_unknown_not_healthy() -> None:
    v = verdict(error("failures"))
    assert v.cause is Cause.UNKNOWN
    assert "Could not read the execution history" in v.summary


# --- no failures: saturation and a silent scaler ----------------------------------------------------------


def test_saturation_needs_both_a_deep_queue_and_every_slot_running() -> None:
    saturated = verdict(failures(total=10, running=10), queue(600, running=10))
    assert (saturated.cause, saturated.confidence) == (Cause.SATURATION, Confidence.HIGH)
    assert "10 executions are running at maxExecutions 10 and 600 messages wait (one round takes 50)" \
        in saturated.summary
    # A deep queue with free slots is not saturation; all slots busy on a shallow queue is not either.
    assert verdict(failures(total=4, running=4), queue(600, running=4)).cause is not Cause.SATURATION
    assert verdict(failures(total=10, running=10), queue(20, running=10)).cause is Cause.HEALTHY


def test_messages_waiting_while_nothing_starts_is_a_silent_scaler() -> None:
    v = verdict(failures(total=0), queue(40))
    assert (v.cause, v.confidence) == (Cause.SCALER_FAILURE, Confidence.MEDIUM)
    assert "No execution started in the last hour while 40 messages wait:" in v.summary
    assert "after a manual" not in v.summary


def test_a_manual_stop_before_the_silence_is_named() -> None:
    stop = ChangeEvent(NOW - timedelta(minutes=90), "MICROSOFT.APP/JOBS/STOP/ACTION", "ops@contoso.com", "Succeeded",
                       "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/jobs/orders-processor")
    v = verdict(failures(total=0), queue(40), changes(events=(stop,)))
    assert "after a manual stop at 2026-11-28T08:30:00Z" in v.summary


# --- platform signatures win over failure shapes -----------------------------------------------------------


@pytest.mark.parametrize(("check", "cause"), [
    ("image_pulls", Cause.IMAGE_PULL), ("capacity", Cause.CAPACITY), ("identity", Cause.IDENTITY),
])
def test_platform_signatures_name_their_cause_with_high_confidence(check: str, cause: Cause) -> None:
    v = verdict(failures(total=6, failed=4), exit_codes((1, 4)), platform(check, "Reason", "the message"))
    assert (v.cause, v.confidence) == (cause, Confidence.HIGH)
    assert v.summary == f"3 {check} events (Reason): the message. 4 of 6 executions in the last hour failed."


def test_stuck_executions_are_named() -> None:
    stuck = CheckResult("stuck_executions", CheckStatus.FAIL, "2 executions still Running long past replicaTimeout",
                        StuckEvidence(600, (StuckExecution("e1", "Running", 7200, 600),)))
    v = verdict(stuck)
    assert (v.cause, v.confidence) == (Cause.STUCK_EXECUTION, Confidence.HIGH)
    assert "failed" not in v.summary  # nothing failed: the summary does not invent failures


def test_an_active_health_event_comes_first() -> None:
    health = CheckResult("platform_health", CheckStatus.FAIL, "Active Azure ServiceHealth event for westeurope")
    v = verdict(health, failures(total=6, failed=6), exit_codes((137, 6)), platform("capacity", "R", "m"))
    assert (v.cause, v.confidence) == (Cause.PLATFORM, Confidence.HIGH)
    assert "Wait for Azure rather than roll back" in v.summary


def test_a_health_event_with_healthy_executions_is_not_blamed() -> None:
    health = CheckResult("platform_health", CheckStatus.FAIL, "Active Azure ServiceHealth event for westeurope")
    assert verdict(health).cause is Cause.HEALTHY


def test_scaler_errors_say_how_many_messages_wait() -> None:
    scaler = CheckResult("scaler", CheckStatus.FAIL, "4 scaler errors (KEDAScalerFailed): 403",
                         ScalerEvidence((PlatformEvent("KEDAScalerFailed", 4, 0, None, None, "403"),), 0, 120))
    v = verdict(scaler, failures(total=0), queue(120))
    assert (v.cause, v.confidence) == (Cause.SCALER_FAILURE, Confidence.HIGH)
    assert v.summary.endswith("No execution started in the last hour while 120 messages wait.")


# --- exit codes -------------------------------------------------------------------------------------------


def test_137_with_memory_near_the_limit_is_oom_with_high_confidence() -> None:
    v = verdict(failures(total=6, failed=5), exit_codes((137, 5)), memory(0.98, CheckStatus.WARN))
    assert (v.cause, v.confidence) == (Cause.OOM, Confidence.HIGH)
    assert v.summary == ("5 of 6 executions in the last hour failed; 5 were killed with exit code 137 (memory "
                         "limit); peak memory reached 98% of the limit.")


def test_137_without_memory_evidence_is_oom_with_medium_confidence_and_says_why() -> None:
    v = verdict(failures(total=6, failed=5), exit_codes((137, 5)),
                CheckResult("memory", CheckStatus.SKIPPED, "No memory metric points in the window."))
    assert (v.cause, v.confidence) == (Cause.OOM, Confidence.MEDIUM)
    assert "no memory metric confirms it (137 is any SIGKILL)" in v.summary


def test_137_after_a_memory_cut_is_oom_with_high_confidence() -> None:
    cut = replace(IMAGE_CHANGE, what="memory 2Gi -> 1Gi")
    v = verdict(failures(total=6, failed=5), exit_codes((137, 5)), memory(None),
                changes(cut, diff=("memory 2Gi -> 1Gi",)))
    assert (v.cause, v.confidence) == (Cause.OOM, Confidence.HIGH)
    assert v.suspected_change == cut


def test_the_code_seen_in_most_executions_decides() -> None:
    v = verdict(failures(total=6, failed=5), exit_codes((0, 6), (143, 4), (137, 1)))
    assert (v.cause, v.confidence) == (Cause.TIMEOUT, Confidence.HIGH)
    assert "hitting replicaTimeout" in v.summary


def test_deadline_exceeded_without_an_exit_code_is_a_timeout() -> None:
    v = verdict(failures(total=4, failed=4, reasons=("DeadlineExceeded",)), exit_codes())
    assert v.cause is Cause.TIMEOUT


# --- the shape of the failures ----------------------------------------------------------------------------


def test_the_same_downstream_error_across_executions_with_no_change_is_a_dependency() -> None:
    v = verdict(failures(total=6, failed=6), exit_codes((1, 6)), console((DEPENDENCY_LINE, "dependency", 6, 12)))
    assert (v.cause, v.confidence) == (Cause.DEPENDENCY, Confidence.HIGH)
    assert "with exit code 1 (meaning of 1)" in v.summary
    assert "across 6 executions the workload cannot reach something downstream" in v.summary
    assert "a rollback would not help" in v.summary
    assert v.rollback_candidate is None


def test_a_downstream_error_in_one_execution_only_is_not_a_pattern() -> None:
    v = verdict(failures(total=6, failed=6), exit_codes((1, 6)), console((DEPENDENCY_LINE, "dependency", 1, 1)))
    assert v.cause is Cause.APP_ERROR


def test_a_downstream_error_after_a_change_is_a_dependency_with_medium_confidence_and_the_change() -> None:
    v = verdict(failures(total=6, failed=6), exit_codes((1, 6)), console((DEPENDENCY_LINE, "dependency", 6, 12)),
                changes(IMAGE_CHANGE))
    assert (v.cause, v.confidence) == (Cause.DEPENDENCY, Confidence.MEDIUM)
    assert "although the job also changed recently" in v.summary
    assert v.suspected_change == IMAGE_CHANGE
    assert v.rollback_candidate is None  # a rollback cannot fix what is downstream


def test_access_refused_across_executions_is_identity() -> None:
    refused = "AuthorizationPermissionMismatch: This request is not authorized to perform this operation"
    v = verdict(failures(total=6, failed=6), exit_codes((1, 6)),
                console((refused, "identity", 4, 4), (DEPENDENCY_LINE, "dependency", 6, 6)))
    assert (v.cause, v.confidence) == (Cause.IDENTITY, Confidence.MEDIUM)
    assert v.summary.endswith("the workload is refused access: " + refused)


def test_the_same_error_on_a_few_messages_while_the_rest_succeeds_is_a_poison_message() -> None:
    v = verdict(failures(total=10, failed=2), exit_codes((1, 2)),
                console(("KeyError: 'customer_id'", "application", 2, 4)))
    assert (v.cause, v.confidence) == (Cause.POISON_MESSAGE, Confidence.MEDIUM)
    assert "2 of 10 executions in the last hour failed with the same error while 8 succeeded" in v.summary


def test_dead_letters_make_a_poison_message_certain() -> None:
    v = verdict(failures(total=10, failed=2), exit_codes((1, 2)), queue(3, dead_letter=7))
    assert (v.cause, v.confidence) == (Cause.POISON_MESSAGE, Confidence.HIGH)
    assert "; 7 messages dead-lettered" in v.summary


def test_half_failing_is_not_a_poison_message() -> None:
    v = verdict(failures(total=10, failed=5), exit_codes((1, 5)), queue(3, dead_letter=7),
                console(("KeyError: 'customer_id'", "application", 5, 9)))
    assert v.cause is Cause.APP_ERROR


def test_failures_with_no_exit_code_and_no_console_output_are_unknown() -> None:
    v = verdict(failures(total=6, failed=6), exit_codes())
    assert (v.cause, v.confidence) == (Cause.UNKNOWN, Confidence.LOW)
    assert "neither exit codes nor console errors were logged" in v.summary


def test_a_silent_minority_failing_with_nothing_changed_is_unknown_and_names_what_is_missing() -> None:
    v = verdict(failures(total=10, failed=2), exit_codes((1, 2)))
    assert (v.cause, v.confidence) == (Cause.UNKNOWN, Confidence.LOW)
    assert "Missing: console output of the failing executions" in v.summary


def test_app_error_after_a_change_is_high_and_offers_the_last_good_image() -> None:
    v = verdict(failures(total=6, failed=6), exit_codes((1, 6)), console(("ValueError: bad", "application", 6, 6)),
                changes(IMAGE_CHANGE))
    assert (v.cause, v.confidence) == (Cause.APP_ERROR, Confidence.HIGH)
    assert v.summary == "6 of 6 executions in the last hour failed with exit code 1 (meaning of 1)."
    assert v.suspected_change == IMAGE_CHANGE
    assert v.rollback_candidate is not None
    assert (v.rollback_candidate.image, v.rollback_candidate.last_success, v.rollback_candidate.execution) == (
        LAST_GOOD.image, LAST_GOOD.end, LAST_GOOD.execution)


def test_app_error_with_no_change_is_medium_and_offers_no_rollback() -> None:
    v = verdict(failures(total=6, failed=6), exit_codes((1, 6)), console(("ValueError: bad", "application", 6, 6)))
    assert (v.cause, v.confidence) == (Cause.APP_ERROR, Confidence.MEDIUM)
    assert v.suspected_change is None and v.rollback_candidate is None


# --- the suspected change and the rollback candidate -----------------------------------------------------


def test_a_change_outside_the_job_definition_offers_no_rollback() -> None:
    role = SuspectedChange(CHANGE_AT, "iam@contoso.com", "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE",
                           "role assignment removed on vaults/kv-orders")
    v = verdict(failures(total=6, failed=6), platform("identity", "SecretRef", "unable to fetch secret"),
                changes(role))
    assert v.cause is Cause.IDENTITY
    assert v.suspected_change == role and v.rollback_candidate is None


def test_no_rollback_without_a_last_good_image() -> None:
    v = verdict(failures(total=6, failed=6), exit_codes((137, 6)), memory(0.99, CheckStatus.WARN),
                changes(IMAGE_CHANGE, last_good=None))
    assert v.suspected_change == IMAGE_CHANGE and v.rollback_candidate is None


@pytest.mark.parametrize("cause_checks", [
    (CheckResult("platform_health", CheckStatus.FAIL, "Active Azure ServiceHealth event"),),
    (platform("capacity", "R", "Maximum Allowed Cores exceeded"),),
])
def test_no_rollback_for_platform_or_capacity(cause_checks: tuple[CheckResult, ...]) -> None:
    v = verdict(failures(total=6, failed=6), changes(IMAGE_CHANGE), *cause_checks)
    assert v.suspected_change == IMAGE_CHANGE
    assert v.rollback_candidate is None


def test_healthy_never_carries_a_suspected_change() -> None:
    v = verdict(changes(IMAGE_CHANGE))
    assert v.cause is Cause.HEALTHY and v.suspected_change is None


# --- missing evidence ------------------------------------------------------------------------------------


def test_missing_evidence_lowers_confidence_one_step_and_names_the_checks() -> None:
    v = verdict(failures(total=6, failed=5), exit_codes((137, 5)), memory(0.98, CheckStatus.WARN),
                error("queue_depth"))
    assert (v.cause, v.confidence) == (Cause.OOM, Confidence.MEDIUM)
    assert v.summary.endswith(" Could not check: queue_depth.")
    assert v.missing_evidence == ("queue_depth",)
    medium = verdict(failures(total=6, failed=6), exit_codes((1, 6)),
                     console(("ValueError: bad", "application", 6, 6)), error("memory"))
    assert (medium.cause, medium.confidence) == (Cause.APP_ERROR, Confidence.LOW)


def test_no_summary_ever_says_none() -> None:
    situations = [
        verdict(), verdict(failures(total=0)), verdict(failures(total=0), queue(40)),
        verdict(failures(total=6, failed=6), exit_codes((1, 6))),
        verdict(failures(total=6, failed=5), exit_codes((137, 5))),
        verdict(failures(total=10, failed=2), exit_codes((1, 2)), queue(3, dead_letter=7)),
        verdict(error("failures"), error("queue_depth")),
    ]
    assert [v.summary for v in situations if "None" in v.summary] == []


# --- exact words and boundaries --------------------------------------------------------------------------


def test_the_platform_summary_quotes_the_health_check_without_its_full_stop() -> None:
    health = CheckResult("platform_health", CheckStatus.FAIL, "Active Azure ServiceHealth event for westeurope.")
    v = verdict(health, failures(total=0))
    assert v.summary == ("Active Azure ServiceHealth event for westeurope; 0 of 0 executions in the last hour failed. "
                         "Wait for Azure rather than roll back.")


def test_a_stuck_execution_alone_is_trouble_enough_to_blame_a_health_event() -> None:
    health = CheckResult("platform_health", CheckStatus.FAIL, "Active Azure ServiceHealth event for westeurope")
    stuck = CheckResult("stuck_executions", CheckStatus.FAIL, "1 execution still Running",
                        StuckEvidence(600, (StuckExecution("e1", "Running", 7200, 600),)))
    scaler = CheckResult("scaler", CheckStatus.FAIL, "4 scaler errors", ScalerEvidence((), 6, 0))
    assert verdict(health, stuck).cause is Cause.PLATFORM
    assert verdict(health, scaler).cause is Cause.PLATFORM
    assert verdict(health, failures(total=1, failed=1), exit_codes((1, 1))).cause is Cause.PLATFORM
    assert verdict(health, failures(total=1)).cause is Cause.HEALTHY


def test_scaler_errors_with_executions_starting_do_not_claim_nothing_started() -> None:
    scaler = CheckResult("scaler", CheckStatus.FAIL, "4 scaler errors (KEDAScalerFailed): 403.",
                         ScalerEvidence((PlatformEvent("KEDAScalerFailed", 4, 0, None, None, "403"),), 3, 120))
    v = verdict(scaler, queue(120))
    assert v.summary == "The scale rule cannot read its event source: 4 scaler errors (KEDAScalerFailed): 403."
    no_depth = replace(scaler, evidence=ScalerEvidence((), 0, 0))
    assert verdict(no_depth).summary.endswith("(KEDAScalerFailed): 403.")


def test_a_platform_signature_without_failures_says_nothing_of_failures() -> None:
    v = verdict(platform("image_pulls", "ErrImagePull", "manifest unknown"))
    assert v.summary == "3 image_pulls events (ErrImagePull): manifest unknown."


def test_unreadable_history_names_why() -> None:
    v = verdict(error("failures"))
    assert v.summary.startswith("Could not read the execution history, and nothing else names a cause (Could not "
                                "check failures: Log Analytics answered HTTP 500).")
    assert v.confidence is Confidence.LOW


@pytest.mark.parametrize("broken", ["exit_codes", "console_errors", "queue_depth", "config_changes", "memory"])
def test_any_one_check_in_error_still_gives_a_verdict_from_the_rest(broken: str) -> None:
    v = verdict(failures(total=6, failed=6), exit_codes((1, 6)), console(("ValueError: bad", "application", 6, 6)),
                error(broken))
    assert v.cause in {Cause.APP_ERROR, Cause.UNKNOWN}
    assert v.missing_evidence == (broken,)
    assert f"Could not check: {broken}." in v.summary


def test_oom_without_a_memory_ratio_says_nothing_of_a_peak() -> None:
    v = verdict(failures(total=6, failed=5), exit_codes((137, 5)), memory(None, CheckStatus.WARN))
    assert v.summary == "5 of 6 executions in the last hour failed; 5 were killed with exit code 137 (memory limit)."


def test_dependency_summary_in_full() -> None:
    v = verdict(failures(total=6, failed=6), exit_codes(), console((DEPENDENCY_LINE, "dependency", 6, 12)))
    assert v.summary == ("6 of 6 executions in the last hour failed; across 6 executions the workload cannot reach "
                         f"something downstream: {DEPENDENCY_LINE}. The job itself did not change: a rollback would "
                         "not help.")


def test_long_signatures_are_quoted_to_160_characters() -> None:
    long = "ConnectionRefusedError: " + "x" * 300
    v = verdict(failures(total=6, failed=6), exit_codes(), console((long, "dependency", 6, 12)))
    assert long[:160] + ". The job" in v.summary and long[:161] not in v.summary
    refused = "PermissionError: 403 " + "y" * 300
    v = verdict(failures(total=6, failed=6), exit_codes(), console((refused, "identity", 6, 6)))
    assert v.summary.endswith(refused[:160])
    changed = verdict(failures(total=6, failed=6), exit_codes(), console((long, "dependency", 6, 12)),
                      changes(IMAGE_CHANGE))
    assert f"({long[:120]}), although" in changed.summary


def test_poison_message_summary_in_full() -> None:
    v = verdict(failures(total=10, failed=2), exit_codes((1, 2)), queue(3, dead_letter=7))
    assert v.summary == ("2 of 10 executions in the last hour failed with the same error while 8 succeeded; 7 messages "
                         "dead-lettered: the same message keeps failing, not the code as a whole.")
    quiet = verdict(failures(total=10, failed=2), exit_codes((1, 2)),
                    console(("KeyError: 'customer_id'", "application", 2, 4)))
    assert quiet.summary.endswith("while 8 succeeded: the same message keeps failing, not the code as a whole.")


def test_one_signature_needs_all_but_one_failing_execution_and_a_repeat() -> None:
    # 4 failed of 10: the signature must cover at least 3 of them, and appear at least twice.
    assert verdict(failures(total=10, failed=4), exit_codes((1, 4)),
                   console(("KeyError: 'x'", "application", 3, 3))).cause is Cause.POISON_MESSAGE
    assert verdict(failures(total=10, failed=4), exit_codes((1, 4)),
                   console(("KeyError: 'x'", "application", 2, 3))).cause is Cause.APP_ERROR
    assert verdict(failures(total=10, failed=1), exit_codes((1, 1)),
                   console(("KeyError: 'x'", "application", 1, 2))).cause is Cause.POISON_MESSAGE
    assert verdict(failures(total=10, failed=1), exit_codes((1, 1)),
                   console(("KeyError: 'x'", "application", 1, 1))).cause is not Cause.POISON_MESSAGE


def test_exactly_half_failing_silently_is_app_error_not_unknown() -> None:
    v = verdict(failures(total=10, failed=5), exit_codes((1, 5)))
    assert v.cause is Cause.APP_ERROR
    with_output = verdict(failures(total=10, failed=2), exit_codes((1, 2)),
                          console(("ValueError: x", "application", 1, 1)))
    assert with_output.cause is Cause.APP_ERROR



def test_stopped_executions_are_not_successes_and_name_who_stopped_the_job() -> None:
    stopped = replace(failures(total=4).found(FailuresEvidence), succeeded=2, stopped=2,  # type: ignore[type-var]
                      stopped_by="ops@contoso.com")
    v = verdict(CheckResult("failures", CheckStatus.WARN, "No execution in the window failed; 2 stopped", stopped))
    assert (v.cause, v.confidence) == (Cause.UNKNOWN, Confidence.LOW)
    assert v.summary == ("No execution failed in the last hour, but 2 of 4 were stopped (the job was stopped by "
                         "ops@contoso.com): stopped work did not complete, and a stop can leave event scaling off.")


def test_no_image_rollback_when_the_template_did_not_change() -> None:
    write = SuspectedChange(CHANGE_AT, "dev@contoso.com", "MICROSOFT.APP/JOBS/WRITE", "job configuration changed")
    v = verdict(failures(total=6, failed=6), exit_codes((143, 6)), changes(write, diff=()))
    assert v.cause is Cause.TIMEOUT and v.suspected_change == write
    assert v.rollback_candidate is None  # the last good image is the image the job runs today


def test_saturation_names_the_change_that_cut_capacity() -> None:
    cut = SuspectedChange(CHANGE_AT, "pipeline", "MICROSOFT.APP/JOBS/WRITE", "maxExecutions 20 → 2")
    v = verdict(failures(total=10, running=10), queue(600, running=10, max_executions=10), changes(cut, diff=()))
    assert v.cause is Cause.SATURATION and v.suspected_change == cut and v.rollback_candidate is None


def test_the_runtime_running_out_of_memory_is_oom_even_without_137() -> None:
    heap = "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"
    v = verdict(failures(total=6, failed=6), exit_codes((134, 6)), console((heap, "memory", 6, 6)),
                memory(0.97, CheckStatus.WARN))
    assert (v.cause, v.confidence) == (Cause.OOM, Confidence.HIGH)
    assert v.summary == (f"6 of 6 executions in the last hour failed with exit code 134 (meaning of 134); the "
                         f"runtime ran out of memory: {heap}; peak memory reached 97% of the limit.")
    unconfirmed = verdict(failures(total=6, failed=6), exit_codes((1, 6)), console((heap, "memory", 6, 6)))
    assert (unconfirmed.cause, unconfirmed.confidence) == (Cause.OOM, Confidence.MEDIUM)
    # A workload that exits 3 after logging MemoryError decided to stop: not the allocator's verdict.
    assert verdict(failures(total=6, failed=6), exit_codes((3, 6)),
                   console(("MemoryError", "memory", 6, 6))).cause is not Cause.OOM


def test_a_workload_reading_a_queue_that_does_not_exist_is_a_scaler_failure() -> None:
    gone = "azure.core.exceptions.ResourceNotFoundError: The specified queue does not exist. ErrorCode:QueueNotFound"
    v = verdict(failures(total=4, failed=4), exit_codes((1, 4)), console((gone, "event-source", 4, 4)))
    assert (v.cause, v.confidence) == (Cause.SCALER_FAILURE, Confidence.HIGH)
    assert v.summary.endswith(f"the event source the job reads does not exist: {gone}.")
