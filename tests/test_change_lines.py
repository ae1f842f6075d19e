"""The one line a report gives a change: setting names people know, before → after in short form, a secret's
value never (only that it was added, removed or changed), and a PATCH's setting without a made-up "before"."""

from __future__ import annotations

from typing import Any

import pytest

from bot.evidence.change_kinds import NOT_RECORDED
from bot.evidence.change_match import summarise
from bot.evidence.change_records import VALUE_CHANGED
from tests.test_change_match import RULES, change, record

SUB = "/subscriptions/s/resourceGroups/r/providers"
SECRET = "properties.configuration.secrets[name=db-password].value"

LINES = [
    (SECRET, None, VALUE_CHANGED, "secret db-password added"),
    (SECRET, VALUE_CHANGED, None, "secret db-password removed"),
    ("properties.template.containers[name=worker].env[name=DB_PASSWORD].value", "hunter2", "hunter3",
     "env DB_PASSWORD value changed"),
    ("properties.configuration.replicaTimeout", NOT_RECORDED, 300, "replicaTimeout set to 300"),
    (RULES, NOT_RECORDED, [{"name": "labels-queue"}, {"name": "orders"}], "scale rules labels-queue, orders set"),
    (RULES, NOT_RECORDED, [{"name": "labels-queue"}], "scale rule labels-queue set"),
    (RULES, NOT_RECORDED, [{"type": "azure-queue"}], "rules set"),
    ("properties.configuration.registries", None, [{"server": "acr.io"}], "registries added"),
    ("properties.configuration.registries", [{"server": "acr.io"}], None, "registries removed"),
    ("properties.configuration.manualTriggerConfig.parallelism", True, False, "parallelism true → false"),
    ("properties.template.containers[name=worker].resources.cpu", 0.5, 0.25, "cpu 0.5 → 0.25"),
    ("properties.configuration.replicaTimeout", None, 5, "replicaTimeout (none) → 5"),
    ("properties.environmentId", f"{SUB}/Microsoft.App/managedEnvironments/env-a",
     f"{SUB}/Microsoft.App/managedEnvironments/env-b", "environmentId env-a → env-b"),
    (f"identity.userAssignedIdentities['{SUB}/Microsoft.ManagedIdentity/userAssignedIdentities/id-x'].clientId",
     "c1", "c2", "user-assigned identity id-x clientId c1 → c2"),
    ("tags.team", "billing", "payments", "team billing → payments"),
]


@pytest.mark.parametrize(("path", "before", "after", "line"), LINES, ids=[x[3] for x in LINES])
def test_a_change_reads_as_people_name_the_setting(path: str, before: Any, after: Any, line: str) -> None:
    assert summarise(record(5, change(path, before, after))) == line


def test_a_long_value_is_cut_and_says_so() -> None:
    line = summarise(record(5, change("properties.template.containers[name=worker].image", "a" * 300, "b")))
    assert line.endswith("… → b") and len(line) < 120

