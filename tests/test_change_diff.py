"""The property-level diff: the job's own JSON names, named lists by name, never a secret value."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.evidence.change_diff import (
    Index,
    Item,
    Key,
    apply_diff,
    diff_json,
    format_path,
    is_secret_path,
    normalise,
    parse_path,
    redact,
)
from bot.evidence.change_records import VALUE_CHANGED, PropertyChange

FIXTURES = Path(__file__).parent / "fixtures" / "azure"
UAMI = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myidentity"  # noqa: E501


def event_job() -> dict[str, Any]:
    """The official Event-trigger job body (Azure/azure-rest-api-specs, see fixtures/azure/SOURCES.md)."""
    raw = json.loads((FIXTURES / "Job_CreateorUpdate_EventTrigger.json").read_text())
    return copy.deepcopy(raw["responses"]["200"]["body"])


def config(body: dict[str, Any]) -> dict[str, Any]:
    return body["properties"]["configuration"]


def by_path(changes: tuple[PropertyChange, ...]) -> dict[str, tuple[Any, Any]]:
    return {c.path: (c.before, c.after) for c in changes}


def test_a_scalar_change_is_named_by_its_json_path() -> None:
    before, after = event_job(), event_job()
    config(before)["replicaTimeout"] = 1800
    config(after)["replicaTimeout"] = 300
    assert diff_json(before, after) == (PropertyChange("properties.configuration.replicaTimeout", 1800, 300),)


def test_a_scale_rule_is_named_by_its_name_and_reordering_rules_is_not_a_change() -> None:
    before, after = event_job(), event_job()
    rules = config(before)["eventTriggerConfig"]["scale"]["rules"]
    rules.append({"name": "queue-rule", "type": "azure-queue", "metadata": {"queueName": "orders"}})
    config(after)["eventTriggerConfig"]["scale"]["rules"] = [copy.deepcopy(r) for r in reversed(rules)]
    assert diff_json(before, after) == ()
    config(after)["eventTriggerConfig"]["scale"]["rules"][0]["metadata"]["queueName"] = "orders-v2"
    assert by_path(diff_json(before, after)) == {
        "properties.configuration.eventTriggerConfig.scale.rules[name=queue-rule].metadata.queueName":
            ("orders", "orders-v2"),
    }


def test_a_removed_user_assigned_identity_is_keyed_by_its_resource_id() -> None:
    before, after = event_job(), event_job()
    del after["identity"]["userAssignedIdentities"][UAMI]
    [change] = diff_json(before, after)
    assert change.path == f"identity.userAssignedIdentities['{UAMI}']"
    assert change.before == {"clientId": "14adfa4f-eedf-1dc0-ba29-a6d1a69ab3df",
                             "principalId": "74adfa4f-dedf-8dc0-ca29-b6d1a69ab312"}
    assert change.after is None
    assert parse_path(change.path)[-1] == Key(UAMI)


def test_registries_are_keyed_by_server_and_an_added_one_is_one_change() -> None:
    before, after = event_job(), event_job()
    config(before)["registries"] = [{"server": "a.azurecr.io", "identity": "system"}]
    config(after)["registries"] = [{"server": "b.azurecr.io", "identity": "system"},
                                   {"server": "a.azurecr.io", "identity": "system"}]
    assert by_path(diff_json(before, after)) == {
        "properties.configuration.registries[server=b.azurecr.io]": (None, {"server": "b.azurecr.io",
                                                                             "identity": "system"}),
    }


def test_secret_and_env_values_show_only_that_they_changed() -> None:
    before, after = event_job(), event_job()
    container_b, container_a = before["properties"]["template"]["containers"][0], \
        after["properties"]["template"]["containers"][0]
    container_b["env"] = [{"name": "DB_HOST", "value": "db-old.internal"}, {"name": "API", "secretRef": "api"}]
    container_a["env"] = [{"name": "API", "secretRef": "api-v2"}, {"name": "DB_HOST", "value": "db-new.internal"},
                          {"name": "NEW", "value": "fresh-value"}]
    config(before)["secrets"] = [{"name": "api", "value": "old-secret-1"}]
    config(after)["secrets"] = [{"name": "api", "value": "new-secret-2"}, {"name": "api-v2", "value": "third-3"}]
    changes = by_path(diff_json(before, after))
    env = "properties.template.containers[name=testcontainerAppsJob0].env"
    assert changes == {
        f"{env}[name=API].secretRef": ("api", "api-v2"),
        f"{env}[name=DB_HOST].value": (VALUE_CHANGED, VALUE_CHANGED),
        f"{env}[name=NEW]": (None, {"name": "NEW", "value": VALUE_CHANGED}),
        "properties.configuration.secrets[name=api].value": (VALUE_CHANGED, VALUE_CHANGED),
        "properties.configuration.secrets[name=api-v2]": (None, {"name": "api-v2", "value": VALUE_CHANGED}),
    }


@pytest.mark.parametrize("key", ["password", "accountKey", "primaryKey", "connectionString",
                                 "primaryConnectionString", "sasToken", "SAS", "token", "clientSecret", "keys",
                                 "certificateValue", "certificatePassword", "sharedKey", "daprAIInstrumentationKey"])
def test_secret_named_keys_never_show_a_value(key: str) -> None:
    changes = diff_json({"properties": {key: "hunter2-old"}}, {"properties": {key: "hunter2-new"}})
    assert changes == (PropertyChange(f"properties.{key}", VALUE_CHANGED, VALUE_CHANGED),)


@pytest.mark.parametrize("key", ["keyVaultUrl", "passwordSecretRef", "secretRef", "keyName", "queueLength"])
def test_names_of_secrets_are_not_secrets(key: str) -> None:
    changes = diff_json({key: "a"}, {key: "b"})
    assert changes == (PropertyChange(key, "a", "b"),)


def test_a_connection_string_in_scale_rule_metadata_is_hidden() -> None:
    before = {"metadata": {"connection": "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc123=="}}
    after = {"metadata": {"connection": "UseDevelopmentStorage=true"}}
    assert diff_json(before, after) == (PropertyChange("metadata.connection", VALUE_CHANGED,
                                                       "UseDevelopmentStorage=true"),)


def test_a_list_secrets_shape_never_shows_a_value() -> None:
    # POST …/jobs/{name}/listSecrets answers {"value": [{"name", "value"}]}; registry listCredentials similar.
    before = {"value": [{"name": "api", "value": "s-one"}], "passwords": [{"name": "password", "value": "p-one"}]}
    after = {"value": [{"name": "api", "value": "s-two"}], "passwords": [{"name": "password", "value": "p-two"}]}
    text = repr(diff_json(before, after))
    assert "s-one" not in text and "s-two" not in text and "p-one" not in text and "p-two" not in text


def test_a_custom_secret_path_is_hidden_too() -> None:
    changes = diff_json({"tags": {"owner": "a"}}, {"tags": {"owner": "b"}}, secret_paths=("tags.owner",))
    assert changes == (PropertyChange("tags.owner", VALUE_CHANGED, VALUE_CHANGED),)


def test_null_and_absent_are_the_same_and_a_type_change_is_a_change() -> None:
    assert diff_json({"a": None, "b": 1}, {"b": 1}) == ()
    assert diff_json({"a": 1}, {"a": True}) == (PropertyChange("a", 1, True),)
    assert diff_json({"a": 1}, {"a": 1.0}) == (PropertyChange("a", 1, 1.0),)


def test_a_positional_list_that_grows_is_replaced_whole() -> None:
    assert diff_json({"args": ["-c", "x"]}, {"args": ["-c", "y", "z"]}) == (
        PropertyChange("args", ["-c", "x"], ["-c", "y", "z"]),)
    assert diff_json({"args": ["-c", "x"]}, {"args": ["-c", "y"]}) == (PropertyChange("args[1]", "x", "y"),)


def test_paths_round_trip_and_resource_graph_paths_parse() -> None:
    segments = (Key("identity"), Key("userAssignedIdentities"), Key("/subscriptions/x/id-a"), Key("it's"),
                Item("name", "a b]"), Item("name", "worker"), Index(0), Key(""), Key("x.y"))
    assert parse_path(format_path(segments)) == segments
    assert parse_path("properties.configuration.eventTriggerConfig.scale.rules[0].metadata.queueName") == (
        Key("properties"), Key("configuration"), Key("eventTriggerConfig"), Key("scale"), Key("rules"), Index(0),
        Key("metadata"), Key("queueName"))
    with pytest.raises(ValueError, match="not a property path"):
        parse_path("rules[0")


def test_is_secret_path_reads_resource_graph_paths() -> None:
    assert is_secret_path("properties.template.containers[0].env[1].value")
    assert is_secret_path("properties.configuration.secrets[0].value")
    assert is_secret_path("properties.primaryKey")
    assert not is_secret_path("properties.configuration.secrets[0].keyVaultUrl")
    assert not is_secret_path("properties.configuration.replicaTimeout")
    assert redact({"env": [{"name": "A", "value": "v"}]}) == {"env": [{"name": "A", "value": VALUE_CHANGED}]}


# --- properties -----------------------------------------------------------------------------------------

SECRET = "S3CRET"  # every generated secret value carries it; nothing else can (no upper-case S in plain text)
PLAIN_TEXT = st.text(alphabet="abcdefxyz0123456789-_./ :", max_size=8)
KEYS = st.one_of(
    st.sampled_from(["name", "image", "replicaTimeout", "metadata", "rules", "containers", "scale", "cpu",
                     "memory", "tags", "identity", "server", "a", "b", UAMI, "it's", "x.y", "br[a]", ""]),
    PLAIN_TEXT,
).filter(lambda k: k != "value" and not is_secret_path([Key(k)]))
# JSON has one zero: -0.0 + 0.0 is 0.0 (Python's == already says -0.0 == 0.0; JSON text would not).
FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=16).map(lambda f: f + 0.0)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), FLOATS, PLAIN_TEXT)


def _named(children: st.SearchStrategy[Any]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """A list of things named by `name` (containers, rules, env) or `server` (registries)."""
    items = st.lists(st.tuples(PLAIN_TEXT, st.dictionaries(KEYS, children, max_size=3)), max_size=4,
                     unique_by=lambda t: t[0])
    return st.tuples(st.sampled_from(["name", "server"]), items).map(
        lambda t: [{**extra, t[0]: name} for name, extra in t[1]])


JSON = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=3), st.dictionaries(KEYS, children, max_size=4), _named(children)), max_leaves=20)


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """A body like `value` with some parts changed, so the diff goes deep and not only at the root."""
    choice = draw(st.integers(0, 9))
    if choice == 0 or depth > 4:
        return draw(JSON)
    if isinstance(value, dict):
        out = {}
        for key, child in value.items():
            action = draw(st.integers(0, 4))
            if action == 0:
                continue
            out[key] = child if action < 3 else draw(mutated(child, depth + 1))
        out.update(draw(st.dictionaries(KEYS, JSON, max_size=1)))
        return out
    if isinstance(value, list):
        items = [draw(mutated(v, depth + 1)) if draw(st.booleans()) else v for v in value]
        if items and all(isinstance(v, dict) for v in value) and draw(st.booleans()):
            items = draw(st.permutations(items))
        return items
    return value if choice < 6 else draw(SCALARS)


@st.composite
def body_pairs(draw: st.DrawFn) -> tuple[Any, Any]:
    before = draw(JSON)
    after = draw(mutated(before)) if draw(st.integers(0, 3)) else draw(JSON)
    return before, after


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body_pairs())
def test_applying_the_diff_to_before_gives_after(pair: tuple[Any, Any]) -> None:
    before, after = pair
    snapshot = copy.deepcopy(before)
    changes = diff_json(before, after)
    assert same_json(apply_diff(before, changes), after)
    assert before == snapshot  # neither function changes its input
    for change in changes:
        assert parse_path(change.path) == parse_path(format_path(parse_path(change.path)))
    if same_json(before, after):
        assert changes == ()


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON text: False is not 0 and 1 is not 1.0 (Python's == says they are)."""
    return json.dumps(normalise(a), sort_keys=True) == json.dumps(normalise(b), sort_keys=True)


