"""A deleted role assignment, read against the roles the job's identity holds now.

The change evidence says a role assignment was deleted (when, by whom); the identity check read the
identity's current assignments. Together they say whether the deletion still explains the failures: the
role is still missing; it was re-granted (failures after that, past the time a role change takes to apply,
have another cause); another assignment still grants it; or the current roles could not be read (and why).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.evidence.change_kinds import BUILT_IN_ROLES, operation_verb
from bot.evidence.payloads import AccessFinding, AccessStatus, FailuresEvidence, IdentityEvidence, SuspectedChange
from bot.evidence.role_access import no_role

ROLE_ASSIGNMENTS = "/providers/microsoft.authorization/roleassignments/"
# Azure documents up to 10 minutes for a role assignment change to take effect.
PROPAGATION = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class AccessNow:
    change: SuspectedChange  # with `access_now` set where a finding matched
    sentence: str  # what the verdict adds; "" when there is nothing to add
    weakens: bool  # the deletion does not (or no longer) explain all the failures


def access_now(change: SuspectedChange, identity: IdentityEvidence | None,
               failures: FailuresEvidence | None) -> AccessNow:
    deleted = _deleted_assignment(change)
    if deleted is None or identity is None:
        return AccessNow(change, "", False)
    scope, principal, role = deleted
    if identity.access_error:
        return AccessNow(change, f"Could not check whether the role is still missing: {identity.access_error}.", False)
    finding = _finding(identity.access or (), scope, principal)
    if finding is None:
        return AccessNow(change, "", False)
    change = replace(change, access_now=finding)
    when, who = _hm(change.time), f" by {change.caller}" if change.caller else ""
    if finding.status is AccessStatus.MISSING:
        return AccessNow(change, f"Now {no_role(finding)} ({role} was deleted{when}{who}).", False)
    if finding.status is AccessStatus.UNKNOWN:
        # Built-in roles on resource groups or subscriptions: the deleted assignment's scope says whether the
        # dependency lives there (the identity check could not tell).
        placeable = [g for g in finding.grants if g.reach == "inherited" and not g.role.startswith("/")]
        above = [g for g in placeable if scope.startswith(g.scope.lower().rstrip("/") + "/")]
        if above:
            return AccessNow(change, f"{finding.identity} still holds {above[0].role} on {_short(above[0].scope)}: "
                                     "the deletion alone does not explain the failures.", True)
        if placeable and len(placeable) == len(finding.grants):
            finding = replace(finding, status=AccessStatus.MISSING, grants=())
            change = replace(change, access_now=finding)
            return AccessNow(change, f"Now {no_role(finding)} ({role} was deleted{when}{who}).", False)
        grant = finding.grants[0]
        return AccessNow(change, f"{finding.identity} may still reach {finding.dependency} through {grant.role} on "
                                 f"{grant.scope} (could not tell whether that role or scope covers it).", False)
    newer = [g for g in finding.grants if g.created_on and change.time and g.created_on > change.time]
    if newer:
        regrant = min(newer, key=lambda g: g.created_on or datetime.max)
        assert regrant.created_on is not None
        after = _failed_after(failures, regrant.created_on + PROPAGATION)
        tail = (f"; {after} execution{'s' if after != 1 else ''} failed after that, so look further"
                if after else "")
        return AccessNow(change, f"{regrant.role} was re-granted to {finding.identity} on {finding.dependency} at "
                                 f"{_hm(regrant.created_on).strip()} — the deletion no longer explains failures after "
                                 f"that{tail}.", bool(after))
    grant = finding.grants[0]
    return AccessNow(change, f"{finding.identity} still holds {grant.role} on {_short(grant.scope)}: the deletion "
                             "alone does not explain the failures.", True)


def _deleted_assignment(change: SuspectedChange) -> tuple[str, str | None, str] | None:
    """(scope, principal id if recorded, role name) of a deleted role assignment; None for any other change."""
    resource = (change.resource or "").lower()
    if ROLE_ASSIGNMENTS not in resource or operation_verb(change.operation or "") != "delete":
        return None
    before = {c.path.lower(): c.before for c in change.changes}
    scope = str(before.get("properties.scope") or resource.split(ROLE_ASSIGNMENTS, 1)[0]).lower()
    principal = before.get("properties.principalid")
    role_id = str(before.get("properties.roledefinitionid") or "").rsplit("/", 1)[-1].lower()
    role = BUILT_IN_ROLES.get(role_id) or "the role"
    return scope, str(principal).lower() if principal else None, role


def _finding(found: tuple[AccessFinding, ...], scope: str, principal: str | None) -> AccessFinding | None:
    """The finding for the dependency the deleted assignment was on (by name: vault, registry, account …)."""
    for finding in found:
        if principal and finding.principal_id.lower() != principal:
            continue
        if _resource_name(scope) == finding.dependency.lower():
            return finding
    return None


def _resource_name(scope: str) -> str | None:
    """`kv-tax-docs` of `…/providers/Microsoft.KeyVault/vaults/kv-tax-docs[/secrets/x]`."""
    parts = scope.strip("/").split("/")
    at = parts.index("providers") if "providers" in parts else -1
    return parts[at + 3] if at >= 0 and len(parts) > at + 3 else None


def _failed_after(failures: FailuresEvidence | None, moment: datetime) -> int:
    executions = failures.executions if failures else ()
    return sum(1 for e in executions if e.finished_badly and e.start and e.start > moment)


def _hm(moment: datetime | None) -> str:
    return f" {moment:%H:%M} UTC" if moment else ""


def _short(scope: str) -> str:
    parts = scope.strip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else scope or "/"
