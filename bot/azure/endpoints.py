"""Where the Azure clients point: the public cloud in production, the local emulator in scenario mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
            kwargs["connection_verify"] = self.ca_file
        return kwargs
