"""Where the Azure clients point: the public cloud in production, the local emulator in scenario mode."""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass
from typing import Any

import aiohttp
from azure.core.pipeline.transport import AioHttpTransport

PUBLIC_ARM = "https://management.azure.com"
PUBLIC_LOGS = "https://api.loganalytics.io"
PUBLIC_QUEUE = "https://{account}.queue.core.windows.net"


@dataclass(frozen=True, slots=True)
class Endpoints:
    arm: str = PUBLIC_ARM
    logs: str = PUBLIC_LOGS
    queue_account: str = PUBLIC_QUEUE  # "{account}" is replaced by the storage account name
    ca_file: str | None = None  # trust this CA (the emulator's), else the system store

    def queue_account_url(self, account: str) -> str:
        return self.queue_account.format(account=account)

    def client_kwargs(self) -> dict[str, Any]:
        """Transport settings shared by every client: a bounded retry so faults surface within deadlines."""
        kwargs: dict[str, Any] = {
            "retry_total": 2,
            "retry_backoff_factor": 0.3,
            "retry_backoff_max": 2,
            "connection_timeout": 5,
            "read_timeout": 10,
        }
        if self.ca_file:
            # Not `connection_verify=<ca file>`: azure-core then builds a new SSLContext for every request,
            # and aiohttp pools connections per context, so each request opened a new socket (a leak over
            # a long game day). One context per CA, given to the connector once, is reused by every request.
            # Called from the coroutines that build clients: the session belongs to the running loop.
            connector = aiohttp.TCPConnector(ssl=_tls_context(self.ca_file))
            kwargs["transport"] = AioHttpTransport(session=aiohttp.ClientSession(connector=connector),
                                                   session_owner=True)
        return kwargs


@functools.lru_cache(maxsize=4)
def _tls_context(ca_file: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)