SECRET_VALUES = st.text(alphabet="abc123", min_size=1, max_size=6).map(lambda s: f"{SECRET}-{s}")


def _with_secrets(body: Any, draw: st.DrawFn) -> dict[str, Any]:
    secret = lambda: draw(SECRET_VALUES)  # noqa: E731
    return {
        "body": body,
        "properties": {
            "configuration": {
                "secrets": [{"name": f"s{i}", "value": secret()} for i in range(draw(st.integers(0, 2)))],
                "registries": [{"server": "r.azurecr.io", "username": "u", "password": secret()}],
                "eventTriggerConfig": {"scale": {"rules": [{"name": "q", "metadata": {
                    "connection": f"DefaultEndpointsProtocol=https;AccountName=st;AccountKey={secret()}",
                    "sasUrl": f"https://st.blob.core.windows.net/c?sv=1&sig={secret()}"}}]}},
            },
            "template": {"containers": [{"name": "w", "env": [{"name": f"E{i}", "value": secret()}
                                                             for i in range(draw(st.integers(0, 3)))]}]},
            draw(st.sampled_from(["accountKey", "connectionString", "sasToken", "primaryKey", "token"])): secret(),
        },
        "value": [{"name": "listed", "value": secret()}],  # listSecrets
        "keys": [{"keyName": "key1", "value": secret(), "permissions": "FULL"}],  # storage listKeys
    }


