"""Which change best explains a failure mode, and the one line that names it (`replicaTimeout 1800 → 300`).

The suspected change is the one that fits the failure, not simply the latest write before the trouble;
with several, all are listed, most likely first: the on-call rule is to undo one thing at a time.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.evidence.change_diff import Index, Item, Key, Segment, is_secret_path, parse_path
from bot.evidence.change_kinds import (
    BUILT_IN_ROLES,
    LIFECYCLE_VERBS,
    NOT_RECORDED,
    change_tag,
    is_deletion,
    operation_verb,
    record_tags,
)
from bot.evidence.change_records import VALUE_CHANGED, ChangeRecord, PropertyChange, ResourceKind

# Per verdict cause, tiers of what explains it: the first tier best, equal within a tier.
CAUSE_TAGS: Mapping[str, tuple[frozenset[str], ...]] = {
    "timeout": (frozenset({"replica-timeout"}),),
    "saturation": (frozenset({"max-executions", "parallelism", "queue-length"}),
                   frozenset({"min-executions", "polling-interval", "completion-count"})),
    "scaler-failure": (frozenset({"scale-rule-metadata", "scale-rule-auth", "event-source-deleted", "keys-rotated"}),
                       frozenset({"event-source-auth", "event-source-network", "secrets", "identity-removed",
                                  "role-assignment-deleted"}),
                       frozenset({"lifecycle"})),
    "identity": (frozenset({"identity-removed", "role-assignment-deleted", "key-vault-access-policy",
                            "key-vault-network"}),
                 frozenset({"identity", "role-assignment", "key-vault-deleted", "secrets"})),
    "capacity": (frozenset({"workload-profile"}), frozenset({"cpu", "memory", "parallelism", "environment-network"})),
    "image-pull": (frozenset({"image", "registry-credentials", "registry-admin-user", "registry-tag-deleted"}),
                   frozenset({"registry-network", "registry-deleted", "identity-removed", "role-assignment-deleted",
                              "container"})),
    "oom": (frozenset({"memory"}), frozenset({"image"}), frozenset({"cpu", "container"})),
    "app-error": (frozenset({"image", "env"}), frozenset({"secrets", "container"})),
}
# Which change of a record to name in its one line: the most telling first.
_SALIENCE = ("replica-timeout", "max-executions", "parallelism", "queue-length", "scale-rule-metadata",
             "scale-rule-auth", "identity-removed", "workload-profile", "image", "memory", "cpu", "env", "secrets",
             "registry-credentials", "registry-admin-user", "key-vault-access-policy", "key-vault-network",
             "min-executions", "polling-interval", "completion-count", "retry-limit", "schedule", "container",
             "identity", "environment-network", "environment-logs", "event-source-auth", "event-source-network",
             "registry-network", "other")
_NOUNS = {"rules": "scale rule", "workloadprofiles": "workload profile", "secrets": "secret",
          "registries": "registry", "env": "env", "containers": "container", "initcontainers": "init container",
          "accesspolicies": "access policy", "identitysettings": "identity setting", "auth": "auth",
          "volumes": "volume"}
_MAX_VALUE = 60


def rank(cause: str, records: Iterable[ChangeRecord], *, trouble_began: datetime | None = None
         ) -> list[ChangeRecord]:
    """All records, the ones that explain `cause` first (by tier), then newest first, then by path.

    With `trouble_began`, changes made after it come last: they cannot have caused it (they stay listed,
    since a change during the incident is worth knowing about).
    """
    tiers = CAUSE_TAGS.get(cause, ())

    def key(record: ChangeRecord) -> tuple[bool, int, float, str, str]:
        tags = record_tags(record)
        tier = next((i for i, tier in enumerate(tiers) if tags & tier), len(tiers))
        stamp = record.time.timestamp() if record.time is not None else float("-inf")
        late = trouble_began is not None and record.time is not None and record.time > trouble_began
        return (late, tier, -stamp, record.changes[0].path if record.changes else "", record.resource_id.lower())

    return sorted(records, key=key)


def explains(cause: str, record: ChangeRecord) -> bool:
    """Whether the record is one of the changes that can explain `cause` at all."""
    return any(record_tags(record) & tier for tier in CAUSE_TAGS.get(cause, ()))


def summarise(record: ChangeRecord, *, job_principals: Collection[str] = (),
              role_names: Mapping[str, str] | None = None) -> str:
    """One line naming what changed, before → after in short form; never a secret value.

    `job_principals`: the principal ids of the job's identities (a role assignment of one of them is "of
    the job's identity"); `role_names`: role definition id (or its last segment) -> name, on top of the
    built-in roles this module knows.
    """
    names = {**BUILT_IN_ROLES, **{k.rsplit("/", 1)[-1].lower(): v for k, v in (role_names or {}).items()}}
    principals = {p.lower() for p in job_principals}
    special = _special(record, principals, names)
    if special:
        return special
    if not record.changes:
        return _operation_line(record)
    primary = by_salience(record.changes, record.kind)[0]
    line = _change_line(primary)
    if record.kind not in (ResourceKind.JOB, ResourceKind.OTHER):
        line = f"{_label(record.resource_id)} {line}"  # what the job depends on: say which one
    more = len(record.changes) - 1
    return f"{line} (+{more} more)" if more else line


def by_salience(changes: Iterable[PropertyChange], kind: ResourceKind = ResourceKind.JOB) -> list[PropertyChange]:
    """The changes, the most telling first (the one the one-line summary names), else in their order."""
    def salience(change: PropertyChange) -> int:
        tag = change_tag(change, kind)
        return _SALIENCE.index(tag) if tag in _SALIENCE else len(_SALIENCE)
    return sorted(changes, key=salience)


def summarised(records: Iterable[ChangeRecord], *, job_principals: Collection[str] = (),
               role_names: Mapping[str, str] | None = None) -> list[ChangeRecord]:
    """The records with `what` written again knowing the job's principals and role names."""
    return [replace(r, what=summarise(r, job_principals=job_principals, role_names=role_names)) for r in records]


