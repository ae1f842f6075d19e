"""The bot's Azure role is the code's own list of reads: the two agree, both ways, and the role file
the deploy script uses is generated from it."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.assets import bundled_scenarios
from bot.azure.permissions import ARM_READS, DATA_PLANE_ROLES, action_for, main, role_definition
from bot.intake import parse_job
from bot.runtime import triage_with
from bot.scenario_mode import scenario_world

ROOT = Path(__file__).resolve().parents[1]
ROLE_FILE = ROOT / "deploy" / "azure" / "jobbot-reader-role.json"
PLACEHOLDER_SCOPE = "/subscriptions/{subscription-id}"
JOB = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.App/jobs/orders"


@pytest.mark.parametrize(("method", "path", "action"), [
    ("GET", JOB, "Microsoft.App/jobs/read"),
    ("GET", "/subscriptions/s1/providers/Microsoft.App/jobs", "Microsoft.App/jobs/read"),
    ("GET", JOB + "/executions/orders-x1?api-version=2024-03-01", "Microsoft.App/jobs/executions/read"),
    ("GET", JOB + "/providers/Microsoft.Insights/metrics", "Microsoft.Insights/metrics/read"),
    ("GET", "/subscriptions/s1/resourceGroups/rg/providers/microsoft.app/managedenvironments/env"
            "/providers/microsoft.insights/diagnosticSettings", "Microsoft.Insights/diagnosticSettings/read"),
    ("GET", "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/sb/topics/t"
            "/subscriptions/s", "Microsoft.ServiceBus/namespaces/topics/subscriptions/read"),
    ("GET", "/subscriptions/s1/providers/Microsoft.Insights/eventtypes/management/values",
     "Microsoft.Insights/eventtypes/values/read"),
    ("GET", "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/providers/"
            "Microsoft.Authorization/roleAssignments", "Microsoft.Authorization/roleAssignments/read"),
    ("POST", "/providers/Microsoft.ResourceGraph/resources", "Microsoft.ResourceGraph/resources/read"),
    # A write is named as one, so it can never pass for a read.
    ("PATCH", JOB, "Microsoft.App/jobs/write"),
    ("DELETE", JOB, "Microsoft.App/jobs/delete"),
    ("POST", JOB + "/stop", "Microsoft.App/jobs/stop/action"),
    ("POST", JOB + "/listSecrets", "Microsoft.App/jobs/listSecrets/action"),
    # Data planes are not ARM actions: their access comes from the built-in data roles.
    ("POST", "/v1/workspaces/7d5e7b6a-0000-0000-0000-000000000000/query", None),
    ("GET", "/stordersprod/orders", None),
])
def test_a_request_names_the_action_it_needs(method: str, path: str, action: str | None) -> None:
    assert action_for(method, path) == action


def test_no_write_or_secret_action_is_ever_granted() -> None:
    assert all(a.endswith("/read") for a in ARM_READS)
    assert not any(word in a.lower() for a in ARM_READS for word in ("listkeys", "listsecrets", "*"))
    assert set(DATA_PLANE_ROLES) == {"Log Analytics Reader", "Storage Queue Data Reader"}


def test_the_deploy_role_file_is_generated_from_the_code() -> None:
    committed = json.loads(ROLE_FILE.read_text())
    assert committed == role_definition([PLACEHOLDER_SCOPE]), \
        "regenerate: python -m bot.azure.permissions '/subscriptions/{subscription-id}' > " + str(ROLE_FILE)


def test_the_role_printer_writes_the_scopes_it_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["/subscriptions/abc"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["AssignableScopes"] == ["/subscriptions/abc"]
    assert printed["Actions"] == sorted(ARM_READS) and printed["DataActions"] == []


# Scenarios that between them make every kind of read (log setup through diagnostic settings, Service Bus
# queues and topic subscriptions, the identity's role assignments); test_scenarios checks that every
# bundled scenario's reads are granted.
WITNESSES = ("resource-specific-tables", "servicebus-oom", "app-error", "change-role-assignment-deleted")


REVIEWS = sorted(p for p in bundled_scenarios() if p.stem.startswith("review-"))


def reviewed_actions(path: Path) -> set[str]:
    """The actions of every request `jobbot review` makes in one world."""
    from bot.azure.wiring import azure_readers
    from bot.review.service import review

    with scenario_world(path) as world:
        async def run() -> None:
            async with azure_readers(world.credential, world.endpoints, world.config) as readers:
                await review(parse_job(world.scenario.expect["job"]), timedelta(days=7), readers, world.clock,
                             world.config)

        asyncio.run(run())
        return {a for r in world.emulator.requests if (a := action_for(r.method, r.path)) is not None}


def test_every_granted_action_is_one_the_bot_really_uses() -> None:
    """The other direction: a role wider than the reads is not least privilege. Triage and review together."""
    paths = {p.stem: p for p in bundled_scenarios()}
    used: set[str] = set()
    for name in WITNESSES:
        with scenario_world(paths[name]) as world:
            asyncio.run(triage_with(parse_job(world.scenario.expect["job"]), timedelta(hours=1), world.config,
                                    world.endpoints, world.credential, world.clock))
            used |= {a for r in world.emulator.requests if (a := action_for(r.method, r.path)) is not None}
    for path in REVIEWS:
        reviewed = reviewed_actions(path)
        assert reviewed <= set(ARM_READS), f"{path.stem}: review reads the role does not grant"
        used |= reviewed
    assert used == set(ARM_READS)
