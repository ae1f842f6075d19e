"""A scenario with change evidence (issue 10), built on the official samples in tests/fixtures/azure: a Key
Vault, a user-assigned identity, a registry, an environment overlay, role assignments, a role definition and
Resource Graph `resourcechanges` rows of the job, the environment and the vault."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.emulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
AZURE = ROOT / "tests" / "fixtures" / "azure"
LA_FILE = ROOT / "tests" / "fixtures" / "scenarios" / "emulator-log-analytics.yaml"
SUB = "11111111-2222-3333-4444-555555555555"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-orders"
JOB_ID = f"{RG}/providers/Microsoft.App/jobs/orders-processor"
ENV_ID = f"/subscriptions/{SUB}/resourceGroups/rg-env/providers/Microsoft.App/managedEnvironments/env-orders"
START = datetime(2026, 11, 27, 10, tzinfo=UTC)


def body(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((AZURE / name).read_text(encoding="utf-8"))
    return data


VAULT = body("keyvault.getVault.json")["responses"]["200"]["body"]
IDENTITY = body("msi.IdentityGet.json")["responses"]["200"]["body"]
REGISTRY = body("containerregistry.RegistryGet.json")["responses"]["200"]["body"]
ASSIGNMENT = body("authorization.RoleAssignments_ListForScope.json")["responses"]["200"]["body"]["value"][0]
DEFINITION = body("authorization.GetRoleDefinitionByName.json")["responses"]["200"]["body"]
SAMPLE_CHANGE = body("resourcechanges.GetChange.json")["responses"]["200"]["body"]
DOCS_CHANGE = body("resourcechanges.get-resource-changes.change-event-properties.json")
PRINCIPAL = ASSIGNMENT["properties"]["principalId"]
ASSIGNMENT_SUB = "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2"


def job_change(minutes: int, path: str, before: Any, after: Any, who: str = "dev@contoso.com") -> dict[str, Any]:
    return {
        "properties": {
            "targetResourceId": JOB_ID,
            "targetResourceType": "Microsoft.App/jobs",
            "changeType": "Update",
            "changeAttributes": {
                "timestamp": f"2026-11-28T09:{minutes:02d}:00.0000000Z",
                "changedBy": who,
                "changedByType": "User",
                "clientType": "Azure CLI",
                "operation": "Microsoft.App/jobs/write",
            },
            "changes": {path: {"previousValue": before, "newValue": after}},
        }
    }


ENV_OVERRIDE = {"id": ENV_ID, "name": "env-orders", "type": "Microsoft.App/managedEnvironments",
                "properties": {"workloadProfiles": [{"name": "D16-batch", "maximumCount": 3}]}}


def world(**changes: Any) -> dict[str, Any]:
    data = load_scenario(LA_FILE).to_dict()
    own = {**copy.deepcopy(ASSIGNMENT), "id": f"{VAULT['id']}/providers/Microsoft.Authorization/roleAssignments/ra-1",
           "name": "ra-1"}
    own["properties"] = {**own["properties"], "scope": VAULT["id"], "principalType": "ServicePrincipal"}
    data.update(
        resources=[VAULT, IDENTITY, REGISTRY, ENV_OVERRIDE],
        role_assignments=[ASSIGNMENT, own],
        role_definitions=[DEFINITION],
        resource_changes=[
            job_change(2, "properties.configuration.replicaTimeout", 1800, 300),
            job_change(5, "properties.configuration.eventTriggerConfig.parallelism", 1, 2, who="pipeline-app"),
            {"properties": {**DOCS_CHANGE, "targetResourceId": f"{ENV_ID}/providers/Microsoft.Foo/bar/x",
                            "changeAttributes": {**DOCS_CHANGE["changeAttributes"],
                                                 "timestamp": "2026-11-28T08:00:00.000+00:00"}}},
            {**SAMPLE_CHANGE, "properties": {  # moved into the window (the sample's change is from 2021)
                **SAMPLE_CHANGE["properties"], "targetResourceId": VAULT["id"],
                "changeAttributes": {**SAMPLE_CHANGE["properties"]["changeAttributes"],
                                     "timestamp": "2026-11-28T07:00:00.0000000Z"}}},
        ],
    )
    data.update(changes)
    return data
