"""Links that are promised exist (issue 17 item 7): with the environment naming its workspace only by customer id
(the usual case), the report still carries Log Analytics links — the workspace's ARM id is located once, from
config or Resource Graph, beside the queries and never before them; when it cannot be located there is simply
no link, and no check fails for it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Config, parse_config
from bot.errors import ConfigError
from bot.evidence.sources import Sources
from bot.intake import parse_job
from bot.model import CheckStatus, TriageReport, Window
from bot.respond.text import render_text
from bot.runtime import triage_with
from bot.scenario_mode import ScenarioWorld, scenario_world
from tests.fakes import NOW, FakeChanges, FakeJobs, FakeLogs, make_job, readers

ROOT = Path(__file__).resolve().parent.parent
APP_ERROR = ROOT / "scenarios" / "app-error.yaml"
CUSTOMER_ID = "0c7f3a9e-5b2d-4e61-9a84-f1e2d3c4b5a6"
LOCATED = ("/subscriptions/9d2b7e44-1c6a-4f08-b3e5-72a1c0d98e16/resourceGroups/rg-monitoring/providers/"
           "Microsoft.OperationalInsights/workspaces/law-payments-uks")
GRAPH = "/providers/microsoft.resourcegraph/resources"


def run(world: ScenarioWorld) -> tuple[TriageReport, int]:
    """The report, and how many Resource Graph queries the triage made."""
    config = replace(world.config, check_deadline_s=30.0)
    report = asyncio.run(triage_with(parse_job(world.scenario.expect["job"]), timedelta(hours=1), config,
                                     world.endpoints, world.credential, world.clock))
    return report, sum(1 for r in world.emulator.requests if r.path.lower() == GRAPH)


def test_a_workspace_named_by_customer_id_is_located_and_linked() -> None:
    with scenario_world(APP_ERROR) as world:
        report, _ = run(world)
    assert report.workspace_resource_id == LOCATED
    text = render_text(report)
    assert "LogsBlade/resourceId/%2Fsubscriptions%2F9d2b7e44" in text  # the Log Analytics link is there
    assert "the report's Log Analytics link" in " ".join(report.runbook.steps if report.runbook else ())


def test_the_configured_workspace_wins_and_resource_graph_is_not_asked() -> None:
    configured = LOCATED.replace("law-payments-uks", "law-from-config")
    with scenario_world(APP_ERROR) as world:
        _, asked = run(world)
    with scenario_world(APP_ERROR, Config(workspaces={CUSTOMER_ID: configured})) as world:
        report, asked_with_config = run(world)
    assert report.workspace_resource_id == configured
    assert asked_with_config == asked - 1  # only the change-history query is left


def test_a_refused_resource_graph_means_no_link_and_no_failed_check(tmp_path: Path) -> None:
    data: dict[str, Any] = yaml.safe_load(APP_ERROR.read_text())
    data["faults"] = [{"target": "arm", "path": "/providers/Microsoft.ResourceGraph", "status": 403}]
    path = tmp_path / "app-error-no-graph.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with scenario_world(path) as world:
        report, _ = run(world)
    assert report.workspace_resource_id is None
    assert report.evidence_complete and all(c.status is not CheckStatus.ERROR for c in report.checks)
    assert report.verdict.cause.value == data["expect"]["cause"]
    assert "LogsBlade" not in render_text(report)
    # The runbook promises no link it cannot give: it names the command instead.
    assert "the report's Log Analytics link" not in " ".join(report.runbook.steps if report.runbook else ())


class Gated(FakeChanges):
    """A Resource Graph that answers the workspace lookup only when told to."""

    def __init__(self) -> None:
        super().__init__(workspaces={"ws-1": LOCATED})
        self.release = asyncio.Event()

    async def workspace(self, customer_id: str) -> str | None:
        await self.release.wait()
        return await super().workspace(customer_id)


async def test_the_queries_do_not_wait_for_the_workspace_lookup() -> None:
    changes = Gated()
    job = make_job()
    sources = Sources(job, Window(NOW - timedelta(hours=1), NOW), NOW,
                      readers(FakeJobs([job]), logs=FakeLogs(), changes=changes))
    sources.prefetch(["workspace"])
    await sources.query("exit_codes")  # answered while the lookup is still out
    assert sources.workspace_resource_id() is None  # links render from what resolved: nothing yet
    changes.release.set()
    assert await sources.workspace() == LOCATED
    assert sources.workspace_resource_id() == LOCATED


def test_logs_workspaces_in_config_are_validated() -> None:
    config = parse_config({"logs": {"workspaces": {CUSTOMER_ID.upper(): LOCATED}}})
    assert config.workspaces == {CUSTOMER_ID: LOCATED}
    with pytest.raises(ConfigError) as refused:
        parse_config({"logs": {"workspaces": {"law-payments": "/subscriptions/x/resourceGroups/rg"}}})
    problems = "\n".join(refused.value.problems)
    assert "logs.workspaces.law-payments.[key]" in problems and "customer id" in problems
    assert "Microsoft.OperationalInsights/workspaces" in problems
