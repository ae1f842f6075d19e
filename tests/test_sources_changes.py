"""Per-triage change-evidence reads (bot/evidence/sources.py): memoised like every other source, started by
prefetch in the triage's one concurrent round, and not applicable where nothing can be read."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.errors import NotApplicable, ResourceNotFound, UpstreamError
from bot.evidence.sources import RESOURCE_GRAPH_LOOKBACK, NoChanges, Readers, Sources
from bot.model import Window
from tests.fakes import NOW, FakeChanges, FakeJobs, FakeLogs, FakeQueues, make_job, readers

PRINCIPAL = "ce2ce14e-85d7-4629-bdbc-454d0519d987"
WINDOW = Window(NOW - timedelta(hours=1), NOW)
ENV_ID = "/subscriptions/sub-1/resourceGroups/rg-orders/providers/Microsoft.App/managedEnvironments/env"
ROW = {"properties": {"targetResourceId": "x", "changeType": "Update", "changes": {}}}


class Recording(FakeChanges):
    """FakeChanges that also keeps the arguments each read was given."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.args: list[tuple[object, ...]] = []

    async def resource_changes(self, resource_ids, since, related=()):  # type: ignore[no-untyped-def]
        self.args.append(("resource_changes", tuple(resource_ids), since, tuple(related)))
        return await super().resource_changes(resource_ids, since, related)

    async def role_assignments(self, principal_ids, scopes):  # type: ignore[no-untyped-def]
        self.args.append(("role_assignments", tuple(principal_ids), tuple(scopes)))
        return await super().role_assignments(principal_ids, scopes)


def sources(changes: FakeChanges, **job: object) -> Sources:
    deps = job.pop("dependencies", ("kv-orders", "stordersprod", PRINCIPAL))
    return Sources(make_job(dependencies=deps, **job), WINDOW, NOW, readers(FakeJobs([]), changes=changes))


async def test_resource_changes_ask_for_the_job_its_environment_and_its_dependencies_by_name() -> None:
    changes = Recording(rows=[ROW])
    src = sources(changes)
    assert await src.resource_changes() == [ROW]
    [(_, ids, since, related)] = changes.args
    assert ids == tuple(sorted([src.job.ref.id.lower(), ENV_ID.lower()]))
    assert since == NOW - RESOURCE_GRAPH_LOOKBACK  # all 14 days Resource Graph keeps
    assert related == ("kv-orders", "stordersprod")  # principal ids are not resource names


async def test_each_change_read_is_made_once_however_many_ask() -> None:
    changes = FakeChanges(rows=[ROW], assignments=[{"id": "a"}], resources={ENV_ID.lower(): {"id": ENV_ID}},
                          delay_s=0.05)
    src = sources(changes)
    results = await asyncio.gather(
        *(src.resource_changes() for _ in range(3)),
        *(src.role_assignments() for _ in range(3)),
        *(src.resource(ENV_ID) for _ in range(2)), src.resource(ENV_ID.upper()),
    )
    assert results[0] == [ROW] and results[3] == [{"id": "a"}] and results[6] == {"id": ENV_ID}
    assert sorted(changes.calls) == ["resource", "resource_changes", "role_assignments"]


async def test_extra_ids_and_scopes_are_reads_of_their_own() -> None:
    changes = Recording()
    src = sources(changes)
    vault = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-orders"
    await src.resource_changes()
    await src.resource_changes(extra_ids=[vault])
    await src.role_assignments()
    await src.role_assignments(scopes=[vault])
    assert [a[0] for a in changes.args] == ["resource_changes"] * 2 + ["role_assignments"] * 2
    assert vault.lower() in changes.args[1][1]
    assert changes.args[2][1:] == ((PRINCIPAL,), ()) and changes.args[3][1:] == ((PRINCIPAL,), (vault,))


async def test_role_assignments_without_an_identity_or_a_scope_are_not_applicable() -> None:
    changes = FakeChanges()
    with pytest.raises(NotApplicable, match="no managed identity"):
        await sources(changes, dependencies=("kv-orders",)).role_assignments()
    assert changes.calls == []


async def test_a_missing_resource_and_an_upstream_failure_reach_the_caller_as_themselves() -> None:
    changes = FakeChanges(failures={"resource_changes": UpstreamError("Azure Resource Graph answered HTTP 403")})
    src = sources(changes)
    with pytest.raises(UpstreamError, match="403"):
        await src.resource_changes()
    with pytest.raises(ResourceNotFound):
        await src.resource(ENV_ID)


