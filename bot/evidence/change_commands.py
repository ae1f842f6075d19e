"""The command a person pastes to undo one change: `az containerapp job update -n orders -g rg --replica-timeout 1800`.

For a human to run, never run by the bot. Every value is one shell word: what the change record knows is
filled in, anything else is a placeholder in quotes (`"<scale rule type>"`), so a shell never reads `<`
as a redirection or splits a placeholder in two.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from bot.evidence.change_diff import Index, Item, Key, Segment, parse_path
from bot.evidence.change_kinds import BUILT_IN_ROLES, NOT_RECORDED, is_deletion, record_tags
from bot.evidence.change_records import VALUE_CHANGED, ChangeRecord, PropertyChange, ResourceKind

_PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")
# Job properties with their own `az containerapp job update` flag, by the last key of the path.
_JOB_FLAGS = {"replicatimeout": "--replica-timeout", "replicaretrylimit": "--replica-retry-limit",
              "maxexecutions": "--max-executions", "minexecutions": "--min-executions",
              "pollinginterval": "--polling-interval", "parallelism": "--parallelism",
              "replicacompletioncount": "--replica-completion-count", "cronexpression": "--cron-expression",
              "workloadprofilename": "--workload-profile-name"}
_CONTAINER_FLAGS = {"image": "--image", "cpu": "--cpu", "memory": "--memory"}


def shell_word(value: Any) -> str:
    """`value` as exactly one shell word: bare when harmless, else quoted."""
    text = _text(value)
    if _PLAIN.fullmatch(text):
        return text
    if not set(text) & set('"$`\\!'):
        return f'"{text}"'
    return shlex.quote(text)


def revert_commands(record: ChangeRecord) -> tuple[str, ...]:
    """The commands that put back what `record` changed (possibly none: a key rotation cannot be undone)."""
    if record.kind == ResourceKind.JOB:
        return _job(record)
    if record.kind == ResourceKind.ROLE_ASSIGNMENT and is_deletion(record):
        return (_role_assignment(record),)
    if record.kind == ResourceKind.ENVIRONMENT:
        return _environment(record)
    if record.kind == ResourceKind.KEY_VAULT:
        return _key_vault(record)
    if record.kind == ResourceKind.REGISTRY and "registry-admin-user" in record_tags(record):
        before = next(c.before for c in record.changes if c.path.lower().endswith("adminuserenabled"))
        return (_az("acr update", ("--name", _name_after(record.resource_id, "registries")),
                    ("--admin-enabled", before if before is not None else "<true or false>")),)
    if record.kind == ResourceKind.EVENT_SOURCE and "event-source-deleted" in record_tags(record):
        return _recreate_event_source(record.resource_id)
    return ()


def revert_command(record: ChangeRecord) -> str | None:
    commands = revert_commands(record)
    return commands[0] if commands else None


# --- the job --------------------------------------------------------------------------------------------

def _job(record: ChangeRecord) -> tuple[str, ...]:
    name, group = _name_after(record.resource_id, "jobs"), _group(record.resource_id)
    update: list[tuple[str, Any]] = []
    containers: dict[str, list[tuple[str, Any]]] = {}
    others: list[str] = []
    for change in record.changes:
        segments = _segments(change.path)
        keys = [s.name.lower() for s in segments if isinstance(s, Key)]
        last = keys[-1] if keys else ""
        container = _item_after(segments, "containers")
        if "env" in keys and container is not None:
            containers.setdefault(container, []).extend(_env_flags(change, segments))
        elif container is not None and last in _CONTAINER_FLAGS:
            containers.setdefault(container, []).append((_CONTAINER_FLAGS[last], _before(change)))
        elif "rules" in keys and "metadata" in keys and last != "metadata":
            update += _rule_flags(change, segments)
        elif last in _JOB_FLAGS and "rules" not in keys:
            update.append((_JOB_FLAGS[last], _before(change)))
        elif keys == ["identity", "userassignedidentities"] and change.after is None \
                and isinstance(change.before, Mapping):  # the whole map went: assign each identity again
            others += [_az("containerapp job identity assign", ("--name", name), ("--resource-group", group),
                           ("--user-assigned", identity)) for identity in sorted(change.before)]
        elif keys[:2] == ["identity", "userassignedidentities"] and change.after is None and len(keys) == 3:
            others.append(_az("containerapp job identity assign", ("--name", name), ("--resource-group", group),
                              ("--user-assigned", _key_text(segments[2]))))
        elif "secrets" in keys and (secret := _item_after(segments, "secrets")) is not None:
            others.append(_az("containerapp job secret set", ("--name", name), ("--resource-group", group),
                              ("--secrets", f"{secret}=<previous value>")))
    commands = []
    if update:
        commands.append(_az("containerapp job update", ("--name", name), ("--resource-group", group), *update))
    for container, flags in sorted(containers.items()):
        named = () if container == "" else (("--container-name", container),)
        commands.append(_az("containerapp job update", ("--name", name), ("--resource-group", group), *named,
                            *flags))
    return (*commands, *dict.fromkeys(others))


def _env_flags(change: PropertyChange, segments: tuple[Segment, ...]) -> list[tuple[str, Any]]:
    variable = _item_after(segments, "env")
    if variable is None:
        return []
    before = change.before
    if before is None:  # the variable was added
        return [("--remove-env-vars", variable)]
    if isinstance(before, Mapping) and before.get("secretRef"):
        return [("--set-env-vars", f"{variable}=secretref:{before['secretRef']}")]
    if segments and isinstance(segments[-1], Key) and segments[-1].name == "secretRef":
        return [("--set-env-vars", f"{variable}=secretref:{before}")]
    return [("--set-env-vars", f"{variable}=<previous value>")]  # values are never shown, so never known


def _rule_flags(change: PropertyChange, segments: tuple[Segment, ...]) -> list[tuple[str, Any]]:
    rule = _item_after(segments, "rules")
    key = segments[-1].name if isinstance(segments[-1], Key) else "<metadata key>"
    return [("--scale-rule-name", rule or "<scale rule name>"), ("--scale-rule-type", "<scale rule type>"),
            ("--scale-rule-metadata", f"{key}={_text(_before(change))}")]


# --- what the job depends on ----------------------------------------------------------------------------

def _role_assignment(record: ChangeRecord) -> str:
    values: dict[str, Any] = {}  # the deleted assignment's properties, by their last key
    for change in record.changes:
        segments = _segments(change.path)
        if change.before is not None and segments and isinstance(segments[-1], Key):
            values[segments[-1].name.lower()] = change.before
    role_id = str(values.get("roledefinitionid") or "")
    role = BUILT_IN_ROLES.get(role_id.rsplit("/", 1)[-1].lower()) or role_id.rsplit("/", 1)[-1] or "<role name>"
    marker = "/providers/microsoft.authorization/roleassignments/"
    at = record.resource_id.lower().find(marker)
    scope = values.get("scope") or (record.resource_id[:at] if at > 0 else "<scope id>")
    return _az("role assignment create", ("--assignee-object-id", values.get("principalid") or "<principal id>"),
               ("--assignee-principal-type", values.get("principaltype") or "ServicePrincipal"),
               ("--role", role), ("--scope", scope))


def _environment(record: ChangeRecord) -> tuple[str, ...]:
    name, group = _name_after(record.resource_id, "managedenvironments"), _group(record.resource_id)
    profiles: dict[str, list[tuple[str, Any]]] = {}
    for change in record.changes:
        segments = _segments(change.path)
        profile = _item_after(segments, "workloadprofiles")
        last = segments[-1].name.lower() if segments and isinstance(segments[-1], Key) else ""
        flag = {"maximumcount": "--max-nodes", "minimumcount": "--min-nodes"}.get(last)
        if profile is not None and flag:
            profiles.setdefault(profile, []).append((flag, _before(change)))
    return tuple(_az("containerapp env workload-profile update", ("--name", name), ("--resource-group", group),
                     ("--workload-profile-name", profile), *flags) for profile, flags in sorted(profiles.items()))


def _key_vault(record: ChangeRecord) -> tuple[str, ...]:
    vault, group = _name_after(record.resource_id, "vaults"), _group(record.resource_id)
    commands = []
    for change in record.changes:
        segments = _segments(change.path)
        owner = _item_after(segments, "accesspolicies", field="objectId")
        if owner is not None and isinstance(change.before, Mapping) and change.after is None:
            secrets = (change.before.get("permissions") or {}).get("secrets") or ["<secret permissions>"]
            commands.append(_az("keyvault set-policy", ("--name", vault), ("--resource-group", group),
                                ("--object-id", owner), ("--secret-permissions", *secrets)))
        elif change.path.lower().endswith("networkacls.defaultaction"):
            commands.append(_az("keyvault update", ("--name", vault), ("--resource-group", group),
                                ("--default-action", _before(change))))
        elif change.path.lower().endswith("publicnetworkaccess"):
            commands.append(_az("keyvault update", ("--name", vault), ("--resource-group", group),
                                ("--public-network-access", _before(change))))
    return tuple(commands)


def _recreate_event_source(resource_id: str) -> tuple[str, ...]:
    group = _group(resource_id)
    lowered = resource_id.lower()
    if "/queueservices/" in lowered:
        return (_az("storage queue create", ("--name", _name_after(resource_id, "queues")),
                    ("--account-name", _name_after(resource_id, "storageaccounts")), ("--auth-mode", "login")),)
    for child, noun in (("queues", "queue"), ("topics", "topic")):
        if f"/{child}/" in lowered and "/microsoft.servicebus/" in lowered:
            return (_az(f"servicebus {noun} create", ("--resource-group", group),
                        ("--namespace-name", _name_after(resource_id, "namespaces")),
                        ("--name", _name_after(resource_id, child))),)
    return ()


# --- helpers --------------------------------------------------------------------------------------------

def _az(command: str, *flags: tuple[Any, ...]) -> str:
    words = ["az", *command.split()]
    for flag, *values in flags:
        words.append(str(flag))
        words += [shell_word(v) for v in values]
    return " ".join(words)


def _before(change: PropertyChange) -> Any:
    before = change.before
    if before is None or before in (VALUE_CHANGED, NOT_RECORDED) or isinstance(before, Mapping | list):
        return "<previous value>"
    return before


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _segments(path: str) -> tuple[Segment, ...]:
    try:
        return parse_path(path)
    except ValueError:
        return ()


def _item_after(segments: Iterable[Segment], key: str, *, field: str = "name") -> str | None:
    """The name of the list item right after `key` (`containers[name=worker]` -> worker); '' by position."""
    items = list(segments)
    for i, segment in enumerate(items[:-1]):
        if isinstance(segment, Key) and segment.name.lower() == key:
            nxt = items[i + 1]
            if isinstance(nxt, Item) and nxt.field == field:
                return nxt.value
            if isinstance(nxt, Item | Index):
                return "" if key == "containers" else None
    return None


def _key_text(segment: Segment) -> str:
    return segment.name if isinstance(segment, Key) else ""


def _name_after(resource_id: str, segment: str) -> str:
    parts = [p for p in resource_id.split("/") if p]
    lowered = [p.lower() for p in parts]
    return parts[lowered.index(segment) + 1] if segment in lowered[:-1] else f"<{segment} name>"


def _group(resource_id: str) -> str:
    return _name_after(resource_id, "resourcegroups").replace("<resourcegroups name>", "<resource group>")
