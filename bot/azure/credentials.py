"""Credentials: DefaultAzureCredential in production, a static token against the local emulator.

The static credential exists so that scenario mode and tests never construct
DefaultAzureCredential, whose managed-identity probe would leave loopback.
"""

from __future__ import annotations

import time
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
