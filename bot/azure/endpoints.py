"""Where the Azure clients point: the public cloud in production, the local emulator in scenario mode."""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass
from typing import Any

import aiohttp
from azure.core.pipeline.transport import AioHttpTransport

from bot.telemetry.requests import on_attempt

PUBLIC_ARM = "https://management.azure.com"
PUBLIC_LOGS = "https://api.loganalytics.io"
PUBLIC_QUEUE = "https://{account}.queue.core.windows.net"
POOL_SIZE = 256  # connections per client at once (a board's triages read through one client per subscription)


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
            # Every HTTP attempt (the SDK's retries included) is counted by API and status for /metrics, and
            # noted in the current request recording (the evidence pack's manifest) if there is one.
            "raw_response_hook": on_attempt,
        }
        # Called from the coroutines that build clients: the session belongs to the running loop. Its pool
        # holds POOL_SIZE connections: with aiohttp's default of 100, the reads of a 50-job board beyond it (jobs,
        # executions, the environment, through one client) waited a whole round trip for a connection.
        if self.ca_file:
            # Not `connection_verify=<ca file>`: azure-core then builds a new SSLContext for every request,
            # and aiohttp pools connections per context, so each request opened a new socket (a leak over
            # a long game day). One context per CA, given to the connector once, is reused by every request.
            connector = aiohttp.TCPConnector(ssl=_tls_context(self.ca_file), limit=POOL_SIZE)
            kwargs["transport"] = AioHttpTransport(session=aiohttp.ClientSession(connector=connector),
                                                   session_owner=True)
        else:
            # The session azure-core would build itself (proxies from the environment, no cookies, its own
            # decompression), with the larger pool.
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=POOL_SIZE), trust_env=True,
                                            cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False)
            kwargs["transport"] = AioHttpTransport(session=session, session_owner=True)
        return kwargs


@functools.lru_cache(maxsize=4)
def _tls_context(ca_file: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)
