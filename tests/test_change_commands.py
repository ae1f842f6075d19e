"""Revert commands a person can paste: one command, every value one shell word, no secret."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.evidence.callers import caller_kind
from bot.evidence.change_commands import revert_command, revert_commands, shell_word
from bot.evidence.change_kinds import NOT_RECORDED, resource_kind
from bot.evidence.change_records import VALUE_CHANGED, ChangeRecord, ChangeSource, PropertyChange

SUB = "/subscriptions/0000"
JOB = f"{SUB}/resourceGroups/rg-orders/providers/Microsoft.App/jobs/orders"
ENV = f"{SUB}/resourceGroups/rg-orders/providers/Microsoft.App/managedEnvironments/env-batch"
VAULT = f"{SUB}/resourceGroups/rg-orders/providers/Microsoft.KeyVault/vaults/kv-tax"
UAMI = f"{SUB}/resourcegroups/rg-orders/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-tax-docs"
PRINCIPAL = "74adfa4f-dedf-8dc0-ca29-b6d1a69ab312"
RULES = "properties.configuration.eventTriggerConfig.scale.rules"
CONTAINER = "properties.template.containers[name=worker]"
OPERATORS = {"|", "||", "&", "&&", ";", ";;", ">", ">>", "<", "<<", "(", ")", ">&", "<&", "|&"}


def record(*changes: PropertyChange, resource_id: str = JOB, operation: str = "Update") -> ChangeRecord:
    return ChangeRecord(datetime(2026, 11, 28, 9, 0, tzinfo=UTC), resource_id, resource_kind(resource_id), operation,
                        "a@contoso.com", caller_kind("a@contoso.com"), ChangeSource.RESOURCE_GRAPH, changes)


def c(path: str, before: object, after: object) -> PropertyChange:
    return PropertyChange(path, before, after)


ROLE_ID = f"{VAULT}/providers/Microsoft.Authorization/roleAssignments/9d1f"
ROLE = record(c("properties.roleDefinitionId",
                f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6", None),
              c("properties.principalId", PRINCIPAL, None), c("properties.principalType", "ServicePrincipal", None),
              c("properties.scope", VAULT, None), resource_id=ROLE_ID, operation="Delete")

CASES = [
    (record(c("properties.configuration.replicaTimeout", 1800, 300)),
     ("az containerapp job update --name orders --resource-group rg-orders --replica-timeout 1800",)),
    (record(c("properties.configuration.eventTriggerConfig.scale.maxExecutions", 20, 2),
            c("properties.configuration.eventTriggerConfig.parallelism", 4, 1)),
     ("az containerapp job update --name orders --resource-group rg-orders --max-executions 20 --parallelism 4",)),
    (record(c("properties.configuration.scheduleTriggerConfig.cronExpression", "*/5 * * * *", "0 * * * *")),
     ('az containerapp job update --name orders --resource-group rg-orders --cron-expression "*/5 * * * *"',)),
    (record(c(f"{CONTAINER}.image", "acr.io/orders:1.4.2", "acr.io/orders:1.5.0"),
            c(f"{CONTAINER}.resources.cpu", 1.0, 0.5), c(f"{CONTAINER}.resources.memory", "2Gi", "1Gi")),
     ("az containerapp job update --name orders --resource-group rg-orders --container-name worker "
      "--image acr.io/orders:1.4.2 --cpu 1 --memory 2Gi",)),
    (record(c("properties.configuration.replicaTimeout", NOT_RECORDED, 300)),
     ('az containerapp job update --name orders --resource-group rg-orders --replica-timeout "<previous value>"',)),
    (record(c("properties.template.containers[0].image", "acr.io/orders:1.4.2", "acr.io/orders:1.5.0")),
     ("az containerapp job update --name orders --resource-group rg-orders --image acr.io/orders:1.4.2",)),
    (record(c(f"{CONTAINER}.env[name=DB_HOST].value", VALUE_CHANGED, VALUE_CHANGED),
            c(f"{CONTAINER}.env[name=NEW]", None, {"name": "NEW", "value": VALUE_CHANGED})),
     ('az containerapp job update --name orders --resource-group rg-orders --container-name worker '
      '--set-env-vars "DB_HOST=<previous value>" --remove-env-vars NEW',)),
    (record(c(f"{RULES}[name=queue-rule].metadata.queueName", "orders", "orders-v2")),
     ('az containerapp job update --name orders --resource-group rg-orders --scale-rule-name queue-rule '
      '--scale-rule-type "<scale rule type>" --scale-rule-metadata queueName=orders',)),
    (record(c(f"identity.userAssignedIdentities['{UAMI}']", {"principalId": PRINCIPAL}, None)),
     (f"az containerapp job identity assign --name orders --resource-group rg-orders --user-assigned {UAMI}",)),
    (record(c("identity.userAssignedIdentities", {UAMI: {}}, None)),  # the whole map removed at once
     (f"az containerapp job identity assign --name orders --resource-group rg-orders --user-assigned {UAMI}",)),
    (record(c("properties.configuration.secrets[name=db].value", VALUE_CHANGED, VALUE_CHANGED)),
     ('az containerapp job secret set --name orders --resource-group rg-orders --secrets "db=<previous value>"',)),
    (ROLE, ("az role assignment create --assignee-object-id 74adfa4f-dedf-8dc0-ca29-b6d1a69ab312 "
            f'--assignee-principal-type ServicePrincipal --role "Key Vault Secrets User" --scope {VAULT}',)),
    (record(resource_id=ROLE_ID, operation="Delete"),
     ('az role assignment create --assignee-object-id "<principal id>" --assignee-principal-type ServicePrincipal '
      f'--role "<role name>" --scope {VAULT}',)),
    (record(c("properties.workloadProfiles[name=D16-batch].maximumCount", 10, 3), resource_id=ENV),
     ("az containerapp env workload-profile update --name env-batch --resource-group rg-orders "
      "--workload-profile-name D16-batch --max-nodes 10",)),
    (record(c(f"properties.accessPolicies[objectId={PRINCIPAL}]",
              {"objectId": PRINCIPAL, "permissions": {"secrets": ["get", "list"]}}, None),
            resource_id=f"{VAULT}/accessPolicies/remove", operation="MICROSOFT.KEYVAULT/VAULTS/ACCESSPOLICIES/WRITE"),
     (f"az keyvault set-policy --name kv-tax --resource-group rg-orders --object-id {PRINCIPAL} "
      "--secret-permissions get list",)),
    (record(c("properties.networkAcls.defaultAction", "Allow", "Deny"), resource_id=VAULT),
     ("az keyvault update --name kv-tax --resource-group rg-orders --default-action Allow",)),
    (record(c("properties.adminUserEnabled", True, False),
            resource_id=f"{SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acrorders"),
     ("az acr update --name acrorders --admin-enabled true",)),
    (record(resource_id=f"{SUB}/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/sb-orders/queues/orders",
            operation="Delete"),
     ("az servicebus queue create --resource-group rg --namespace-name sb-orders --name orders",)),
    (record(resource_id=f"{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/queueServices/"
                        "default/queues/orders", operation="Delete"),
     ("az storage queue create --name orders --account-name st --auth-mode login",)),
    (record(resource_id=f"{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st",
            operation="MICROSOFT.STORAGE/STORAGEACCOUNTS/REGENERATEKEY/ACTION"), ()),
]


@pytest.mark.parametrize(("item", "commands"), CASES)
def test_the_revert_command_for_each_kind_of_change(item: ChangeRecord, commands: tuple[str, ...]) -> None:
    assert revert_commands(item) == commands
    assert revert_command(item) == (commands[0] if commands else None)


@pytest.mark.parametrize("command", [cmd for _, commands in CASES for cmd in commands])
def test_each_command_is_one_command_with_no_redirection(command: str) -> None:
    words = shlex.split(command)
    assert words[:1] == ["az"] and "\n" not in command
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    assert not set(lexer) & OPERATORS
    placeholders = [w for w in words if "<" in w or ">" in w]
    assert all(w.startswith("<") or "=<" in w for w in placeholders)  # each placeholder stayed one word


def test_no_secret_value_reaches_a_command() -> None:
    leaky = record(c(f"{CONTAINER}.env[name=DB_PASSWORD].value", "hunter2", "hunter3"),
                   c("properties.configuration.secrets[name=db].value", "hunter2", "hunter3"))
    assert "hunter" not in " ".join(revert_commands(leaky))


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_any_value_is_exactly_one_shell_word(text: str) -> None:
    assert shlex.split(shell_word(text)) == [text]
