"""Runbooks render for every cause, with and without a suspected change, and name real commands."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.assets import bundled_scenarios
from bot.model import Cause, Confidence, RollbackCandidate, SuspectedChange, Verdict, Window
from bot.owners import ConfiguredOwners, mention, resolve_owners
from bot.runbooks import GENERIC, bundled, choose, runbook_for
from tests.fakes import NOW, make_job

WINDOW = Window(NOW - timedelta(hours=1), NOW)
CHANGE = SuspectedChange(NOW, "deployer@contoso.com", "MICROSOFT.APP/JOBS/WRITE", "image a:1 -> a:2")
ROLLBACK = RollbackCandidate("contoso.azurecr.io/orders:1.4.2", NOW)


def test_every_cause_has_its_own_runbook_and_a_generic_one_exists() -> None:
    covered = {cause for template in bundled().values() for cause in template.causes}
    assert covered == {cause.value for cause in Cause}
    assert GENERIC in bundled()


@pytest.mark.parametrize("cause", list(Cause))
@pytest.mark.parametrize("with_change", [True, False])
def test_runbook_renders_steps_with_the_jobs_own_names(cause: Cause, with_change: bool) -> None:
    verdict = Verdict(cause, Confidence.HIGH, "summary", CHANGE if with_change else None,
                      ROLLBACK if with_change else None)
    runbook = runbook_for(make_job(), verdict, WINDOW, "in the last hour")
    assert runbook.id == cause.value
    assert len(runbook.steps) >= 3
    text = "\n".join(runbook.steps)
    assert "{{" not in text and "{%" not in text
    if "az containerapp job" in text:
        assert "--name orders-processor" in text and "--resource-group rg-orders" in text


def test_rollback_step_names_the_last_good_image() -> None:
    verdict = Verdict(Cause.OOM, Confidence.HIGH, "s", CHANGE, ROLLBACK)
    steps = "\n".join(runbook_for(make_job(), verdict, WINDOW, "in the last hour").steps)
    assert "contoso.azurecr.io/orders:1.4.2" in steps
    assert "deployer@contoso.com" in steps


def test_a_job_can_override_the_runbook_of_a_cause(tmp_path: Path) -> None:
    custom = tmp_path / "orders-oom.md.j2"
    custom.write_text("---\nid: orders-oom\ntitle: Orders OOM\ncauses: [oom]\nescalation: primary\n---\n"
                      "1. Page the orders team for {{ job.name }}\n2. Two\n3. Three\n")
    assert choose("oom", {"oom": str(custom)}).id == "orders-oom"
    verdict = Verdict(Cause.OOM, Confidence.HIGH, "s")
    runbook = runbook_for(make_job(), verdict, WINDOW, "x", {"oom": str(custom)})
    assert runbook.steps[0] == "Page the orders team for orders-processor"


def test_owner_values_become_slack_mentions() -> None:
    assert mention("S0OWN123") == "<!subteam^S0OWN123>"
    assert mention("U0MGR123") == "<@U0MGR123>"
    assert mention("<!subteam^S1>") == "<!subteam^S1>"
    assert mention("team-orders", {"team-orders": "S0ORDERS"}) == "<!subteam^S0ORDERS>"
    assert mention("@orders-oncall") == "@orders-oncall"


def test_config_owners_win_over_tags_and_tags_work_without_config() -> None:
    tags = {"owner": "team-orders", "oncall": "@orders-oncall"}
    from_tags = resolve_owners(tags, None, {"orders-oncall": "S0ONCALL1"})
    assert from_tags is not None
    assert from_tags.primary == "<!subteam^S0ONCALL1>"
    assert from_tags.escalation == ("team-orders",)
    configured = resolve_owners(tags, ConfiguredOwners("<!subteam^S0OWN>", ("<!subteam^S0LEAD>", "<@U0MGR>")))
    assert configured is not None
    assert configured.primary == "<!subteam^S0OWN>"
    assert configured.escalation == ("<!subteam^S0LEAD>", "<@U0MGR>")
    assert resolve_owners({}) is None


@pytest.mark.parametrize("scenario", bundled_scenarios(), ids=lambda p: p.stem)
def test_every_runbook_renders_against_every_bundled_scenario(scenario: Path) -> None:
    from bot.azure.resources import parse_job
    from bot.emulator.scenario import load_scenario

    world = load_scenario(scenario)
    for raw in world.jobs:
        job = parse_job({k: v for k, v in raw.items() if k != "executions"})
        for template in bundled().values():
            cause = Cause(template.causes[0]) if template.causes else Cause.UNKNOWN
            rollback = RollbackCandidate(world.expect.get("rollback_image") or "repo/image:1", NOW)
            with_change = Verdict(cause, Confidence.HIGH, "s", CHANGE, rollback)
            for verdict in (Verdict(cause, Confidence.LOW, "s"), with_change):
                steps = runbook_for(job, verdict, WINDOW, "in the last hour").steps
                assert steps and all(step.strip() for step in steps)
                assert job.ref.name in "\n".join(steps) or template.id in {"platform", "poison-message", "capacity"}


@pytest.mark.parametrize("cause", list(Cause), ids=[c.value for c in Cause])
def test_every_command_in_a_runbook_pastes_into_a_shell(cause: Cause) -> None:
    """Each `az …` span is one command a person can paste: no bare `<placeholder>` (a redirection to a
    shell), and what jobbot knows of the job is filled in."""
    import re
    import shlex

    job = make_job(dependencies=("0f1e2d3c-4b5a-6978-8899-aabbccddeeff",))
    for with_change in (False, True):
        change = SuspectedChange(NOW, "dev@contoso.com", "MICROSOFT.APP/JOBS/WRITE", "image a -> b") \
            if with_change else None
        verdict = Verdict(cause, Confidence.HIGH, "summary", change)
        runbook = runbook_for(job, verdict, Window(NOW - timedelta(hours=1), NOW), "in the last hour")
        for step in runbook.steps:
            for command in re.findall(r"`(az [^`]+)`", step):
                lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
                operators = [t for t in lexer if t and set(t) <= set("<>|;&()")]
                assert operators == [], command  # a bare <placeholder> would be a redirection
    identity = runbook_for(job, Verdict(Cause.IDENTITY, Confidence.HIGH, "s"), Window(NOW, NOW), "now")
    assert any("--assignee 0f1e2d3c-4b5a-6978-8899-aabbccddeeff" in s for s in identity.steps)
    pull = runbook_for(job, Verdict(Cause.IMAGE_PULL, Confidence.HIGH, "s"), Window(NOW, NOW), "now")
    assert any("--name contoso --repository orders" in s for s in pull.steps)


def test_a_runbook_points_at_a_logs_link_only_when_the_report_has_one() -> None:
    job = make_job()
    verdict = Verdict(Cause.APP_ERROR, Confidence.HIGH, "s")
    window = Window(NOW - timedelta(hours=1), NOW)
    linked = " ".join(runbook_for(job, verdict, window, "in the last hour", logs_link=True).steps)
    unlinked = " ".join(runbook_for(job, verdict, window, "in the last hour", logs_link=False).steps)
    assert "the report's Log Analytics link" in linked
    assert "link" not in unlinked.lower()
    assert ("az containerapp job logs show --name orders-processor --resource-group rg-orders --container worker "
            '--execution "<execution>"') in unlinked