# --- special records ------------------------------------------------------------------------------------

def _special(record: ChangeRecord, principals: set[str], roles: Mapping[str, str]) -> str | None:
    verb = operation_verb(record.operation)
    name = _name(record.resource_id)
    if record.kind == ResourceKind.ROLE_ASSIGNMENT:
        values = _values(record.changes, prefer_before=is_deletion(record))
        role_id = str(values.get("roledefinitionid") or "")
        role = roles.get(role_id.rsplit("/", 1)[-1].lower()) or (f"role {_name(role_id)}" if role_id else None)
        principal = str(values.get("principalid") or "")
        whom = ("of the job's identity" if principal.lower() in principals
                else f"of principal {principal}" if principal else "")
        done = "deleted" if is_deletion(record) else "created" if verb in ("write", "create") else verb
        return " ".join(p for p in ("role assignment", role or name, whom, done) if p)
    if record.kind == ResourceKind.KEY_VAULT and "/accesspolicies/" in (record.operation + record.resource_id).lower():
        vault = _segment_after(record.resource_id, "vaults") or name
        removed = bool(record.changes) and all(c.after is None for c in record.changes)
        added = bool(record.changes) and all(c.before is None for c in record.changes)
        done = "removed" if removed else "added" if added else "changed"
        return f"Key Vault {vault} access policy{_policy_owner(record.changes, principals)} {done}"
    identities = _removed_identities(record.changes)
    if identities:
        others = sum(1 for c in record.changes if not c.path.lower().startswith("identity"))
        names = ", ".join(identities)
        line = f"user-assigned {'identities' if len(identities) > 1 else 'identity'} {names} removed"
        return f"{line} (+{others} more)" if others else line
    if verb in LIFECYCLE_VERBS and record.kind == ResourceKind.JOB:
        past = {"start": "started", "stop": "stopped", "suspend": "suspended", "resume": "resumed"}[verb]
        return f"job {name} {past} by hand"
    if "keys-rotated" in record_tags(record):
        return f"keys of {_label(record.resource_id)} regenerated"
    if "registry-credentials" in record_tags(record) and not record.changes:
        return f"registry {_segment_after(record.resource_id, 'registries') or name} credentials regenerated"
    if is_deletion(record) and not record.changes:
        return f"{_label(record.resource_id)} deleted"
    return None


def _removed_identities(changes: Sequence[PropertyChange]) -> list[str]:
    """Names of the user-assigned identities a job write took away: one path per identity, or the whole
    `identity.userAssignedIdentities` map gone (a PUT without it), or the ids missing from the new map."""
    names: list[str] = []
    for change in changes:
        segments = _segments(change.path)
        keys = [s.name.lower() for s in segments if isinstance(s, Key)]
        if keys[:2] != ["identity", "userassignedidentities"]:
            continue
        if len(keys) == 3 and change.after is None and change.before is not None:
            names.append(_name(next(s.name for s in segments[2:] if isinstance(s, Key))))
        elif len(keys) == 2 and isinstance(change.before, Mapping):
            after = change.after if isinstance(change.after, Mapping) else {}
            gone = {k.lower() for k in change.before} - {k.lower() for k in after}
            names.extend(_name(k) for k in change.before if k.lower() in gone)
    return sorted(set(names))


def _policy_owner(changes: Sequence[PropertyChange], principals: set[str]) -> str:
    for change in changes:
        for value in (change.before, change.after):
            if isinstance(value, Mapping) and str(value.get("objectId") or "").lower() in principals:
                return " of the job's identity"
        segments = _segments(change.path)
        if any(isinstance(s, Item) and s.field == "objectId" and s.value.lower() in principals for s in segments):
            return " of the job's identity"
    return ""


def _values(changes: Iterable[PropertyChange], *, prefer_before: bool) -> dict[str, Any]:
    """Last key (lower-cased) -> value, from one side of the changes (a deleted assignment's properties)."""
    out: dict[str, Any] = {}
    for change in changes:
        value = change.before if prefer_before else change.after
        value = value if value is not None else change.after if prefer_before else change.before
        segments = _segments(change.path)
        if segments and isinstance(segments[-1], Key):
            out[segments[-1].name.lower()] = value
    return out


