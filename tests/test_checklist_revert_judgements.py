"""How jobbot judges "is it back?" after a configuration or access revert: reading a value at a path of an ARM
body, comparing it with the value before the change, and finding a re-created role assignment."""

from __future__ import annotations

from typing import Any

import pytest

from bot.checklists.model import Revert
from bot.checklists.reverts import assignment_found, deleted_assignment, is_back, value_at

JOB: dict[str, Any] = {
    "properties": {
        "configuration": {
            "replicaTimeout": 1800,
            "eventTriggerConfig": {"scale": {"rules": [{"name": "queue", "metadata": {"queueName": "orders"}}]}},
            "secrets": [{"name": "db", "keyVaultUrl": "https://kv/secrets/db"}],
        },
    },
}
VAULT = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
ASSIGNMENT = VAULT + "/providers/Microsoft.Authorization/roleAssignments/1111"
ROLE = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/4633458b"


@pytest.mark.parametrize(("path", "value"), [
    ("properties.configuration.replicaTimeout", 1800),
    ("Properties.Configuration.ReplicaTimeout", 1800),  # ARM names are case-insensitive
    ("properties.configuration.eventTriggerConfig.scale.rules[0].metadata.queueName", "orders"),
    ("properties.configuration.eventTriggerConfig.scale.rules[name=queue].metadata.queueName", "orders"),
    ("properties.configuration.eventTriggerConfig.scale.rules[3].metadata", None),  # no such position
    ("properties.configuration.eventTriggerConfig.scale.rules[name=other]", None),  # no such item
    ("properties.configuration.replicaTimeout.seconds", None),  # a key under a scalar
    ("properties.configuration.secrets[0].keyVaultUrl", "https://kv/secrets/db"),
    ("properties.configuration[0]", None),  # a position in an object
    ("properties.configuration.replicaTimeout[name=x]", None),  # an item in a scalar
    ("properties.template", None),
])
def test_a_value_is_read_at_its_path_or_is_absent(path: str, value: Any) -> None:
    assert value_at(JOB, path) == value


@pytest.mark.parametrize(("current", "before", "back"), [
    (1800, 1800, True),
    ("1800", 1800, True),  # ARM may answer a number as text
    (1800.0, 1800, True),
    ("Orders ", "orders", True),  # case and spaces aside
    (True, "true", True),
    (240, 1800, False),
    (None, 1800, False),
    (None, None, True),  # absent before, absent again
    ({}, None, True),
    ("x", None, False),
    ({"type": "UserAssigned", "principalId": "p"}, {"type": "UserAssigned"}, True),  # Azure adds read-only fields
    ({"type": "None"}, {"type": "UserAssigned"}, False),
    ("text", {"type": "UserAssigned"}, False),
    ([{"name": "a", "x": 1}, {"name": "b"}], [{"name": "b"}], True),
    ([{"name": "a"}], [{"name": "b"}], False),
    ({"a": 1}, [1], False),
])
def test_back_means_the_value_before_the_change_is_there_again(current: Any, before: Any, back: bool) -> None:
    assert is_back(current, before) is back


def test_a_deleted_assignment_is_read_from_its_recorded_properties() -> None:
    reverts = [Revert(ASSIGNMENT, "properties.principalId", "p-1", None),
               Revert(ASSIGNMENT, "properties.roleDefinitionId", ROLE, None)]
    assert deleted_assignment(reverts) == ("p-1", ROLE, VAULT)
    with_scope = [*reverts, Revert(ASSIGNMENT, "properties.scope", VAULT + "/secrets/db", None)]
    assert deleted_assignment(with_scope) == ("p-1", ROLE, VAULT + "/secrets/db")
    assert deleted_assignment(reverts[:1]) is None  # no role recorded: nothing to look for
    assert deleted_assignment([]) is None


def test_a_recreated_assignment_counts_at_its_scope_or_above_but_not_another_role_or_principal() -> None:
    def assignment(principal: str, role: str, scope: str) -> dict[str, Any]:
        return {"properties": {"principalId": principal, "roleDefinitionId": role, "scope": scope}}

    other_role = ROLE.replace("4633458b", "b24988ac")
    assert assignment_found([assignment("P-1", ROLE, VAULT)], "p-1", ROLE, VAULT)
    assert assignment_found([assignment("p-1", ROLE, "/subscriptions/s/resourceGroups/rg")], "p-1", ROLE, VAULT)
    assert not assignment_found([assignment("p-1", ROLE, VAULT + "/secrets/db")], "p-1", ROLE, VAULT)  # narrower
    assert not assignment_found([assignment("p-2", ROLE, VAULT)], "p-1", ROLE, VAULT)
    assert not assignment_found([assignment("p-1", other_role, VAULT)], "p-1", ROLE, VAULT)
    flat = {"principalId": "p-1", "roleDefinitionId": ROLE, "scope": VAULT}  # some lists are not nested
    assert assignment_found([flat], "p-1", ROLE, VAULT)
