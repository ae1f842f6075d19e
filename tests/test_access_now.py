"""A deleted role assignment in the verdict, read against the roles the job's identity holds now.

The change evidence knows the deletion (when, by whom); the identity check knows the current assignments.
Each test asserts the sentence a responder reads and how sure the verdict stays.
"""

from __future__ import annotations

from datetime import timedelta

from bot.evidence.change_records import CallerKind, ChangeSource, PropertyChange
from bot.evidence.payloads import (
    AccessFinding,
    AccessStatus,
    ExecutionSummary,
    FailuresEvidence,
    IdentityEvidence,
    PlatformEvent,
    RoleGrant,
    SuspectedChange,
)
from bot.model import Cause, CheckResult, CheckStatus, Confidence, Verdict
from bot.verdict.decide import decide
from tests.test_verdict import NOW, changes, world

VAULT = "/subscriptions/s/resourcegroups/rg-tax-shared/providers/microsoft.keyvault/vaults/kv-tax-docs"
PRINCIPAL = "9a8b7c6d-aaaa-4bbb-8ccc-ddddeeeeffff"
DELETED_AT = NOW.replace(hour=9, minute=2)
ROLE = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
DELETION = SuspectedChange(
    DELETED_AT, "iam-cleanup@contoso.com", "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE",
    "role assignment Key Vault Secrets User of the job's identity deleted",
    changes=(PropertyChange("properties.principalId", PRINCIPAL, None),
             PropertyChange("properties.roleDefinitionId", ROLE, None),
             PropertyChange("properties.scope", VAULT, None)),
    source=ChangeSource.ACTIVITY_LOG, resource=f"{VAULT}/providers/microsoft.authorization/roleassignments/r1",
    caller_kind=CallerKind.PERSON)


def finding(status: AccessStatus, *grants: RoleGrant, elsewhere: tuple[RoleGrant, ...] = ()) -> AccessFinding:
    return AccessFinding("kv-tax-docs", "key-vault", "docs-key", "id-tax-docs", PRINCIPAL, status, grants, elsewhere)


def identity(*found: AccessFinding, error: str | None = None) -> CheckResult:
    event = PlatformEvent("ContainerCreateFailure", 9, 5, None, None, "unable to fetch secret 'docs-key'")
    return CheckResult("identity", CheckStatus.FAIL, "9 identity events (ContainerCreateFailure)",
                       IdentityEvidence((event,), None if error else found, error))


def failing_from(*starts: timedelta) -> CheckResult:
    """Failed executions starting at these offsets from the deletion."""
    runs = tuple(ExecutionSummary(f"e{i}", "Failed", DELETED_AT + at, None, "tax-docs:3.2.0")
                 for i, at in enumerate(starts))
    return CheckResult("failures", CheckStatus.FAIL, f"{len(runs)} failed",
                       FailuresEvidence(len(runs), len(runs), 0, 0, runs[0].start, None, runs))


def triage(*results: CheckResult) -> Verdict:
    return decide(world(changes(DELETION, diff=()), *results), "in the last hour")


def test_a_role_still_missing_is_said_with_who_deleted_it() -> None:
    verdict = triage(failing_from(timedelta(minutes=20)), identity(finding(AccessStatus.MISSING)))
    assert (verdict.cause, verdict.confidence) == (Cause.IDENTITY, Confidence.HIGH)
    assert verdict.summary.endswith("Now id-tax-docs has no role on kv-tax-docs (Key Vault Secrets User was deleted "
                                    "09:02 UTC by iam-cleanup@contoso.com).")
    assert verdict.suspected_change is not None and verdict.suspected_change.access_now is not None
    assert verdict.suspected_change.access_now.status is AccessStatus.MISSING


def test_a_role_regranted_explains_failures_only_up_to_the_regrant() -> None:
    regrant = RoleGrant("Key Vault Secrets User", VAULT, "resource", DELETED_AT + timedelta(minutes=38))
    verdict = triage(failing_from(timedelta(minutes=20), timedelta(minutes=30)),
                     identity(finding(AccessStatus.GRANTED, regrant)))
    assert verdict.confidence is Confidence.HIGH  # every failure came before the re-grant
    assert verdict.summary.endswith("Key Vault Secrets User was re-granted to id-tax-docs on kv-tax-docs at 09:40 UTC "
                                    "— the deletion no longer explains failures after that.")


