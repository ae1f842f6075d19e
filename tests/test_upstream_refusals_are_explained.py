"""When Azure refuses a read, the check's line says which service and why in words an on-call engineer acts
on (signed out, a missing role, throttled, unreachable), and the rest of the report still arrives."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.core.exceptions import ClientAuthenticationError, DecodeError, ServiceResponseError

from bot.azure.faults import reason
from bot.errors import UpstreamError
from bot.intake import parse_job
from bot.model import TriageReport
from bot.respond.report_json import report_to_dict
from bot.runtime import triage_with
from bot.scenario_mode import scenario_world

HEALTHY = Path(__file__).resolve().parent.parent / "scenarios" / "healthy.yaml"
JOB = "invoice-renderer"


def triage(scenario: Path, credential: Any = None) -> TriageReport:
    with scenario_world(scenario) as world:
        return asyncio.run(triage_with(parse_job(JOB), timedelta(hours=1), world.config, world.endpoints,
                                       credential or world.credential, world.clock))


def checks(report: TriageReport) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report_to_dict(report)["checks"]}


def with_fault(tmp: Path, fault: dict[str, Any]) -> Path:
    world = yaml.safe_load(HEALTHY.read_text())
    world["faults"] = [fault]
    path = tmp / "faulty.yaml"
    path.write_text(yaml.safe_dump(world, sort_keys=False))
    return path


ARM, LOGS = {"target": "arm", "path": "/executions"}, {"target": "logs", "path": "/query"}
REFUSALS = [
    ({**ARM, "status": 403}, "failures", "HTTP 403 (AuthorizationFailed, missing permission)"),
    ({**ARM, "status": 401}, "failures", "HTTP 401 (AuthenticationFailed, not signed in)"),
    ({**LOGS, "status": 403}, "exit_codes", "HTTP 403 (InsufficientAccessError, missing permission)"),
    # Storage puts its code in a header, not the body: the HTTP reason phrase is what there is to quote.
    ({"target": "queue", "path": "/", "status": 403}, "queue_depth", "HTTP 403 (Forbidden, missing permission)"),
    ({**ARM, "status": 409}, "failures", "HTTP 409 (Conflict)"),
]


@pytest.mark.parametrize(("fault", "check", "reason"), REFUSALS,
                         ids=[f"{f[0]['target']}-{f[0]['status']}" for f in REFUSALS])
def test_a_refused_read_names_the_status_code_and_what_it_means(fault: dict[str, Any], check: str, reason: str,
                                                                tmp_path: Path) -> None:
    report = triage(with_fault(tmp_path, fault))
    found = checks(report)
    assert found[check]["status"] == "error"
    assert reason in found[check]["summary"], found[check]["summary"]
    assert not report.evidence_complete


@dataclass
class SignedOut:
    """A credential that cannot get a token, as DefaultAzureCredential after `az login` expired."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> SignedOut:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


def test_without_a_token_triage_stops_at_the_job_lookup_and_says_so() -> None:
    # Nothing can be read at all: one plain line (the CLI prints it), not a report of errors nor "healthy".
    with pytest.raises(UpstreamError, match=r"^could not get a token for Azure Resource Manager$"):
        triage(HEALTHY, SignedOut())


def test_a_connection_closed_mid_answer_and_an_unreadable_answer_are_told_apart() -> None:
    assert reason(ServiceResponseError("Connection reset by peer"), "Azure Monitor Logs") == (
        "Azure Monitor Logs closed the connection without answering")
    assert reason(DecodeError("not JSON"), "Azure Resource Manager") == (
        "Azure Resource Manager call failed (DecodeError)")
