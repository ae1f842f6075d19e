"""Person or pipeline, and the job's usual deployer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.evidence.callers import caller_kind, not_usual_deployer, usual_deployer
from bot.evidence.change_records import CallerKind, ChangeRecord, ChangeSource, ResourceKind

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
JOB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/jobs/orders"


def write(caller: str | None, days_ago: float, *, kind: ResourceKind = ResourceKind.JOB,
          operation: str = "MICROSOFT.APP/JOBS/WRITE", source: ChangeSource = ChangeSource.ACTIVITY_LOG
          ) -> ChangeRecord:
    return ChangeRecord(NOW - timedelta(days=days_ago), JOB, kind, operation, caller, caller_kind(caller), source)


@pytest.mark.parametrize(("caller", "caller_type", "kind"), [
    ("deployer@contoso.com", None, CallerKind.PERSON),
    ("someAlias@microsoft.com", "User", CallerKind.PERSON),  # Resource Graph GetChange example
    ("john@contoso.com", "User", CallerKind.PERSON),
    ("live.com#guest@contoso.com", None, CallerKind.PERSON),
    ("9f3c1a52-6c4e-4a3b-9e61-2f1d0f7e8a11", None, CallerKind.PIPELINE),  # an Activity Log object id
    ("00001111-aaaa-2222-bbbb-3333cccc4444", "AppId", CallerKind.PIPELINE),
    ("github-deploy-orders", "ServicePrincipal", CallerKind.PIPELINE),  # a display name typed by RG
    ("id-orders", "ManagedIdentity", CallerKind.PIPELINE),  # systemData.lastModifiedByType
    ("github-deploy-orders", None, CallerKind.UNKNOWN),
    ("System", None, CallerKind.UNKNOWN),
    ("", "User", CallerKind.UNKNOWN),
    (None, None, CallerKind.UNKNOWN),
])
def test_caller_kind(caller: str | None, caller_type: str | None, kind: CallerKind) -> None:
    assert caller_kind(caller, caller_type) == kind


def test_the_usual_deployer_is_the_caller_of_most_job_writes_in_30_days() -> None:
    pipeline = "9f3c1a52-6c4e-4a3b-9e61-2f1d0f7e8a11"
    records = [write(pipeline, d) for d in (1, 5, 9)] + [
        write("alice@contoso.com", 0.1),
        write("alice@contoso.com", 2),
        write("bob@contoso.com", 40), write("bob@contoso.com", 41), write("bob@contoso.com", 42),  # too old
        write("carol@contoso.com", 1, kind=ResourceKind.ROLE_ASSIGNMENT, operation="Delete"),  # not the job
        write("carol@contoso.com", 1.5, operation="MICROSOFT.APP/JOBS/STOP/ACTION"),  # not a write
        write("carol@contoso.com", 2.5, operation="MICROSOFT.APP/JOBS/START/ACTION"),
    ]
    assert usual_deployer(records, now=NOW) == pipeline
    suspect = records[3]
    assert not_usual_deployer(suspect, usual_deployer(records, now=NOW))
    assert not not_usual_deployer(records[0], pipeline.upper())


def test_one_write_seen_by_two_sources_counts_once() -> None:
    records = [write("alice@contoso.com", 1), write("alice@contoso.com", 1, operation="Update",
                                                    source=ChangeSource.RESOURCE_GRAPH),
               write("bob@contoso.com", 2), write("bob@contoso.com", 3)]
    assert usual_deployer(records, now=NOW) == "bob@contoso.com"


def test_no_usual_deployer_without_a_clear_majority_or_any_write() -> None:
    assert usual_deployer([write("a@contoso.com", 1), write("b@contoso.com", 2)], now=NOW) is None
    assert usual_deployer([], now=NOW) is None
    assert usual_deployer([write(None, 1)], now=NOW) is None
    assert not not_usual_deployer(write("a@contoso.com", 1), None)
    assert not not_usual_deployer(write(None, 1), "a@contoso.com")