@st.composite
def secret_pairs(draw: st.DrawFn) -> tuple[Any, Any]:
    before = _with_secrets(draw(JSON), draw)
    after = _with_secrets(draw(JSON), draw) if draw(st.booleans()) else {}
    return (before, after) if draw(st.booleans()) else (after, before)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret_pairs())
def test_no_secret_value_ever_appears_in_a_diff(pair: tuple[Any, Any]) -> None:
    changes = diff_json(*pair)
    assert SECRET not in repr(changes)
    assert SECRET not in json.dumps([[c.path, c.before, c.after] for c in changes])


RECORDED_JOB = json.loads((FIXTURES / "recorded" / "manual_job.json").read_text())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_round_trip_on_a_real_recorded_job_body(data: st.DataObject) -> None:
    after = data.draw(mutated(RECORDED_JOB))
    assert same_json(apply_diff(RECORDED_JOB, diff_json(RECORDED_JOB, after)), after)


def test_the_diff_of_two_real_recorded_gets_around_an_update() -> None:
    after = json.loads((FIXTURES / "recorded" / "manual_job_after_update.json").read_text())
    changes = by_path(diff_json(RECORDED_JOB, after))
    container = "properties.template.containers[name=job1000002]"
    assert changes == {
        "properties.configuration.replicaTimeout": (200, 300),
        "properties.configuration.replicaRetryLimit": (2, 1),
        f"{container}.resources.cpu": (0.25, 0.5),
        f"{container}.resources.memory": ("0.5Gi", "1Gi"),
        f"{container}.resources.ephemeralStorage": ("", None),
        "properties.provisioningState": ("Succeeded", "InProgress"),
        "systemData.lastModifiedAt": ("2024-04-18T03:11:57.1382162", "2024-04-18T03:12:21.9264833"),
    }