async def test_prefetch_starts_the_change_reads_at_once_with_the_others() -> None:
    changes = FakeChanges(delay_s=1.0, assignments=[{"id": "a"}], resources={ENV_ID.lower(): {"id": ENV_ID}})
    jobs = FakeJobs([], delay_s=1.0)
    src = Sources(make_job(dependencies=("kv", PRINCIPAL)), WINDOW, NOW, readers(jobs, changes=changes))
    src.prefetch(["executions", "changes:resourcegraph", "changes:roles", "resource:environment"])
    await asyncio.sleep(0.01)  # the reads start; none is waited for (each takes 1 s)
    assert sorted(changes.calls) == ["resource", "resource_changes", "role_assignments"]
    assert jobs.calls == ["executions"]
    started = asyncio.get_running_loop().time()
    await asyncio.gather(src.executions(), src.resource_changes(), src.role_assignments(), src.resource(ENV_ID))
    assert asyncio.get_running_loop().time() - started < 2.5  # one round of 1 s, not four
    assert len(changes.calls) == 3  # the checks' reads were the prefetched ones


async def test_a_prefetch_that_fails_is_quiet_until_a_check_asks() -> None:
    changes = FakeChanges(failures={"role_assignments": UpstreamError("no")})
    src = sources(changes)
    src.prefetch(["changes:roles"])
    await asyncio.sleep(0.01)
    with pytest.raises(UpstreamError):
        await src.role_assignments()


def test_unknown_prefetch_names_are_refused() -> None:
    with pytest.raises(ValueError, match="changes:nothing"):
        sources(FakeChanges()).prefetch(["changes:nothing"])


async def test_readers_without_change_reads_say_so() -> None:
    plain = Readers(jobs=FakeJobs([]), logs=FakeLogs(), queues=FakeQueues())
    assert isinstance(plain.changes, NoChanges)
    src = Sources(make_job(dependencies=(PRINCIPAL,)), WINDOW, NOW, plain)
    for read in (src.resource_changes(), src.role_assignments(), src.resource(ENV_ID), src.role_definition("x")):
        with pytest.raises(NotApplicable):
            await read


# --- end to end: the wired readers against the emulator --------------------------------------------------

CHANGE_WORLD = Path(__file__).resolve().parent / "fixtures" / "scenarios" / "emulator-change-evidence.yaml"


def test_the_wired_readers_read_the_change_evidence_of_a_scenario() -> None:
    from bot.azure.wiring import azure_readers
    from bot.intake import parse_job
    from bot.scenario_mode import scenario_world

    async def read(world: Any) -> tuple[Any, ...]:
        async with azure_readers(world.credential, world.endpoints, world.config) as wired:
            job = await wired.jobs.find_job(parse_job("tax-docs"))
            src = Sources(job, Window(world.clock.now() - timedelta(hours=1), world.clock.now()), world.clock.now(),
                          wired)
            src.prefetch(["changes:resourcegraph", "changes:roles", "resource:environment"])
            rows, roles, env = await asyncio.gather(src.resource_changes(), src.role_assignments(),
                                                    src.resource(job.environment_id))
            definition = await src.role_definition(roles[0]["properties"]["roleDefinitionId"])
            return rows, roles, env, definition

    with scenario_world(CHANGE_WORLD) as world:
        world.emulator.clear_requests()
        rows, roles, env, definition = asyncio.run(read(world))
        requests = list(world.emulator.requests)
    # The job's write, the deleted role assignment on the vault (found by the vault's name, kv-tax-docs) and the
    # environment's workload profile, newest first.
    assert [r["properties"]["changeType"] for r in rows] == ["Update", "Delete", "Update"]
    assert rows[0]["properties"]["changes"] == {
        "properties.configuration.replicaTimeout": {"previousValue": "1800", "newValue": "300"}}
    assert rows[1]["properties"]["changeAttributes"]["changedBy"] == "iam-cleanup@contoso.com"
    assert [r["properties"]["principalId"] for r in roles] == ["9a8b7c6d-aaaa-4bbb-8ccc-ddddeeeeffff"]
    assert definition["properties"]["roleName"] == "Storage Queue Data Reader"
    assert env["properties"]["workloadProfiles"][1]["maximumCount"] == 3
    assert env["properties"]["appLogsConfiguration"]["destination"] == "log-analytics"
    assert all(r.allowed for r in requests)
    assert {r.method for r in requests} == {"GET", "POST"}
    assert [r.path for r in requests if r.method == "POST"] == ["/providers/Microsoft.ResourceGraph/resources"]
