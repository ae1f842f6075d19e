"""Property-level diff of two ARM JSON bodies, in the resource's own JSON names, never showing a secret.

Paths read like the JSON they come from: `properties.configuration.replicaTimeout`, a key that is not a
plain name in quotes (`identity.userAssignedIdentities['/subscriptions/…/id-tax-docs']`), a list position
as `[0]`, and an item of a list of named things by its name (`scale.rules[name=queue-rule].metadata.
queueName`), so that reordering containers, scale rules, env vars, secrets or registries is not a change.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from bot.evidence.change_records import VALUE_CHANGED, PropertyChange


class Key(NamedTuple):
    name: str


class Index(NamedTuple):
    position: int


class Item(NamedTuple):
    """The item of a list whose `field` is `value` (a container named `worker`)."""

    field: str
    value: str


Segment = Key | Index | Item

# Fields that name the items of a list, tried in order: a list is keyed by the first field that every item
# on both sides carries as a unique string (containers/rules/env/secrets: name; registries: server;
# identitySettings: identity; rule auth: triggerParameter; Key Vault access policies: objectId).
KEY_FIELDS = ("name", "server", "identity", "triggerParameter", "objectId", "id", "mountPath")

# Glob patterns over a path with every list position written `[*]`; a match hides the value.
SECRET_PATHS: tuple[str, ...] = ("*secrets[*].value", "*env[*].value", "*[*].value")
# The last word of a key that holds a secret itself (passwordSecretRef or keyVaultUrl only name one).
_SECRET_WORDS = frozenset({"password", "passwords", "pwd", "passwd", "key", "keys", "token", "tokens", "sas",
                           "secret", "credential", "credentials", "connectionstring", "connectionstrings"})
# Secrets inside an innocent-looking string (a connection string in scale rule metadata, a SAS URL).
_SECRET_IN_TEXT = re.compile(r"(accountkey|sharedaccesskey|sharedaccesssignature|password|pwd)\s*=|[?&]sig=",
                             re.IGNORECASE)
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.:/@+-]+")


def diff_json(before: Any, after: Any, *, secret_paths: Iterable[str] = SECRET_PATHS) -> tuple[PropertyChange, ...]:
    """Every property that differs, shallowest first where a whole subtree was added, removed or retyped.

    A key that is absent and a key that is null are the same (PropertyChange's None). Secret-bearing
    paths show VALUE_CHANGED on the side that has a value, never the value.
    """
    patterns = tuple(_glob(p) for p in secret_paths)
    out: list[PropertyChange] = []
    _diff(before, after, (), False, patterns, out)
    return tuple(out)


def apply_diff(before: Any, changes: Iterable[PropertyChange]) -> Any:
    """`before` with `changes` applied (a copy): the inverse of diff_json on bodies without secrets."""
    result = copy.deepcopy(before)
    for change in changes:
        segments = parse_path(change.path)
        if not segments:
            result = copy.deepcopy(change.after)
            continue
        parent = result
        for segment in segments[:-1]:
            parent = _child(parent, segment)
        _assign(parent, segments[-1], copy.deepcopy(change.after))
    return result


def value_at(body: Any, path: str) -> Any:
    """The value at `path` in `body`; None when it is absent."""
    value = body
    try:
        for segment in parse_path(path):
            value = _child(value, segment)
    except (KeyError, IndexError, TypeError, AttributeError, StopIteration):
        return None
    return value


def normalise(value: Any) -> Any:
    """The body as diff_json sees it: null keys dropped, named lists in name order."""
    if isinstance(value, Mapping):
        return {k: normalise(v) for k, v in sorted(value.items()) if v is not None}
    if isinstance(value, list):
        field = _key_field(value, value)
        items = sorted(value, key=lambda item: item[field]) if field else value
        return [normalise(item) for item in items]
    return value


def format_path(segments: Sequence[Segment]) -> str:
    parts: list[str] = []
    for segment in segments:
        if isinstance(segment, Key):
            plain = _PLAIN_KEY.fullmatch(segment.name)
            parts.append((("." if parts else "") + segment.name) if plain else f"[{_quote(segment.name)}]")
        elif isinstance(segment, Index):
            parts.append(f"[{segment.position}]")
        else:
            value = segment.value if _PLAIN_VALUE.fullmatch(segment.value) else _quote(segment.value)
            parts.append(f"[{segment.field}={value}]")
    return "".join(parts)


def parse_path(path: str) -> tuple[Segment, ...]:
    """format_path's inverse; also reads Resource Graph's paths (`a.b[0].c`). ValueError if malformed."""
    try:
        return _parse_path(path)
    except (IndexError, ValueError) as exc:
        raise ValueError(f"not a property path: {path!r}") from exc


def _parse_path(path: str) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    i = 0
    while i < len(path):
        if path[i] == ".":
            i += 1
            continue
        if path[i] != "[":
            end = i
            while end < len(path) and path[end] not in ".[":
                end += 1
            segments.append(Key(path[i:end]))
            i = end
            continue
        i += 1
        if path[i] == "'":  # ['key']
            text, i = _unquote(path, i)
            segments.append(Key(text))
        else:
            j = i
            while path[j] not in "=]":
                j += 1
            if path[j] == "]":  # [3]
                segments.append(Index(int(path[i:j])))
                i = j
            elif path[j + 1] == "'":  # [name='a b']
                field = path[i:j]
                value, i = _unquote(path, j + 1)
                segments.append(Item(field, value))
            else:  # [name=worker]
                close = path.index("]", j)
                segments.append(Item(path[i:j], path[j + 1:close]))
                i = close
        if path[i] != "]":
            raise ValueError(path)
        i += 1
    return tuple(segments)


def is_secret_path(path: str | Sequence[Segment], *, secret_paths: Iterable[str] = SECRET_PATHS) -> bool:
    """Whether a path (ours or Resource Graph's) reaches a secret: a secret-named key or a secret pattern."""
    segments = parse_path(path) if isinstance(path, str) else tuple(path)
    patterns = tuple(_glob(p) for p in secret_paths)
    return any(isinstance(s, Key) and _secret_key(s.name) for s in segments) or _matches(segments, patterns)


def redact(value: Any, segments: Sequence[Segment] = (), *, secret_paths: Iterable[str] = SECRET_PATHS) -> Any:
    """`value` found at `segments` with every secret inside it replaced by VALUE_CHANGED."""
    return _redact(value, tuple(segments), False, tuple(_glob(p) for p in secret_paths))


# --- the walk -------------------------------------------------------------------------------------------

def _diff(a: Any, b: Any, path: tuple[Segment, ...], secret: bool, patterns: tuple[re.Pattern[str], ...],
          out: list[PropertyChange]) -> None:
    if _same(a, b):
        return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b)):
            child = (*path, Key(key))
            _diff(a.get(key), b.get(key), child, secret or _secret_at(child, patterns), patterns, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        field = _key_field(a, b)
        if field is not None:
            old = {item[field]: item for item in a}
            new = {item[field]: item for item in b}
            for name in sorted(old.keys() | new.keys()):
                child = (*path, Item(field, name))
                _diff(old.get(name), new.get(name), child, secret or _secret_at(child, patterns), patterns, out)
            return
        if len(a) == len(b):
            for position, (x, y) in enumerate(zip(a, b, strict=True)):
                child = (*path, Index(position))
                _diff(x, y, child, secret or _secret_at(child, patterns), patterns, out)
            return
    # A leaf, a retyped value, a list that grew or shrank, or a subtree that appeared or went away.
    out.append(PropertyChange(format_path(path), _redact(a, path, secret, patterns),
                              _redact(b, path, secret, patterns)))


def _redact(value: Any, path: tuple[Segment, ...], secret: bool, patterns: tuple[re.Pattern[str], ...]) -> Any:
    if value is None:
        return None
    if secret or _secret_at(path, patterns):
        return VALUE_CHANGED
    if isinstance(value, Mapping):
        return {k: _redact(v, (*path, Key(k)), False, patterns) for k, v in value.items()}
    if isinstance(value, list):
        field = _key_field(value, value)
        return [_redact(v, (*path, Item(field, v[field]) if field else Index(i)), False, patterns)
                for i, v in enumerate(value)]
    if isinstance(value, str) and _SECRET_IN_TEXT.search(value):
        return VALUE_CHANGED
    return value


def _same(a: Any, b: Any) -> bool:
    # JSON equality: True is not 1, 1 is not 1.0 (a type change is a change worth showing).
    if type(a) is not type(b):
        return False
    if isinstance(a, Mapping):
        x, y = _without_nulls(a), _without_nulls(b)
        return x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _without_nulls(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}


def _key_field(a: Sequence[Any], b: Sequence[Any]) -> str | None:
    both = [*a, *b]
    if not both or not all(isinstance(item, Mapping) for item in both):
        return None
    for field in KEY_FIELDS:
        if all(_unique_names(side, field) for side in (a, b)):
            return field
    return None


def _unique_names(items: Sequence[Any], field: str) -> bool:
    names = [item.get(field) for item in items]
    return all(isinstance(n, str) for n in names) and len(set(names)) == len(names)


def _secret_at(path: tuple[Segment, ...], patterns: tuple[re.Pattern[str], ...]) -> bool:
    last = path[-1] if path else None
    return (isinstance(last, Key) and _secret_key(last.name)) or _matches(path, patterns)


def _secret_key(name: str) -> bool:
    if name.startswith("/"):  # a resource id used as a key (userAssignedIdentities): a name, not a secret
        return False
    words = [w.lower() for w in _WORD.findall(name)]
    joined = "".join(words)
    return bool(words) and (words[-1] in _SECRET_WORDS or joined.endswith(("connectionstring", "connectionstrings"))
                            or joined in {"sastoken", "sasurl", "sasuri", "accountkey", "clientsecret",
                                          "certificatevalue"})


def _matches(path: Sequence[Segment], patterns: tuple[re.Pattern[str], ...]) -> bool:
    shape = "".join(f".{s.name}" if isinstance(s, Key) else "[*]" for s in path).lstrip(".")
    return any(p.fullmatch(shape) for p in patterns)


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.IGNORECASE)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _unquote(path: str, start: int) -> tuple[str, int]:
    """The quoted text starting at path[start] == "'", and the index after its closing quote."""
    chars: list[str] = []
    i = start + 1
    while path[i] != "'":
        if path[i] == "\\":
            i += 1
        chars.append(path[i])
        i += 1
    return "".join(chars), i + 1


# --- applying -------------------------------------------------------------------------------------------

def _child(parent: Any, segment: Segment) -> Any:
    if isinstance(segment, Key):
        return parent[segment.name]
    if isinstance(segment, Index):
        return parent[segment.position]
    return next(item for item in parent if item.get(segment.field) == segment.value)


def _assign(parent: Any, segment: Segment, value: Any) -> None:
    if isinstance(segment, Key):
        if value is None:
            parent.pop(segment.name, None)
        else:
            parent[segment.name] = value
    elif isinstance(segment, Index):
        parent[segment.position] = value  # positions change only between lists of equal length
    else:
        at = next((i for i, item in enumerate(parent) if item.get(segment.field) == segment.value), None)
        if at is None:
            if value is not None:
                parent.append(value)
        elif value is None:
            del parent[at]
        else:
            parent[at] = value
