"""The Azure permissions jobbot needs: the code's own list of its reads, as RBAC actions.

Read-only by construction means the bot's identity can be given exactly these and nothing else. The
deploy script's custom role (`deploy/azure/jobbot-reader-role.json`) is generated from `ARM_READS`
(`python -m bot.azure.permissions`), and a test runs every bundled scenario against the emulator and
checks that the actions of the requests jobbot really made and this list agree, both ways.

Two reads are data-plane calls that a custom role's `Actions` cannot grant; they come from built-in
roles assigned at the one resource that needs them (`DATA_PLANE_ROLES`).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

ROLE_NAME = "jobbot reader"

# RBAC action -> the read that needs it. Keep in step with the adapters in bot/azure/.
ARM_READS: Mapping[str, str] = {
    "Microsoft.App/jobs/read": "the job, and the subscription's jobs to resolve a name (arm.py)",
    "Microsoft.App/jobs/executions/read": "execution history with templates and status (arm.py)",
    "Microsoft.App/managedEnvironments/read": "the environment: log destination, workload profiles (arm.py)",
    "Microsoft.App/managedEnvironments/usages/read":
        "the environment's cores in use and their quota, for `jobbot review` PERF-06 (changes.py)",
    "Microsoft.Authorization/roleAssignments/read":
        "the roles the job's identities hold now, when access errors are seen (changes.py)",
    "Microsoft.Authorization/roleDefinitions/read": "role names of those assignments, for `jobbot review` (changes.py)",
    "Microsoft.ContainerRegistry/registries/read": "the job's registry: admin user, for `jobbot review` (review)",
    "Microsoft.KeyVault/vaults/read": "the job's Key Vaults: soft delete, purge protection, RBAC, for `jobbot review`",
    "Microsoft.Insights/actionGroups/read": "who an alert rule on the job notifies, for `jobbot review` (changes.py)",
    "Microsoft.Insights/activityLogAlerts/read": "alerts on changes to the job and its access, for `jobbot review`",
    "Microsoft.Insights/diagnosticSettings/read":
        "where an azure-monitor environment sends its logs (arm.py); the evidence pack lists them (changes.py)",
    "Microsoft.Insights/metricAlerts/read": "metric alerts on the job's executions, for `jobbot review` (changes.py)",
    "Microsoft.Insights/metrics/read": "the job's Executions, Usage Bytes and UsageNanoCores metrics (arm.py)",
    "Microsoft.Insights/scheduledQueryRules/read": "log alerts naming the job, for `jobbot review` (changes.py)",
    "Microsoft.OperationalInsights/workspaces/read": "the workspace a diagnostic setting names (arm.py)",
    "Microsoft.ResourceGraph/resources/read": "Resource Graph change history and resource lookups (changes.py)",
    "Microsoft.ServiceBus/namespaces/read":
        "find the namespace a scale rule names (queues.py); its public network access, for `jobbot review`",
    "Microsoft.Storage/storageAccounts/read":
        "the storage account a scale rule reads: public network access, for `jobbot review` SEC-10 (changes.py)",
    "Microsoft.ServiceBus/namespaces/queues/read": "queue depth and dead letters of a Service Bus rule (queues.py)",
    "Microsoft.ServiceBus/namespaces/topics/subscriptions/read":
        "subscription depth and dead letters of a Service Bus topic rule (queues.py)",
}

# Built-in role -> what it is for; assigned at the workspace / the storage accounts, not the subscription.
DATA_PLANE_ROLES: Mapping[str, str] = {
    "Log Analytics Reader": "the canned KQL queries (POST /v1/workspaces/{id}/query), on the workspace",
    "Storage Queue Data Reader": "azure-queue depth (queue properties), on each storage account a scale rule reads",
}

_PROVIDER = re.compile(r"/providers/(?P<namespace>[^/]+)(?P<rest>(?:/[^/]+)*)$", re.IGNORECASE)


def action_for(method: str, path: str) -> str | None:
    """The RBAC action an ARM request needs, e.g. `GET …/jobs/j/executions` -> `Microsoft.App/jobs/executions/read`.

    None for a request that is not an ARM management call (the Log Analytics and Storage data planes).
    The last `/providers/{namespace}` segment names the resource type (a metric under a job is
    `Microsoft.Insights/metrics`); after it, type and name segments alternate.
    """
    path = path.split("?", 1)[0].rstrip("/")
    match = _PROVIDER.search(_last_provider(path))
    if match is None:
        return None
    segments = [s for s in match.group("rest").split("/") if s]
    namespace = _canonical_namespace(match.group("namespace"))
    method = method.upper()
    if method == "POST" and [t.lower() for t in segments] == ["resources"]:
        return f"{namespace}/resources/read"  # the Resource Graph query: a POST that reads
    types = [_canonical_type(namespace, t) for t in segments[0::2]]
    if method == "POST" and len(segments) % 2 == 1 and len(types) > 1:
        # …/jobs/{name}/stop: an action on the resource (never granted, but named as what it is).
        return f"{namespace}/{'/'.join(types)}/action"
    if not types:
        return None
    verb = {"GET": "read", "HEAD": "read", "DELETE": "delete"}.get(method, "write")
    return f"{namespace}/{'/'.join(types)}/{verb}"


def role_definition(assignable_scopes: Sequence[str]) -> dict[str, Any]:
    """The custom role in the shape `az role definition create --role-definition @file` reads."""
    return {
        "Name": ROLE_NAME,
        "IsCustom": True,
        "Description": "Read-only access for jobbot, the Azure Container Apps jobs triage bot: exactly the "
                       "reads it makes (generated by `python -m bot.azure.permissions`).",
        "Actions": sorted(ARM_READS),
        "NotActions": [],
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": list(assignable_scopes),
    }


def _last_provider(path: str) -> str:
    lowered = path.lower()
    index = lowered.rfind("/providers/")
    return path[index:] if index >= 0 else path


# The spelling Microsoft documents for each action, whatever case a request used.
_NAMESPACES = {n.split("/", 1)[0].lower(): n.split("/", 1)[0] for n in ARM_READS}
_TYPES = {(n.split("/", 1)[0].lower(), t.lower()): t for n in ARM_READS for t in n.split("/")[1:-1]}


def _canonical_namespace(namespace: str) -> str:
    return _NAMESPACES.get(namespace.lower(), namespace)


def _canonical_type(namespace: str, resource_type: str) -> str:
    return _TYPES.get((namespace.lower(), resource_type.lower()), resource_type)


def main(argv: Sequence[str] = ()) -> int:
    """Print the role definition for the given assignable scopes (default: a placeholder subscription)."""
    scopes = list(argv) or ["/subscriptions/00000000-0000-0000-0000-000000000000"]
    sys.stdout.write(json.dumps(role_definition(scopes), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