def _operation_line(record: ChangeRecord) -> str:
    verb = operation_verb(record.operation)
    label = _label(record.resource_id)
    if verb in ("write", "update", "create"):
        return f"{label} {'created' if verb == 'create' else 'written'} (which properties changed is not recorded)"
    return f"{verb} on {label}"


# --- one property ---------------------------------------------------------------------------------------

def _change_line(change: PropertyChange) -> str:
    label = _path_label(change.path)
    before, after = change.before, change.after
    if VALUE_CHANGED in (before, after) or _secret(change.path):
        if before is None:
            return f"{label} added"
        if after is None:
            return f"{label} removed"
        return f"{label} value changed"
    whole = isinstance(before, Mapping | list) or isinstance(after, Mapping | list)
    if before == NOT_RECORDED:
        # A PATCH body says what it set, not what was there: name the setting, never a made-up before.
        return f"{_list_label(change.path, after) or label} set" if whole else f"{label} set to {_short(after)}"
    if before is None and whole:
        return f"{label} added"
    if after is None and whole:
        return f"{label} removed"
    return f"{label} {_short(before)} → {_short(after)}"


def _list_label(path: str, value: Any) -> str | None:
    """`…scale.rules` set to a list of named rules -> `scale rule labels-queue` (`scale rules a, b`)."""
    segments = _segments(path)
    last = segments[-1] if segments else None
    if not isinstance(last, Key) or not isinstance(value, list) or not value:
        return None
    noun = _NOUNS.get(last.name.lower())
    names = [str(v.get("name")) for v in value if isinstance(v, Mapping) and v.get("name")]
    if noun is None or len(names) != len(value):
        return None
    return f"{noun}{'s' if len(names) > 1 else ''} {', '.join(names)}"


def _path_label(path: str) -> str:
    segments = _segments(path)
    if not segments:
        return path or "resource"
    last_item = max((i for i, s in enumerate(segments) if isinstance(s, Item | Index)), default=-1)
    # "env DB_HOST value changed", not "env DB_HOST value value changed"
    rest = [s.name for s in segments[last_item + 1:]
            if isinstance(s, Key) and not (s.name == "value" and last_item >= 0)]
    ids = [i for i, s in enumerate(segments) if isinstance(s, Key) and s.name.startswith("/")]
    if ids:  # identity.userAssignedIdentities['/subscriptions/…/id-x']
        tail = [s.name for s in segments[ids[0]:] if isinstance(s, Key)]
        return " ".join(["user-assigned identity", _name(tail[0]), *tail[1:][-1:]])
    owner = segments[last_item - 1] if last_item >= 1 else None
    if not isinstance(owner, Key):
        return rest[-1] if rest else path or "resource"
    noun = _NOUNS.get(owner.name.lower(), owner.name)
    item = segments[last_item]
    item_name = item.value if isinstance(item, Item) else f"[{item.position}]" if isinstance(item, Index) else ""
    if noun in ("container", "init container") and rest:
        return rest[-1]  # "image", "memory": the container's name adds little
    return " ".join([noun, item_name, *rest[-1:]])


def _short(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping | list):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    else:
        text = str(value)
        if text.startswith("/subscriptions/"):
            text = _name(text)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _segments(path: str) -> tuple[Segment, ...]:
    try:
        return parse_path(path)
    except ValueError:
        return ()  # a path we cannot read is shown as it is


def _secret(path: str) -> bool:
    try:
        return is_secret_path(path)
    except ValueError:
        return True


# --- resource ids ---------------------------------------------------------------------------------------

_TYPE_LABELS = (("/queueservices/default/queues/", "storage queue"), ("/namespaces/", "Service Bus namespace"),
                ("/storageaccounts/", "storage account"), ("/vaults/", "Key Vault"), ("/registries/", "registry"),
                ("/userassignedidentities/", "user-assigned identity"), ("/managedenvironments/", "environment"),
                ("/jobs/", "job"))
_CHILD_LABELS = {"queues": "queue", "topics": "topic", "subscriptions": "subscription",
                 "authorizationrules": "authorization rule"}


def _label(resource_id: str) -> str:
    """`…/namespaces/sb-orders/queues/orders` -> `Service Bus queue orders`; `…/vaults/kv-x` -> `Key Vault kv-x`."""
    parts = [p for p in resource_id.split("/") if p]
    lowered = resource_id.lower()
    if "/providers/microsoft.servicebus/namespaces/" in lowered and len(parts) >= 2:
        child = _CHILD_LABELS.get(parts[-2].lower())
        if child:
            return f"Service Bus {child} {parts[-1]}"
    for marker, label in _TYPE_LABELS:
        if marker in lowered:
            return f"{label} {_name(resource_id)}"
    return _name(resource_id) or resource_id


def _name(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def _segment_after(resource_id: str, segment: str) -> str | None:
    parts = [p for p in resource_id.split("/") if p]
    lowered = [p.lower() for p in parts]
    return parts[lowered.index(segment) + 1] if segment in lowered[:-1] else None
