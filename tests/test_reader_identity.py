"""Who the evidence pack says jobbot reads Azure as: the kind of credential and its client id, from the
environment azure-identity reads, never a secret and never a token request."""

from __future__ import annotations

import pytest

from bot.azure.credentials import reader_identity

SECRET = "s3cr3t-Value~not-for-manifests"


@pytest.mark.parametrize(("environ", "kind", "principal"), [
    ({"AZURE_CLIENT_ID": "c1", "AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"}, "workload identity", "client id c1"),
    ({"AZURE_CLIENT_ID": "c2", "AZURE_CLIENT_SECRET": SECRET}, "service principal", "client id c2"),
    ({"AZURE_CLIENT_CERTIFICATE_PATH": "/certs/sp.pem"}, "service principal", "not known to jobbot"),
    ({"AZURE_CLIENT_ID": "c3"}, "user-assigned managed identity", "client id c3"),
    ({}, "system-assigned managed identity or the `az login` user", "not known to jobbot"),
])
def test_the_credential_kind_and_principal_come_from_the_environment(environ: dict[str, str], kind: str,
                                                                     principal: str) -> None:
    identity = reader_identity(scenario=False, environ=environ)
    assert kind in identity["credential"] and identity["principal"].startswith(principal)
    assert SECRET not in str(identity), "a client secret is never written down"
    assert "tenant" not in identity


def test_the_tenant_is_named_when_known_and_scenario_mode_says_it_reads_the_emulator() -> None:
    assert reader_identity(scenario=False, environ={"AZURE_TENANT_ID": "t1"})["tenant"] == "t1"
    local = reader_identity(scenario=True, environ={"AZURE_CLIENT_ID": "ignored"})
    assert "emulator" in local["credential"] and "ignored" not in str(local)
