"""The roles a job's identity holds now, read against what the job does with each dependency (issue 10).

Built from job bodies as ARM returns them (secret references, registries, scale rules naming an identity) and
role assignments as `GET …/roleAssignments` (2022-04-01) serves them. Each test asserts what an on-call
engineer is told: granted, missing (and what the identity holds instead), or unknown.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.azure.resources import parse_job
from bot.errors import UpstreamError
from bot.evidence.checks import identity
from bot.evidence.payloads import AccessStatus, IdentityEvidence
from bot.evidence.role_access import assess, no_role
from bot.evidence.sources import Sources
from bot.model import Access, AccessKind, CheckStatus, Window
from tests.fakes import NOW, FakeChanges, FakeJobs, FakeLogs, readers

SUB = "7f3b1d59-2a8c-4e64-9b07-1d5f3a7c9e2b"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-tax-shared"
VAULT = f"{RG}/providers/Microsoft.KeyVault/vaults/kv-tax-docs"
UAI = f"/subscriptions/{SUB}/resourceGroups/rg-tax/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" \
      "id-tax-docs"
PRINCIPAL = "9a8b7c6d-aaaa-4bbb-8ccc-ddddeeeeffff"
SYSTEM = "11112222-3333-4444-5555-666677778888"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
SB_RECEIVER = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"


def job_body(**config: Any) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg-tax/providers/Microsoft.App/jobs/tax-docs",
        "name": "tax-docs", "type": "Microsoft.App/jobs",
        "identity": {"type": "SystemAssigned,UserAssigned", "principalId": SYSTEM,
                     "userAssignedIdentities": {UAI: {"principalId": PRINCIPAL, "clientId": "c"}}},
        "properties": {"environmentId": f"/subscriptions/{SUB}/resourceGroups/rg-tax/providers/Microsoft.App/"
                                        "managedEnvironments/cae",
                       "configuration": {"triggerType": "Event", **config}},
    }


VAULT_JOB = parse_job(job_body(secrets=[{"name": "docs-key", "identity": UAI,
                                         "keyVaultUrl": "https://kv-tax-docs.vault.azure.net/secrets/docs-key"}]))


def assignment(scope: str, role: str = SECRETS_USER, principal: str = PRINCIPAL,
               created: str = "2026-03-02T10:05:00Z") -> dict[str, Any]:
    return {"id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/a-{abs(hash((scope, role))) % 10**6}",
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/"
                                               f"roleDefinitions/{role}",
                           "principalId": principal, "principalType": "ServicePrincipal", "scope": scope,
                           "createdOn": created}}


def test_the_job_body_says_which_identity_reaches_what() -> None:
    job = parse_job(job_body(
        secrets=[{"name": "k", "identity": "system", "keyVaultUrl": "https://kv-a.vault.azure.net/secrets/k/v2"},
                 {"name": "plain", "value": "x"}],
        registries=[{"server": "contosoacr.azurecr.io", "identity": UAI.upper()},
                    {"server": "other.azurecr.io", "username": "u", "passwordSecretRef": "p"}],
        eventTriggerConfig={"scale": {"rules": [
            {"name": "q", "type": "azure-queue", "identity": UAI,
             "metadata": {"accountName": "stq", "queueName": "docs"}},
            {"name": "sb", "type": "azure-servicebus", "identity": "system", "metadata": {"namespace": "sb-tax"}}]}}))
    assert [i.name for i in job.identities] == ["system-assigned", "id-tax-docs"]
    assert job.access == (
        Access(AccessKind.KEY_VAULT, "kv-a", SYSTEM, "k"),
        Access(AccessKind.REGISTRY, "contosoacr", PRINCIPAL),  # the id compared case-insensitively
        Access(AccessKind.STORAGE_QUEUE, "stq", PRINCIPAL, "docs"),
        Access(AccessKind.SERVICE_BUS, "sb-tax", SYSTEM),
    )


def test_no_assignment_means_the_role_is_missing() -> None:
    [finding] = assess(VAULT_JOB, [assignment(VAULT, principal="someone-else")])
    assert (finding.status, finding.identity, finding.dependency, finding.item) == \
        (AccessStatus.MISSING, "id-tax-docs", "kv-tax-docs", "docs-key")
    assert no_role(finding) == "id-tax-docs has no role on kv-tax-docs"


@pytest.mark.parametrize(("scope", "known", "reach"), [
    (VAULT, (), "resource"),
    (f"{VAULT}/secrets/docs-key", (), "item"),
    # A subscription role reaches the vault once a change record (its deleted assignment) says where it lives.
    (f"/subscriptions/{SUB}", (f"{VAULT}/providers/Microsoft.Authorization/roleAssignments/x",), "inherited"),
])
def test_a_role_on_the_vault_the_very_secret_or_above_grants_it(scope: str, known: tuple[str, ...],
                                                                  reach: str) -> None:
    [finding] = assess(VAULT_JOB, [assignment(scope)], known_ids=known)
    assert finding.status is AccessStatus.GRANTED
    assert [(g.role, g.reach) for g in finding.grants] == [("Key Vault Secrets User", reach)]


def test_a_resource_group_role_is_unknown_until_the_vault_is_located_there() -> None:
    found = [assignment(RG)]
    [unknown] = assess(VAULT_JOB, found)
    assert unknown.status is AccessStatus.UNKNOWN  # never "granted" on a guess
    [granted] = assess(VAULT_JOB, found, known_ids=[VAULT])
    assert granted.status is AccessStatus.GRANTED
    [elsewhere] = assess(VAULT_JOB, found, known_ids=[VAULT.replace("rg-tax-shared", "rg-other")])
    assert elsewhere.status is AccessStatus.MISSING


def test_a_role_on_another_secret_or_another_vault_does_not_reach_it() -> None:
    archive = VAULT.replace("kv-tax-docs", "kv-tax-archive")
    [finding] = assess(VAULT_JOB, [assignment(f"{VAULT}/secrets/docs-legacy-key"), assignment(archive)])
    assert finding.status is AccessStatus.MISSING
    assert sorted(g.reach for g in finding.elsewhere) == ["narrower", "other"]
    assert no_role(finding) == ("id-tax-docs has no role on kv-tax-docs that reaches docs-key: Key Vault Secrets "
                                "User only on secrets/docs-legacy-key of kv-tax-docs")
    [other_only] = assess(VAULT_JOB, [assignment(archive)])
    assert no_role(other_only) == ("id-tax-docs has no role on kv-tax-docs (Key Vault Secrets User is on "
                                   "kv-tax-archive, another vault)")


def test_owner_of_the_vault_still_cannot_read_its_secrets() -> None:
    [finding] = assess(VAULT_JOB, [assignment(VAULT, role=OWNER)])
    assert finding.status is AccessStatus.MISSING
    assert no_role(finding) == "id-tax-docs has no role on kv-tax-docs that grants data access (Owner does not)"


def test_a_custom_role_is_unknown_not_granted() -> None:
    [finding] = assess(VAULT_JOB, [assignment(VAULT, role="0000aaaa-0000-4000-8000-00000000cafe")])
    assert finding.status is AccessStatus.UNKNOWN


def test_each_kind_of_access_needs_its_own_roles() -> None:
    job = parse_job(job_body(
        registries=[{"server": "contosoacr.azurecr.io", "identity": UAI}],
        eventTriggerConfig={"scale": {"rules": [
            {"name": "sb", "type": "azure-servicebus", "identity": UAI, "metadata": {"namespace": "sb-tax"}}]}}))
    registry = f"{RG}/providers/Microsoft.ContainerRegistry/registries/contosoacr"
    namespace = f"{RG}/providers/Microsoft.ServiceBus/namespaces/sb-tax"
    pull, count = assess(job, [assignment(registry, role=READER), assignment(namespace, role=SB_RECEIVER)])
    assert pull.status is AccessStatus.GRANTED  # Reader includes registries/pull/read
    # The scale rule counts messages (runtime properties: the Manage claim); Data Receiver cannot.
    assert count.status is AccessStatus.MISSING and count.elsewhere[0].reach == "no-data-access"


# --- the identity check: the read joins its round; a refused read is a reason, not a crash --------------

EVENT_ROW = {"Category": "identity", "Reason": "ContainerCreateFailure", "Count": 3, "Executions": 2,
             "Sample": "unable to fetch secret 'docs-key' using Managed identity"}


def identity_sources(changes: FakeChanges) -> Sources:
    logs = FakeLogs(results={"platform_errors": [EVENT_ROW]})
    return Sources(VAULT_JOB, Window(NOW, NOW), NOW, readers(FakeJobs([VAULT_JOB]), logs=logs, changes=changes))


async def test_the_identity_check_reports_the_roles_held_now() -> None:
    result = await identity.run(identity_sources(FakeChanges(assignments=[assignment(VAULT)])))
    assert result.status is CheckStatus.FAIL
    evidence = result.found(IdentityEvidence)
    assert evidence is not None and evidence.access is not None
    assert [(a.dependency, a.status) for a in evidence.access] == [("kv-tax-docs", AccessStatus.GRANTED)]


async def test_a_refused_role_read_says_what_could_not_be_checked_and_why() -> None:
    refused = UpstreamError("Azure role assignments answered HTTP 403 (AuthorizationFailed, missing permission)")
    result = await identity.run(identity_sources(FakeChanges(failures={"role_assignments": refused})))
    assert result.status is CheckStatus.FAIL  # the access errors in the logs still stand
    evidence = result.found(IdentityEvidence)
    assert evidence is not None and evidence.access is None
    assert evidence.access_error == ("could not check the roles on kv-tax-docs: Azure role assignments answered "
                                     "HTTP 403 (AuthorizationFailed, missing permission)")
