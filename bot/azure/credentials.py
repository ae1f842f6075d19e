"""Credentials: DefaultAzureCredential in production, a static token against the local emulator.

The static credential exists so that scenario mode and tests never construct
DefaultAzureCredential, whose managed-identity probe would leave loopback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from azure.core.credentials import AccessToken


class StaticTokenCredential:
    """An async token credential that always hands out the same opaque token."""

    def __init__(self, token: str = "jobbot-emulator-token") -> None:
        self._token = token

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> StaticTokenCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


def production_credential() -> Any:
    """DefaultAzureCredential (managed identity in Azure, `az login` on a laptop). Never in tests."""
    from azure.identity.aio import DefaultAzureCredential

    return DefaultAzureCredential()


def reader_identity(*, scenario: bool, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Who jobbot reads Azure as, as far as it knows without asking for a token (never a secret): for the
    evidence pack's manifest. The principal is the client id azure-identity is configured with, if any."""
    if scenario:
        return {"credential": "static token (scenario mode: the local Azure emulator on 127.0.0.1)",
                "principal": "none: the emulator serves a frozen scenario",
                "role": "read-only by construction (the emulator refuses anything else)"}
    env = os.environ if environ is None else environ
    client = env.get("AZURE_CLIENT_ID")
    if env.get("AZURE_FEDERATED_TOKEN_FILE") and client:
        kind = "DefaultAzureCredential: workload identity"
    elif env.get("AZURE_CLIENT_SECRET") or env.get("AZURE_CLIENT_CERTIFICATE_PATH"):
        kind = "DefaultAzureCredential: service principal (environment)"
    elif client:
        kind = "DefaultAzureCredential: user-assigned managed identity"
    else:
        kind = "DefaultAzureCredential: system-assigned managed identity or the `az login` user"
    identity = {"credential": kind,
                "principal": f"client id {client}" if client else "not known to jobbot (no AZURE_CLIENT_ID)",
                "role": "jobbot reader (deploy/azure/jobbot-reader-role.json) or Reader"}
    if tenant := env.get("AZURE_TENANT_ID"):
        identity["tenant"] = tenant
    return identity
