"""The boundaries the evidence core reads through. Adapters in `bot.azure` implement them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.intake import JobSpec
from bot.model import Execution, Job, JobRef, LogSetup, MetricSeries, QueryResult, QueueDepth, ScaleRule, Window


class JobsReader(Protocol):
    async def find_job(self, spec: JobSpec) -> Job:
        """The job named by `spec` (looked up in the catalog or the subscriptions, or by its ARM id).

        Raises JobNotFound (with suggestions) when there is none."""
        ...

    def recall(self, spec: JobSpec) -> Job | None:
        """The job as this reader last saw it, if recently (lets a triage start reads early)."""
        ...

    async def list_jobs(self) -> Sequence[Job]: ...

    async def executions(self, job: JobRef) -> Sequence[Execution]: ...

    async def log_setup(self, job: Job) -> LogSetup: ...

    async def metric(self, job: JobRef, name: str, window: Window) -> MetricSeries: ...


class LogsReader(Protocol):
    async def query(
        self, workspace_id: str, query_name: str, params: Mapping[str, object], window: Window
    ) -> QueryResult: ...


class QueueReader(Protocol):
    async def depth(self, job: Job, rule: ScaleRule) -> QueueDepth:
        """Messages waiting at the rule's event source. Raises NotApplicable when it cannot be found."""
        ...
