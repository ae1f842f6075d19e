"""Build the Azure readers from config and endpoints (the composition root's Azure half)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.azure.arm import ArmReader
from bot.azure.changes import AzureChangesReader
from bot.azure.endpoints import Endpoints
from bot.azure.logs import LogAnalyticsReader
from bot.azure.queues import QueueDepthReader
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.evidence.shared_reads import SharedReads
from bot.evidence.sources import Readers


@asynccontextmanager
async def azure_readers(credential: Any, endpoints: Endpoints, config: Config, *,
                        timer: Clock | None = None) -> AsyncIterator[Readers]:
    """The readers, behind one process-wide shared-read layer (`azure.reuse_reads_s`; `timer` measures
    reuse: the system clock unless a test moves its own)."""
    catalog = {name: entry.resource_group for name, entry in config.jobs.items() if entry.resource_group}
    queues = {name: entry.queue for name, entry in config.jobs.items() if entry.queue}
    arm = ArmReader(credential, config.subscriptions, endpoints, catalog=catalog,
                    workspace_override=config.workspace_id)
    logs = LogAnalyticsReader(credential, endpoints)
    queue = QueueDepthReader(credential, endpoints, sources=queues)
    changes = AzureChangesReader(credential, config.subscriptions, endpoints, workspaces=config.workspaces)
    shared = SharedReads(timer or SystemClock(), config.reuse_reads_s, config.batch_window_ms / 1000)
    try:
        yield Readers(jobs=arm, logs=logs, queues=queue, changes=changes).behind(shared)
    finally:
        await shared.close()
        await arm.close()
        await logs.close()
        await queue.close()
        await changes.close()
