"""Attack: a workload prints credentials to its console (a connection string in an exception, a bearer
token in a debug line …). jobbot reads console lines to classify failures and quotes their signatures in
the verdict, the checks and the rollback refusal. Plant a secret of every shape the scrubber knows in
console rows of every bundled scenario and check that none leaves the process: not on the CLI (text,
JSON, blocks), not in Slack (triage, rollback refusal, alert thread, ack), not in logs, not in the audit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot import runtime
from bot.cli import main
from bot.config import Config, parse_config
from bot.evidence.payloads import ConsoleEvidence
from bot.intake import parse_job
from bot.respond.report_json import report_to_dict
from bot.runtime import triage_with
from bot.scenario_mode import scenario_world
from bot.server import create_app
from bot.settings import Settings
from bot.store import Store
from tests.fixtures.alerts.payloads import alert_id, metric_alert
from tests.support.served import served
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import sign, slash_command_body

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
CONFIG = replace(Config(), check_deadline_s=30.0)

# One secret of each shape; each carries a marker made of letters that no signature normaliser rewrites
# (no digits, no long hex runs), so a leak shows as the marker whatever the KQL did to the line.
PLANTED = {
    "Zqvleakurlpass": "postgresql://jobbot:Zqvleakurlpass@db.internal/orders",
    "Zqvleakpwdpair": "Server=tcp:sql.example.net;Database=orders;User ID=app;Password=Zqvleakpwdpair;",
    "Zqvleakaccountkey": "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=Zqvleakaccountkey==;"
                         "EndpointSuffix=core.windows.net",
    "Zqvleaksaskey": "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"
                     "SharedAccessKey=Zqvleaksaskey=",
    "Zqvleaksig": "https://st.blob.core.windows.net/c/b?sv=x&sig=Zqvleaksig&se=y",
    "Zqvleakbearerheader": "Authorization: Bearer Zqvleakbearerheader",
    "Zqvleakbarebearer": "sent bearer ZqvleakbarebearerTokenValue",
    "Zqvleakjwtsignature": "eyJhbGciOiJub.eyJzdWIiOiJxIn.Zqvleakjwtsignature",
    "Zqvleakslacktoken": "xoxb-Zqvleakslacktoken",
    "Zqvleakapikey": "client_secret=Zqvleakapikey",
}
MARKERS = tuple(PLANTED)
# Scenarios where the job's console is never read or has nothing in the window.
NO_CONSOLE_EVIDENCE = {"fault-logs-500": "the log query fails by design", "scaler-failure": "no execution ran",
                       "official-example": "no execution in the window",
                       "review-official-example": "official-example's world: no execution in the window",
                       "review-risky": "its last run is 90 minutes old: none in the triage's hour"}
KNOWN = ("8f14e45fceea167a5a36dedd4bea2543", "xoxb-1111-2222-jobbottesttoken", "alert-token-Zqvleakknown")


def planted(source: Path, tmp: Path) -> Path:
    """`source` where every execution of the scenario's job printed one error line per secret (the rows are
    shaped like the scenario's own console rows, so both table layouts are covered)."""
    world = yaml.safe_load(source.read_text())
    target = (world.get("expect") or {}).get("job") or world["jobs"][0]["name"]
    job = next(j for j in world["jobs"] if j["name"] == target)
    for name, rows in world.get("tables", {}).items():
        if not name.startswith("ContainerAppConsoleLogs") or not rows:
            continue
        template = rows[0]
        suffix = "" if "Log" in template else "_s"
        job_column = "JobName" if "JobName" in template else f"ContainerJobName{suffix}"
        for execution in job.get("executions", []):
            started = execution.get("properties", {}).get("startTime")
            if not started:
                continue
            for secret in PLANTED.values():
                twin = dict(template)
                twin.update({"TimeGenerated": started, job_column: target,
                             f"ContainerGroupName{suffix}": f"{execution['name']}-zqv",
                             f"Stream{suffix}": "stderr",
                             f"Log{suffix}": f"ERROR fatal: could not connect to the database with {secret}"})
                rows.append(twin)
    path = tmp / source.name
    path.write_text(yaml.safe_dump(world, sort_keys=False))
    return path


def leaks(text: str) -> list[str]:
    return [m for m in (*MARKERS, *KNOWN) if m in text]


