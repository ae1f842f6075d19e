"""What a change is about, from the changed resource's id, the operation and the property paths.

One place that names these (`replica-timeout`, `role-assignment-deleted`, `keys-rotated` …) so that the
matcher, the one-line summary and the revert commands agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.evidence.change_records import ChangeRecord, PropertyChange, ResourceKind

# Order matters: a role assignment sits below the resource it is scoped to (…/vaults/kv/providers/
# Microsoft.Authorization/roleAssignments/…), a queue below its storage account.
_KINDS: tuple[tuple[str, ResourceKind], ...] = (
    ("/providers/microsoft.authorization/roleassignments/", ResourceKind.ROLE_ASSIGNMENT),
    ("/providers/microsoft.app/jobs/", ResourceKind.JOB),
    ("/providers/microsoft.app/managedenvironments/", ResourceKind.ENVIRONMENT),
    ("/providers/microsoft.managedidentity/userassignedidentities/", ResourceKind.IDENTITY),
    ("/providers/microsoft.keyvault/vaults/", ResourceKind.KEY_VAULT),
    ("/providers/microsoft.containerregistry/registries/", ResourceKind.REGISTRY),
    ("/providers/microsoft.storage/storageaccounts/", ResourceKind.EVENT_SOURCE),
    ("/providers/microsoft.servicebus/namespaces/", ResourceKind.EVENT_SOURCE),
    ("/providers/microsoft.eventhub/namespaces/", ResourceKind.EVENT_SOURCE),
)
# The before of a property that a source saw set but never saw before (a lone PATCH in the Activity Log).
NOT_RECORDED = "(not recorded)"
LIFECYCLE_VERBS = ("start", "stop", "suspend", "resume")
# Built-in role definition ids (the same in every tenant) -> names, for the roles a job's identity needs.
BUILT_IN_ROLES: dict[str, str] = {
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "21090545-7ca7-4776-b22c-e363652d74d2": "Key Vault Reader",
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
    "8311e382-0749-4cb8-b61a-304f252e45ec": "AcrPush",
    "19e7f393-937e-4f77-808e-94535e297925": "Storage Queue Data Reader",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "8a0f0c08-91a1-4084-bc3d-661d67233fed": "Storage Queue Data Message Processor",
    "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": "Azure Service Bus Data Receiver",
    "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": "Azure Service Bus Data Sender",
    "090c5cfd-751d-490a-894a-3ce6f1109419": "Azure Service Bus Data Owner",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
}
_KEY_ROTATIONS = ("regeneratekey", "regeneratekeys", "rotatekey")
_REGISTRY_CREDENTIALS = ("regeneratecredential", "regeneratecredentials", "generatecredentials")
_REGISTRY_CONTENT = ("/repositories/", "/tags/", "/manifests/", "/artifacts/")

# Property paths, lower-cased with every list position as [*] and resource-id keys as {id}: first match wins.
_PATH_TAGS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), t) for p, t in (
    (r"\.configuration\.replicatimeout$", "replica-timeout"),
    (r"\.configuration\.replicaretrylimit$", "retry-limit"),
    (r"triggerconfig\.parallelism$", "parallelism"),
    (r"triggerconfig\.replicacompletioncount$", "completion-count"),
    (r"triggerconfig\.cronexpression$", "schedule"),
    (r"\.scale\.maxexecutions$", "max-executions"),
    (r"\.scale\.minexecutions$", "min-executions"),
    (r"\.scale\.pollinginterval$", "polling-interval"),
    (r"\.scale\.rules\[\*\]\.metadata\.(queuelength|messagecount|targetqueuelength)$", "queue-length"),
    (r"\.scale\.rules\[\*\]\.(auth|identity)\b", "scale-rule-auth"),
    (r"\.scale\.rules(\[\*\].*)?$", "scale-rule-metadata"),
    (r"containers\[\*\]\.image$", "image"),
    (r"containers\[\*\]\.resources\.memory$", "memory"),
    (r"containers\[\*\]\.resources\.cpu$", "cpu"),
    (r"containers\[\*\]\.env\b", "env"),
    (r"\.template\.(init)?containers(\[\*\])?$", "container"),
    (r"\.configuration\.secrets\b", "secrets"),
    (r"\.configuration\.registries\b", "registry-credentials"),
    (r"\.configuration\.identitysettings\b", "identity"),
    (r"^properties\.workloadprofilename$", "workload-profile"),
    (r"^properties\.workloadprofiles\b", "workload-profile"),
    (r"^properties\.vnetconfiguration\b", "environment-network"),
    (r"^properties\.applogsconfiguration\b", "environment-logs"),
    (r"^properties\.accesspolicies\b", "key-vault-access-policy"),
    (r"^properties\.enablerbacauthorization$", "key-vault-access-policy"),
    (r"^properties\.(networkacls|networkruleset|publicnetworkaccess)\b", "network"),
    (r"^properties\.adminuserenabled$", "registry-admin-user"),
    (r"^properties\.(allowsharedkeyaccess|disablelocalauth)$", "event-source-auth"),
    (r"^identity\b", "identity"),
))


def resource_kind(resource_id: str) -> ResourceKind:
    lowered = resource_id.lower()
    return next((kind for marker, kind in _KINDS if marker in lowered), ResourceKind.OTHER)


def operation_verb(operation: str) -> str:
    """`MICROSOFT.STORAGE/STORAGEACCOUNTS/REGENERATEKEY/ACTION` -> regeneratekey; `…/WRITE` -> write;
    Resource Graph change types (Create/Update/Delete) lower-cased."""
    parts = [p for p in operation.lower().split("/") if p]
    if len(parts) >= 2 and parts[-1] == "action":
        return parts[-2]
    return parts[-1] if parts else ""


def is_deletion(record: ChangeRecord) -> bool:
    return operation_verb(record.operation) == "delete"


_BRACKETS = re.compile(r"\[\w+='(?:[^'\\]|\\.)*'\]|\['(?:[^'\\]|\\.)*'\]|\[[^\]]*\]")


def path_shape(path: str) -> str:
    """`properties.template.containers[name=worker].env[name=A].value` -> `…containers[*].env[*].value`
    (lower-cased; quoted keys such as resource ids become [*] too)."""
    return _BRACKETS.sub("[*]", path.lower())


def change_tag(change: PropertyChange, kind: ResourceKind = ResourceKind.JOB) -> str:
    """The name of what one property change is about; `other` when nothing more specific fits."""
    shape = path_shape(change.path)
    removed = change.after is None and change.before is not None
    if removed and (shape.startswith("identity.userassignedidentities") or shape == "identity"):
        return "identity-removed"
    if shape == "identity.type" and "userassigned" in str(change.before).lower() \
            and "userassigned" not in str(change.after).lower():
        return "identity-removed"
    for pattern, tag in _PATH_TAGS:
        if pattern.search(shape):
            if tag == "network":
                return {ResourceKind.KEY_VAULT: "key-vault-network", ResourceKind.REGISTRY: "registry-network",
                        ResourceKind.EVENT_SOURCE: "event-source-network"}.get(kind, "network")
            return tag
    return "other"


def record_tags(record: ChangeRecord) -> frozenset[str]:
    """Every tag of a record: from its operation and resource, and from each of its property changes."""
    tags = set(_operation_tags(record))
    tags.update(change_tag(c, record.kind) for c in record.changes)
    if not record.changes and not tags:
        tags.add("other")
    return frozenset(tags)


def _operation_tags(record: ChangeRecord) -> Iterable[str]:
    verb = operation_verb(record.operation)
    lowered = record.resource_id.lower()
    operation = record.operation.lower()
    if verb in LIFECYCLE_VERBS and record.kind == ResourceKind.JOB:
        yield "lifecycle"
    if verb in _KEY_ROTATIONS:
        yield "keys-rotated"
    if verb in _REGISTRY_CREDENTIALS:
        yield "registry-credentials"
    if record.kind == ResourceKind.ROLE_ASSIGNMENT:
        yield "role-assignment-deleted" if verb == "delete" else "role-assignment"
    if record.kind == ResourceKind.KEY_VAULT and "/accesspolicies/" in operation + lowered:
        yield "key-vault-access-policy"
    if verb != "delete":
        return
    if record.kind == ResourceKind.EVENT_SOURCE:
        yield "event-source-deleted"
    elif record.kind == ResourceKind.REGISTRY:
        yield "registry-tag-deleted" if any(m in lowered for m in _REGISTRY_CONTENT) else "registry-deleted"
    elif record.kind == ResourceKind.KEY_VAULT and "/accesspolicies/" not in operation + lowered:
        yield "key-vault-deleted"
    elif record.kind == ResourceKind.IDENTITY:
        yield "identity-removed"
