"""Whether the job's identities hold, now, the roles that let them do what the job does with what it uses.

Pure: reads role assignments as ARM serves them (`GET {scope}/providers/Microsoft.Authorization/
roleAssignments`, 2022-04-01: `properties.{scope, roleDefinitionId, principalId, createdOn}`) and the job's
`Access` list (which identity reads which vault secret, pulls from which registry, counts which queue).

A role reaches a dependency when it is assigned on it, on the very secret or queue the job uses, or above
it (resource group, subscription, management group: inherited). Assigned on another secret or queue of it
("narrower") or on another resource of the same kind ("other"), it does not. Which roles suffice is a table
of built-in roles (their ids are the same in every tenant) per kind of access; a custom role, or a resource
group whose members are not known, makes the answer "unknown", never "granted".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.evidence.arm_time import parse_arm_time
from bot.evidence.change_kinds import BUILT_IN_ROLES
from bot.evidence.payloads import AccessFinding, AccessStatus, RoleGrant
from bot.model import SYSTEM_ASSIGNED, Access, AccessKind, Job

# The provider type of each kind of dependency, and the child type a role can be scoped to below it.
_TYPES: dict[AccessKind, tuple[str, tuple[str, ...]]] = {
    AccessKind.KEY_VAULT: ("microsoft.keyvault/vaults", ("secrets",)),
    AccessKind.REGISTRY: ("microsoft.containerregistry/registries", ()),
    AccessKind.STORAGE_QUEUE: ("microsoft.storage/storageaccounts", ("queueservices", "default", "queues")),
    AccessKind.SERVICE_BUS: ("microsoft.servicebus/namespaces", ()),
}
# Built-in roles (definition GUIDs) that grant what the job does with each kind: read a secret's value
# (getSecret), pull an image (Reader, Contributor and Owner include registries/pull/read), read a queue's
# messages and count (what KEDA's azure-queue scaler does), and count a Service Bus entity's messages (KEDA's
# azure-servicebus scaler reads runtime properties, which needs the Manage claim: Data Owner).
SUFFICIENT: dict[AccessKind, frozenset[str]] = {
    AccessKind.KEY_VAULT: frozenset({"4633458b-17de-408a-b874-0445c86b69e6", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
                                     "00482a5a-887f-4fb3-b363-3b7fe8e74483"}),
    AccessKind.REGISTRY: frozenset({"7f951dda-4ed3-4680-a7ca-43fe172d538d", "8311e382-0749-4cb8-b61a-304f252e45ec",
                                    "acdd72a7-3385-48ef-bd42-f606fba81ae7", "b24988ac-6180-42a0-ab88-20f7382dd24c",
                                    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"}),
    AccessKind.STORAGE_QUEUE: frozenset({"19e7f393-937e-4f77-808e-94535e297925", "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
                                         "8a0f0c08-91a1-4084-bc3d-661d67233fed"}),
    AccessKind.SERVICE_BUS: frozenset({"090c5cfd-751d-490a-894a-3ce6f1109419"}),
}
_ANCESTOR = re.compile(r"^/(providers/microsoft\.management/managementgroups/[^/]+|subscriptions/[^/]+"
                       r"(/resourcegroups/[^/]+)?)?$")


def assess(job: Job, assignments: Iterable[Mapping[str, Any]], *,
           known_ids: Iterable[str] = ()) -> tuple[AccessFinding, ...]:
    """One finding per (dependency, identity) the job uses, in the job's own order.

    `known_ids`: ARM ids of the dependencies where they are known (from change records): a role on a resource
    group then reaches the dependency only if it lives there."""
    names = {i.principal_id.lower(): i.name for i in job.identities}
    mine = [a for a in assignments if isinstance(a, Mapping)]
    ids = [i.lower() for i in known_ids if i]
    return tuple(_assess(access, names.get(access.principal_id.lower(), access.principal_id), mine, ids)
                 for access in job.access)


def _assess(access: Access, identity: str, assignments: Sequence[Mapping[str, Any]],
            known_ids: Sequence[str]) -> AccessFinding:
    grants: list[RoleGrant] = []
    maybe: list[RoleGrant] = []
    elsewhere: list[RoleGrant] = []
    located = _dependency_id(access, [*known_ids, *(_scope(a) for a in assignments)])
    for assignment in assignments:
        props = _props(assignment)
        if str(props.get("principalId") or "").lower() != access.principal_id.lower():
            continue
        reach = _reach(access, _scope(assignment), located)
        if reach is None:
            continue
        role_id = str(props.get("roleDefinitionId") or "").rsplit("/", 1)[-1].lower()
        grant = RoleGrant(BUILT_IN_ROLES.get(role_id, str(props.get("roleDefinitionId") or "")), _scope(assignment),
                          reach, _time(props.get("createdOn")))
        known_role = role_id in BUILT_IN_ROLES
        if reach in ("narrower", "other"):
            elsewhere.append(grant)
        elif known_role and role_id not in SUFFICIENT[access.kind]:
            elsewhere.append(RoleGrant(grant.role, grant.scope, "no-data-access", grant.created_on))
        elif known_role and reach != "inherited-maybe":
            grants.append(grant)
        else:
            maybe.append(RoleGrant(grant.role, grant.scope, "inherited" if reach == "inherited-maybe" else reach,
                                   grant.created_on))
    status = AccessStatus.GRANTED if grants else AccessStatus.UNKNOWN if maybe else AccessStatus.MISSING
    return AccessFinding(access.name, access.kind.value, access.item, identity, access.principal_id, status,
                         tuple(_ordered(grants or maybe)), tuple(_ordered(elsewhere)))


def _reach(access: Access, scope: str, located: str | None) -> str | None:
    """How an assignment at `scope` bears on the dependency (see RoleGrant.reach); None: not at all."""
    kind, child = _TYPES[access.kind]
    if _ANCESTOR.match(scope):
        if scope in ("", "/") or "/managementgroups/" in scope:
            return "inherited"  # listed for the identity, so above the subscriptions read
        if located is not None:
            return "inherited" if located.startswith(scope + "/") else None
        return "inherited-maybe"  # where the dependency lives is not known
    resource = _resource_part(scope, kind)
    if resource is None:
        return None
    _, name, rest = resource
    if name != access.name:
        return "other" if not rest else None
    if not rest:
        return "resource"
    # Below the resource: the item the job uses (…/secrets/docs-key, …/queueServices/default/queues/docs)?
    if child and [p for p in rest[: len(child)]] == list(child) and len(rest) == len(child) + 1:
        return "item" if access.item and rest[-1] == access.item.lower() else "narrower"
    return "narrower"


def _resource_part(scope: str, kind: str) -> tuple[str, str, list[str]] | None:
    """(id up to the resource, its name, the segments below it) when `scope` is a resource of type `kind`."""
    head, sep, tail = scope.partition("/providers/")
    if not sep:
        return None
    parts = tail.split("/")
    namespace, type_ = kind.split("/")
    if len(parts) < 3 or parts[0] != namespace or parts[1] != type_:
        return None
    return f"{head}/providers/{namespace}/{type_}/{parts[2]}", parts[2], parts[3:]


def _dependency_id(access: Access, scopes: Iterable[str]) -> str | None:
    """The dependency's ARM id, from any id that names it (a role assignment's scope, a change record)."""
    kind, _ = _TYPES[access.kind]
    for scope in scopes:
        found = _resource_part(scope.split("/providers/microsoft.authorization/", 1)[0], kind)
        if found is not None and found[1] == access.name:
            return found[0]
    return None


def no_role(finding: AccessFinding) -> str:
    """"id-tax-docs has no role on kv-tax-docs" (what it holds instead, when it holds a role nearby)."""
    text = f"{_who(finding.identity)} has no role on {finding.dependency}"
    narrower = [g for g in finding.elsewhere if g.reach == "narrower"]
    other = [g for g in finding.elsewhere if g.reach == "other"]
    weak = [g for g in finding.elsewhere if g.reach == "no-data-access"]
    if narrower:
        text += f" that reaches {finding.item or 'what the job uses'}: {narrower[0].role} only on " \
                f"{_below(narrower[0].scope, finding.dependency)}"
    elif other:
        text += f" ({other[0].role} is on {other[0].scope.rsplit('/', 1)[-1]}, another {_noun(finding.kind)})"
    elif weak:
        text += f" that grants data access ({weak[0].role} does not)"
    return text


def _below(scope: str, dependency: str) -> str:
    """`secrets/legacy-key of kv-tax-docs` from the scope's tail."""
    tail = scope.split(f"/{dependency.lower()}/", 1)[-1]
    return f"{tail} of {dependency}"


def _noun(kind: str) -> str:
    return {"key-vault": "vault", "registry": "registry", "storage-queue": "storage account",
            "service-bus": "namespace"}.get(kind, "resource")


def _who(identity: str) -> str:
    return "the job's system-assigned identity" if identity == SYSTEM_ASSIGNED else identity


def _ordered(grants: Iterable[RoleGrant]) -> list[RoleGrant]:
    return sorted(grants, key=lambda g: (g.scope, g.role))


def _props(assignment: Mapping[str, Any]) -> Mapping[str, Any]:
    props = assignment.get("properties")
    return props if isinstance(props, Mapping) else assignment


def _scope(assignment: Mapping[str, Any]) -> str:
    scope = str(_props(assignment).get("scope") or "")
    if not scope:
        scope = str(assignment.get("id") or "").lower().split("/providers/microsoft.authorization/roleassignments/")[0]
    return "/" + scope.strip("/").lower() if scope.strip("/") else "/"


def _time(value: Any) -> datetime | None:
    try:
        return parse_arm_time(value)
    except (TypeError, ValueError):
        return None