def test_failures_after_a_regrant_lower_the_confidence() -> None:
    regrant = RoleGrant("Key Vault Secrets User", VAULT, "resource", DELETED_AT + timedelta(minutes=38))
    # 09:45 is within the ten minutes a role change takes to apply; 10:00 is not.
    verdict = triage(failing_from(timedelta(minutes=20), timedelta(minutes=43), timedelta(minutes=58)),
                     identity(finding(AccessStatus.GRANTED, regrant)))
    assert verdict.confidence is Confidence.MEDIUM
    assert verdict.summary.endswith("the deletion no longer explains failures after that; 1 execution failed after "
                                    "that, so look further.")


def test_a_role_still_held_through_another_assignment_weakens_the_deletion() -> None:
    held = RoleGrant("Key Vault Secrets User", "/subscriptions/s/resourcegroups/rg-tax-shared", "inherited",
                     DELETED_AT - timedelta(days=90))
    verdict = triage(failing_from(timedelta(minutes=20)), identity(finding(AccessStatus.GRANTED, held)))
    assert verdict.confidence is Confidence.MEDIUM
    assert verdict.summary.endswith("id-tax-docs still holds Key Vault Secrets User on resourcegroups/rg-tax-shared: "
                                    "the deletion alone does not explain the failures.")


def test_a_refused_role_read_is_named_not_guessed() -> None:
    why = "could not check the roles on kv-tax-docs: Azure role assignments answered HTTP 403 (AuthorizationFailed)"
    verdict = triage(failing_from(timedelta(minutes=20)), identity(error=why))
    assert verdict.confidence is Confidence.HIGH
    assert verdict.summary.endswith(f"Could not check whether the role is still missing: {why}.")
    assert verdict.suspected_change is not None and verdict.suspected_change.access_now is None


def test_a_change_that_is_not_a_role_deletion_gets_no_access_sentence() -> None:
    write = SuspectedChange(DELETED_AT, "m.berg@contoso.com", "MICROSOFT.APP/JOBS/WRITE", "replicaTimeout 1800 → 300")
    verdict = decide(world(changes(write), failing_from(timedelta(minutes=20)),
                           identity(finding(AccessStatus.MISSING))), "in the last hour")
    assert "has no role" not in verdict.summary
    assert verdict.suspected_change is not None and verdict.suspected_change.access_now is None


def test_a_resource_group_role_is_placed_by_the_deleted_assignments_scope() -> None:
    """The identity check could not tell whether the vault is in rg-tax-shared; the deletion's scope can."""
    group = RoleGrant("Key Vault Secrets User", "/subscriptions/s/resourcegroups/rg-tax-shared", "inherited")
    verdict = triage(failing_from(timedelta(minutes=20)), identity(finding(AccessStatus.UNKNOWN, group)))
    assert verdict.confidence is Confidence.MEDIUM
    assert "still holds Key Vault Secrets User on resourcegroups/rg-tax-shared" in verdict.summary
    elsewhere = RoleGrant("Key Vault Secrets User", "/subscriptions/s/resourcegroups/rg-other", "inherited")
    verdict = triage(failing_from(timedelta(minutes=20)), identity(finding(AccessStatus.UNKNOWN, elsewhere)))
    assert verdict.confidence is Confidence.HIGH
    assert "Now id-tax-docs has no role on kv-tax-docs (Key Vault Secrets User was deleted" in verdict.summary
    assert verdict.suspected_change is not None and verdict.suspected_change.access_now is not None
    assert verdict.suspected_change.access_now.status is AccessStatus.MISSING


def test_a_custom_role_stays_unknown() -> None:
    custom = RoleGrant("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/c0ffee", VAULT, "resource")
    verdict = triage(failing_from(timedelta(minutes=20)), identity(finding(AccessStatus.UNKNOWN, custom)))
    assert verdict.confidence is Confidence.HIGH
    assert verdict.summary.endswith("id-tax-docs may still reach kv-tax-docs through /subscriptions/s/providers/"
                                    f"Microsoft.Authorization/roleDefinitions/c0ffee on {VAULT} (could not tell "
                                    "whether that role or scope covers it).")
