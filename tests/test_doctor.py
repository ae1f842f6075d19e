"""`jobbot doctor`: a good world passes; each broken thing gets its own failing line with its fix.

Worlds are bundled scenarios served by the local emulator, broken one way each (a missing table, a denied
read); Slack is the fake Web API with fewer scopes, a refused token or a channel the bot is not in.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.azure.permissions import ARM_READS, action_for
from bot.cli import main
from bot.config import parse_config
from bot.doctor.azure import _clock_finding
from bot.doctor.incidents import incident_finding
from bot.doctor.model import Finding, Status, as_text, exit_code
from bot.doctor.run import diagnose
from bot.settings import Settings
from bot.slack.scopes import REQUIRED_BOT_SCOPES
from tests.support.slack_fake import FakeSlack

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "scenarios" / "oom-after-image-change.yaml"


def broken(tmp_path: Path, **changes: Any) -> Path:
    """The good world with top-level keys replaced."""
    world = yaml.safe_load(GOOD.read_text())
    world.update(changes)
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(world, sort_keys=False))
    return path


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'jobbot.db'}", **values)


def failed(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.status == Status.FAIL]


def test_a_good_world_passes_and_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # the default SQLite store lands here
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert main(["doctor", "--scenario", str(GOOD)]) == 0
    out = capsys.readouterr().out
    assert "ContainerAppConsoleLogs_CL: " in out and "rows in the last day" in out
    assert "orders-processor: queue depth (azure-queue): 1520 messages waiting" in out
    assert "skip  slack    bot token: SLACK_BOT_TOKEN is not set" in out
    assert "ok    clock    skew against Azure: " in out  # from the Date header of a real ARM answer
    assert out.rstrip().endswith("all checks passed")


def test_a_missing_table_fails_naming_it_and_how_to_get_it(tmp_path: Path) -> None:
    world = broken(tmp_path, absent_tables=["ContainerAppConsoleLogs_CL", "AzureActivity"], tables={
        k: v for k, v in yaml.safe_load(GOOD.read_text())["tables"].items()
        if k not in ("ContainerAppConsoleLogs_CL", "AzureActivity")})
    findings = diagnose(settings(tmp_path), None, world)
    missing = failed(findings)
    # One line per job probed (this world has two), each naming the table.
    assert [f.check.split(":")[0] for f in missing] == ["customer-notifier", "orders-processor"]
    assert all(f.check.endswith("ContainerAppConsoleLogs_CL") and f.detail == "the table does not exist"
               and "appLogsConfiguration" in f.fix for f in missing)
    activity = next(f for f in findings if f.check.endswith("AzureActivity"))
    assert activity.status == Status.WARN and "diagnostic setting" in activity.fix
    assert exit_code(findings) == 1


def test_a_denied_read_names_the_permission_and_the_role_that_holds_it(tmp_path: Path) -> None:
    world = broken(tmp_path, faults=[{"target": "arm", "path": "/executions", "status": 403}])
    findings = diagnose(settings(tmp_path), None, world)
    denied = failed(findings)
    assert denied and all(f.check.endswith(": executions") for f in denied)
    assert "HTTP 403" in denied[0].detail
    assert "Microsoft.App/jobs/executions/read" in denied[0].fix and "'jobbot reader'" in denied[0].fix
    assert "Microsoft.App/jobs/executions/read" in ARM_READS  # the role the fix names really holds it


def test_a_catalog_job_that_does_not_exist_is_named(tmp_path: Path) -> None:
    config = tmp_path / "jobbot.yaml"
    config.write_text("jobs:\n  orders-processor: {}\n  orders-procesor: {}\n")
    findings = diagnose(settings(tmp_path), config, GOOD)
    [typo] = failed(findings)
    assert typo.check == "catalog job orders-procesor" and "jobs.orders-procesor" in typo.fix


def test_an_invalid_config_fails_with_each_problem(tmp_path: Path) -> None:
    config = tmp_path / "jobbot.yaml"
    config.write_text("azure:\n  check_deadline_s: soon\n")
    findings = diagnose(settings(tmp_path), config, GOOD)
    assert [f.area for f in findings] == ["config"]
    assert findings[0].status == Status.FAIL and "check_deadline_s" in findings[0].detail


def test_doctor_makes_only_reads_the_bots_role_grants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import scenario_mode

    seen: list[Any] = []
    original = scenario_mode.scenario_world

    def recording(*args: Any, **kwargs: Any) -> Any:
        manager = original(*args, **kwargs)

        class Keep:
            def __enter__(self) -> Any:
                world = manager.__enter__()
                seen.append(world.emulator)
                return world

            def __exit__(self, *exc: Any) -> Any:
                seen.append(list(seen[-1].requests))
                return manager.__exit__(*exc)

        return Keep()

    monkeypatch.setattr(scenario_mode, "scenario_world", recording)
    diagnose(settings(tmp_path), None, GOOD)
    requests = seen[-1]
    assert requests and all(r.allowed for r in requests)
    assert {action_for(r.method, r.path) for r in requests} - {None} <= set(ARM_READS)


# --- Slack -------------------------------------------------------------------------------------------------


def slack_settings(tmp_path: Path, slack: FakeSlack, **values: Any) -> Settings:
    return settings(tmp_path, slack_bot_token="xoxb-doctor", slack_api_url=slack.api_url, **values)


def test_slack_passes_with_every_scope_and_a_public_alert_channel(tmp_path: Path) -> None:
    with FakeSlack.in_thread() as slack:
        findings = diagnose(slack_settings(tmp_path, slack, alert_channel="C0INC"), None, GOOD)
    lines = {f.check: f for f in findings if f.area == "slack"}
    assert lines["bot token"].status == Status.OK
    assert lines["scopes"].status == Status.OK
    assert lines["alert channel #incident"].status == Status.OK


def test_a_missing_scope_fails_naming_it_what_it_is_for_and_how_to_add_it(tmp_path: Path) -> None:
    scopes = [s for s in REQUIRED_BOT_SCOPES if s != "groups:read"]
    with FakeSlack.in_thread(scopes=scopes) as slack:
        findings = diagnose(slack_settings(tmp_path, slack), None, GOOD)
    [scope] = [f for f in failed(findings) if f.check == "scopes"]
    assert "groups:read (private incident channels" in scope.detail
    assert "Bot Token Scopes" in scope.fix and "reinstall" in scope.fix
    assert exit_code(findings) == 1


def test_a_refused_token_fails_without_showing_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeSlack.in_thread(token="xoxb-the-real-one") as slack:
        findings = diagnose(slack_settings(tmp_path, slack), None, GOOD)
    [token] = [f for f in failed(findings) if f.area == "slack"]
    assert "invalid_auth" in token.detail and "xoxb-doctor" not in as_text(findings)


def test_a_private_alert_channel_without_the_bot_says_invite_it(tmp_path: Path) -> None:
    channels = {"G0PRIV": {"name": "payments-incidents", "is_private": True, "is_member": False}}
    with FakeSlack.in_thread(channels=channels) as slack:
        findings = diagnose(slack_settings(tmp_path, slack, alert_channel="G0PRIV"), None, GOOD)
    [channel] = [f for f in failed(findings) if f.area == "slack"]
    # As Slack does, a private channel the bot is not in cannot even be looked up.
    assert channel.check == "alert channel G0PRIV" and "channel_not_found" in channel.detail
    assert "/invite @jobbot" in channel.fix


def test_a_public_alert_channel_without_chat_write_public_needs_the_bot_invited(tmp_path: Path) -> None:
    scopes = [s for s in REQUIRED_BOT_SCOPES if s != "chat:write.public"]
    with FakeSlack.in_thread(scopes=scopes, channels={"C0OPS": {"name": "ops", "is_member": False}}) as slack:
        findings = diagnose(slack_settings(tmp_path, slack, alert_channel="C0OPS"), None, GOOD)
    [channel] = [f for f in failed(findings) if f.check.startswith("alert channel")]
    assert channel.check == "alert channel #ops" and channel.fix == "/invite @jobbot in #ops"


def test_the_manifest_asks_for_exactly_the_scopes_the_doctor_checks() -> None:
    manifest = yaml.safe_load((ROOT / "deploy" / "slack-app-manifest.yaml").read_text())
    assert manifest["oauth_config"]["scopes"]["bot"] == list(REQUIRED_BOT_SCOPES)


# --- database, clock, output -------------------------------------------------------------------------------


def test_an_unreachable_database_fails_without_its_password(tmp_path: Path) -> None:
    url = "postgresql://jobbot:s3cret-pw@127.0.0.1:1/jobbot"
    findings = diagnose(Settings(database_url=url), None, GOOD)
    [database] = [f for f in failed(findings) if f.area == "database"]
    assert "JOBBOT_DATABASE_URL" in database.fix
    assert "s3cret-pw" not in as_text(findings)


async def test_a_clock_two_minutes_off_fails() -> None:
    async def behind() -> datetime:
        return datetime.now(UTC) - timedelta(minutes=5)

    async def close() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=3)

    late = await _clock_finding(behind)
    assert late.status == Status.FAIL and "ahead of Azure" in late.detail and "NTP" in late.fix
    assert (await _clock_finding(close)).status == Status.OK


def test_json_output_counts_and_lists_every_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    world = broken(tmp_path, faults=[{"target": "arm", "path": "/executions", "status": 403}])
    assert main(["doctor", "--scenario", str(world), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "doctor" and report["ok"] is False
    assert report["counts"]["fail"] == sum(1 for f in report["findings"] if f["status"] == "fail") >= 1
    assert {"area", "check", "status", "detail", "fix"} <= set(report["findings"][0])


# --- environment-wide incidents: can they be posted, and who do they page ---------------------------------


def test_incidents_without_a_platform_owner_warn_who_is_paged_instead() -> None:
    bare = incident_finding(parse_config({}), "C0ALERTS")
    assert bare.status is Status.WARN and "pages the owner of the job whose alert opened it" in bare.detail
    assert "alerts.platform_owners" in bare.fix
    owned = incident_finding(parse_config({"alerts": {"platform_owners": {"cae-orders": "S0PLATFORM"}}}), "C0ALERTS")
    assert owned.status is Status.OK and "cae-orders" in owned.detail and "other environments page" in owned.detail
    everywhere = incident_finding(parse_config({"alerts": {"platform_owners": {"*": "S0PLATFORM"}}}), "C0ALERTS")
    assert everywhere.status is Status.OK and "other environments" not in everywhere.detail
    assert incident_finding(parse_config({}), None).status is Status.SKIPPED  # nowhere to post one
    off = incident_finding(parse_config({"alerts": {"incidents": False}}), "C0ALERTS")
    assert off.status is Status.SKIPPED and "a thread of their own" in off.detail