@pytest.mark.parametrize("source", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_cli_triage_output_carries_no_planted_secret(source: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = planted(source, tmp_path)
    with scenario_world(path, CONFIG) as world:
        job = world.scenario.expect["job"] if world.scenario.expect else world.scenario.jobs[0]["name"]
        report = asyncio.run(triage_with(parse_job(job), timedelta(hours=1), world.config, world.endpoints,
                                         world.credential, world.clock))
    # The secrets really reached the core (else this test would prove nothing): the console reader scrubs
    # them where each signature is made (issue 15), so the report holds the marker where a secret was,
    # except where the scenario has no console evidence to read.
    produced = json.dumps(report_to_dict(report))
    assert leaks(produced) == []
    console = report.check("console_errors")
    read = bool(console and isinstance(console.evidence, ConsoleEvidence) and console.evidence.signatures)
    # (the change scenarios fail in platform logs, where they have console rows at all)
    assert read or source.stem in NO_CONSOLE_EVIDENCE or source.stem.startswith("change-")
    assert ("[REDACTED]" in produced) is read
    # The triage is run once; the CLI renders it in every format through its own boundary.
    monkeypatch.setattr(runtime, "triage_once", lambda *a, **k: report)
    for fmt in ("text", "json", "blocks"):
        assert main(["triage", job, "--scenario", str(path), "--format", fmt]) == 0
        out = capsys.readouterr()
        assert leaks(out.out + out.err) == [], fmt
        if fmt != "text":
            json.loads(out.out)  # still valid JSON after redaction


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logging.Formatter("%(name)s %(message)s %(exc_text)s").format(record)
                          + repr(record.__dict__))


@pytest.fixture()
def logs() -> Iterator[Lines]:
    handler, root = Lines(), logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def test_slack_logs_and_audit_carry_no_planted_secret(tmp_path: Path, logs: Lines,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    path = planted(ROOT / "scenarios" / "app-error.yaml", tmp_path)
    target = yaml.safe_load(path.read_text())["jobs"][0]["id"]
    db = f"sqlite:///{tmp_path / 'jobbot.db'}"
    with FakeSlack.in_thread() as slack:
        settings = Settings(slack_bot_token=KNOWN[1], slack_signing_secret=KNOWN[0], slack_api_url=slack.api_url,
                            scenario=path, database_url=db, alert_token=KNOWN[2], alert_channel="C0ALERTS")
        with served(create_app(settings, parse_config({"azure": {"check_deadline_s": 30}}))) as url:
            http = httpx.Client(base_url=url, timeout=10, trust_env=False)

            def command(text: str, token: str) -> httpx.Response:
                body = slash_command_body(text, response_url=slack.response_url(token))
                headers = {**sign(KNOWN[0], body), "Content-Type": "application/x-www-form-urlencoded"}
                return http.post("/slack/events", content=body, headers=headers)

            # The ack echoes what the user typed: a secret pasted into the command must not come back.
            echoed = command("triage payment-reconciler Password=Zqvleakpwdpair", "echo")
            assert leaks(echoed.text) == []
            assert command("rollback payment-reconciler", "rb").status_code == 200
            refusal = slack.wait_for_sync(lambda: slack.responses_to("rb"), timeout=30)[-1]
            assert "No rollback checklist" in refusal["text"]
            assert command("triage payment-reconciler", "tr").status_code == 200
            slack.wait_for_sync(lambda: [c for c in slack.calls_to("chat.update")
                                         if "payment-reconciler" in str(c.args.get("text"))], timeout=30)
            ident = alert_id("leaky-console")
            delivered = http.post("/alerts/azure-monitor", params={"token": KNOWN[2]},
                                  json=metric_alert(ident, "failed-executions", target))
            assert delivered.status_code == 202

            def alert_triaged() -> Any:
                return [m for m in slack.messages.values()
                        if ident in json.dumps(m.get("blocks")) and "dependency" in json.dumps(m.get("blocks"))]

            slack.wait_for_sync(alert_triaged, timeout=30)
            time.sleep(0.5)
            sent = repr([c.args for c in slack.calls]) + repr(slack.responses) + repr(slack.messages)
    assert leaks(sent) == []
    assert leaks("\n".join(logs.lines)) == []
    store = Store.open(db)
    try:
        entries = asyncio.run(store.audit.recent(500))
    finally:
        store.close()
    assert entries and leaks(repr(entries)) == []


@pytest.mark.parametrize(("template", "arg"), [("connecting with password=%s", "Zqvleakpwdpair"),
                                               ("url %s", PLANTED["Zqvleakurlpass"]),
                                               ("Authorization: Bearer %s", "Zqvleakbearerheader")])
def test_a_secret_passed_as_a_log_argument_is_masked_and_the_line_still_formats(template: str, arg: str) -> None:
    from bot.boundary import install_log_redaction

    handler = Lines()
    logger = logging.getLogger("jobbot.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    uninstall = install_log_redaction(KNOWN)
    try:
        logger.warning(template, arg)
        try:
            raise RuntimeError("failed with " + template % arg)
        except RuntimeError:
            logger.exception("boom %s", "x")
    finally:
        uninstall()
        logger.removeHandler(handler)
    logged = "\n".join(handler.lines)
    assert leaks(logged) == [] and "[REDACTED]" in logged and "boom x" in logged
    assert len(handler.lines) == 2 and handler.lines[0].startswith(f"jobbot.test.redaction {template.split('%')[0]}")

