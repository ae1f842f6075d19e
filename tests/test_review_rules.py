"""Each review rule on typed facts: the boundary that makes it pass, and the one that makes it warn or fail.

Facts are built from ARM JSON through the real parser (`parse_job`), so a rule sees what a live job gives.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.azure.resources import parse_execution, parse_job
from bot.config import parse_config
from bot.evidence.payloads import (
    ChangeEvent,
    ConfigChangesEvidence,
    ExecutionSummary,
    ExitCodeCount,
    ExitCodesEvidence,
    FailuresEvidence,
    MemoryEvidence,
    QueueEvidence,
    RetriedExecution,
    RetriesEvidence,
    StuckEvidence,
    StuckExecution,
)
from bot.model import CheckResult, CheckStatus, LogSetup, Owners, QueryResult, QueueDepth, Window
from bot.review.facts import Alerting, Facts, Grant
from bot.review.findings import Status
from bot.review.rules import RULES, by_id

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SUB = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
JOB_ID = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.App/jobs/ledger"
ENV_ID = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/cae"
GOOD_IMAGE = "ledgeracr.azurecr.io/ledger/sync:3.1.0@sha256:" + "4f" * 32

BASE: dict[str, Any] = {
    "id": JOB_ID, "name": "ledger", "type": "Microsoft.App/jobs", "location": "West Europe",
    "tags": {"owner": "team-ledger", "jobbot-channel": "C07"},
    "identity": {"type": "SystemAssigned", "principalId": "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"},
    "systemData": {"lastModifiedBy": "pipeline", "lastModifiedByType": "Application",
                   "lastModifiedAt": "2026-11-20T09:30:00Z"},
    "properties": {
        "provisioningState": "Succeeded", "runningState": "Ready", "environmentId": ENV_ID,
        "workloadProfileName": "Consumption",
        "configuration": {
            "triggerType": "Event", "replicaTimeout": 600, "replicaRetryLimit": 1,
            "eventTriggerConfig": {"parallelism": 1, "replicaCompletionCount": 1, "scale": {
                "minExecutions": 0, "maxExecutions": 10, "pollingInterval": 30,
                "rules": [{"name": "q", "type": "azure-queue", "identity": "system",
                           "metadata": {"accountName": "st", "queueName": "q", "queueLength": "1"}}]}},
            "secrets": [{"name": "db", "keyVaultUrl": "https://kv.vault.azure.net/secrets/db", "identity": "system"}],
            "registries": [{"server": "ledgeracr.azurecr.io", "identity": "system"}],
        },
        "template": {"containers": [{"name": "worker", "image": GOOD_IMAGE, "resources": {"cpu": 0.5, "memory": "1Gi"},
                                     "env": [{"name": "QUEUE_NAME", "value": "q"},
                                             {"name": "DB_PASSWORD", "secretRef": "db"}]}]},
    },
}
ENV = {"id": ENV_ID, "name": "cae", "properties": {
    "zoneRedundant": True, "appLogsConfiguration": {"destination": "log-analytics"},
    "workloadProfiles": [{"name": "Consumption", "workloadProfileType": "Consumption"}]}}
OWNED = Owners("team-ledger")


def run(minutes_ago: float, seconds: float, status: str = "Succeeded", name: str | None = None,
        reason: str | None = None) -> Any:
    start = NOW - timedelta(minutes=minutes_ago)
    body: dict[str, Any] = {"name": name or f"ledger-{minutes_ago:g}", "properties": {
        "status": status, "startTime": start.isoformat(), "endTime": (start + timedelta(seconds=seconds)).isoformat(),
        "template": {"containers": [{"name": "worker", "image": GOOD_IMAGE,
                                     "resources": {"cpu": 0.5, "memory": "1Gi"}}]}}}
    if reason:
        body["properties"]["reason"] = reason
    return parse_execution(body)


RUNS = tuple(run(60 * h, 120 + h) for h in range(1, 21))


def ok_check(name: str, evidence: Any) -> CheckResult:
    return CheckResult(name, CheckStatus.OK, "fine", evidence)


def facts(job: dict[str, Any] | None = None, *, config: dict[str, Any] | None = None, runs: tuple[Any, ...] = RUNS,
          checks: dict[str, CheckResult] | None = None, grants: tuple[Grant, ...] | None = (),
          env: dict[str, Any] | None = None, registries: dict[str, Any] | None = None,
          vaults: dict[str, Any] | None = None, queues: dict[str, QueueDepth] | None = None,
          unread: dict[str, str] | None = None, owners: Owners | None = OWNED,
          channel: str | None = "C07", logs: dict[str, list[dict[str, Any]]] | None = None,
          alerting: Alerting | None = None) -> Facts:
    parsed = parse_job(job or BASE)
    cfg = parse_config(config or {})
    window = Window(NOW - timedelta(days=7), NOW)
    return Facts(job=parsed, window=window, now=NOW, settings=cfg.review_for(parsed.ref.name),
                 checks=checks or {}, environment_body=env if env is not None else ENV, executions_list=runs,
                 grants_list=grants, registries=registries or {}, vaults=vaults or {}, queues=queues or {},
                 owners=owners, channel=channel, unread=unread or {},
                 logs={name: QueryResult(tuple(rows)) for name, rows in (logs or {}).items()},
                 log_setup=LogSetup("3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", "log-analytics"), alerting_read=alerting)


def changed(path: str, value: Any) -> dict[str, Any]:
    """BASE with one key set (a dotted path; lists by index)."""
    body = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is DELETE:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return body


DELETE = object()
CONF = "properties.configuration"
SCALE = f"{CONF}.eventTriggerConfig.scale"
CONTAINER = "properties.template.containers.0"


def status(rule_id: str, f: Facts) -> Status:
    return by_id(rule_id).evaluate(f).status


def test_the_registry_holds_the_45_rules_of_the_design_in_order() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == 45 == len(set(ids))
    assert ids[0] == "SEC-01" and ids[-1] == "OPS-07"


# --- security ---------------------------------------------------------------------------------------


def test_sec01_fails_without_a_managed_identity() -> None:
    assert status("SEC-01", facts()) is Status.OK
    assert status("SEC-01", facts(changed("identity", {"type": "None"}))) is Status.FAIL
    assert status("SEC-01", facts(changed("identity", DELETE))) is Status.FAIL


def test_sec02_warns_on_a_secret_kept_in_the_job() -> None:
    assert status("SEC-02", facts()) is Status.OK
    f = facts(changed(f"{CONF}.secrets", [{"name": "db", "keyVaultUrl": "https://kv/x"}, {"name": "plain"}]))
    finding = by_id("SEC-02").evaluate(f)
    assert finding.status is Status.WARN and "plain" in finding.title


def test_sec03_fails_on_a_credential_name_with_a_plain_value_and_never_shows_the_value() -> None:
    assert status("SEC-03", facts()) is Status.OK  # DB_PASSWORD is a secretRef
    env = [{"name": "DB_PASSWORD", "value": "hunter2-value"}, {"name": "QUEUE_NAME", "value": "q"}]
    finding = by_id("SEC-03").evaluate(facts(changed(f"{CONTAINER}.env", env)))
    assert finding.status is Status.FAIL and "DB_PASSWORD" in finding.title
    assert "hunter2" not in repr(finding)
    # A plain value under a harmless name is not a credential.
    assert status("SEC-03", facts(changed(f"{CONTAINER}.env", [{"name": "MODE", "value": "x"}]))) is Status.OK


def test_sec04_warns_on_a_connection_string_and_is_skipped_for_manual_jobs() -> None:
    assert status("SEC-04", facts()) is Status.OK
    rules = [{"name": "q", "type": "azure-queue", "metadata": {"queueName": "q"},
              "auth": [{"secretRef": "conn", "triggerParameter": "connection"}]}]
    assert status("SEC-04", facts(changed(f"{SCALE}.rules", rules))) is Status.WARN
    manual = facts(changed(f"{CONF}.triggerType", "Manual"))
    finding = by_id("SEC-04").evaluate(manual)
    assert finding.status is Status.SKIPPED and "Manual" in finding.title


def test_sec05_warns_on_a_password_and_fails_on_the_registry_admin_user() -> None:
    assert status("SEC-05", facts()) is Status.OK
    password = changed(f"{CONF}.registries", [{"server": "payacr.azurecr.io", "username": "u",
                                               "passwordSecretRef": "pw"}])
    assert status("SEC-05", facts(password)) is Status.WARN
    admin = by_id("SEC-05").evaluate(facts(password, registries={"payacr": {"properties": {"adminUserEnabled": True}}}))
    assert admin.status is Status.FAIL
    assert admin.evidence is not None and admin.evidence.path == "properties.adminUserEnabled"
    assert admin.fix is not None and admin.fix.verify == "az acr show --name payacr --query adminUserEnabled"


IDENTITY = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"  # BASE's principal


def test_sec06_fails_a_person_with_a_write_role_on_the_job_and_warns_on_many_writers() -> None:
    assert status("SEC-06", facts()) is Status.OK
    rg = f"/subscriptions/{SUB}/resourceGroups/rg"
    person = (Grant("u1", "Contributor", rg, "User"),)
    finding = by_id("SEC-06").evaluate(facts(grants=person))
    assert finding.status is Status.FAIL and "Contributor to u1" in finding.title
    # The same role to a group, or a person on the whole subscription, is counted but not a direct grant.
    assert status("SEC-06", facts(grants=(Grant("g1", "Contributor", rg, "Group"),))) is Status.OK
    assert status("SEC-06", facts(grants=(Grant("u1", "Owner", f"/subscriptions/{SUB}", "User"),))) is Status.OK
    # A reader, or a writer on another resource group, cannot change the job.
    assert status("SEC-06", facts(grants=(Grant("u1", "Reader", rg, "User"),))) is Status.OK
    assert status("SEC-06", facts(grants=(Grant("u1", "Owner", rg + "-other", "User"),))) is Status.OK
    six = tuple(Grant(f"g{i}", "Container Apps Contributor", rg, "Group") for i in range(6))
    assert status("SEC-06", facts(grants=six)) is Status.WARN  # more than max_writers (5)
    assert status("SEC-06", facts(grants=six, config={"review": {"max_writers": 6}})) is Status.OK


def test_sec07_fails_on_owner_warns_on_a_data_role_at_subscription_and_skips_without_identity() -> None:
    narrow = (Grant(IDENTITY, "Storage Queue Data Message Processor", f"/subscriptions/{SUB}/resourceGroups/rg/x"),)
    assert status("SEC-07", facts(grants=narrow)) is Status.OK
    owner = (Grant(IDENTITY, "Owner", f"/subscriptions/{SUB}/resourceGroups/rg"),)
    assert status("SEC-07", facts(grants=owner)) is Status.FAIL
    someone_else = (Grant("another-principal", "Owner", f"/subscriptions/{SUB}/resourceGroups/rg"),)
    assert status("SEC-07", facts(grants=someone_else)) is Status.OK  # SEC-06's business, not the identity's
    data = (Grant(IDENTITY, "Storage Blob Data Reader", f"/subscriptions/{SUB}"),)
    assert status("SEC-07", facts(grants=data)) is Status.WARN
    assert status("SEC-07", facts(changed("identity", {"type": "None"}))) is Status.SKIPPED
    failed = facts(grants=None, unread={"role assignments": "Azure role assignments answered HTTP 403"})
    finding = by_id("SEC-07").evaluate(failed)
    assert finding.status is Status.ERROR and "403" in finding.title


def test_cost08_judges_the_cost_tag_and_says_budgets_are_not_read() -> None:
    tagged = by_id("COST-08").evaluate(facts(changed("tags", {"owner": "team-ledger", "Cost-Center": "fin-42"})))
    assert tagged.status is Status.OK and "fin-42" in tagged.title and "budgets are not read" in tagged.title
    untagged = by_id("COST-08").evaluate(facts())  # BASE: owner and channel, no cost-center
    assert untagged.status is Status.WARN and "No cost-center tag" in untagged.title
    assert "budgets are not read" in untagged.title


def test_a_rule_whose_input_jobbot_does_not_read_is_an_error_that_says_which_read() -> None:
    env = {**ENV, "properties": {**ENV["properties"], "workloadProfiles": [
        {"name": "batch", "workloadProfileType": "D4", "minimumCount": 1, "maximumCount": 3}]}}
    finding = by_id("COST-06").evaluate(facts(changed("properties.workloadProfileName", "batch"), env=env))
    assert finding.status is Status.ERROR and "not read yet: needs the busy share" in finding.title


def test_sec09_judges_the_key_vault_a_secret_references() -> None:
    good = {"kv": {"properties": {"enableSoftDelete": True, "enablePurgeProtection": True,
                                  "enableRbacAuthorization": True}}}
    assert status("SEC-09", facts(vaults=good)) is Status.OK
    policies = {"kv": {"properties": {**good["kv"]["properties"], "enableRbacAuthorization": False}}}
    assert status("SEC-09", facts(vaults=policies)) is Status.WARN
    no_purge = {"kv": {"properties": {"enableSoftDelete": True, "enableRbacAuthorization": True}}}
    assert status("SEC-09", facts(vaults=no_purge)) is Status.WARN
    no_soft = {"kv": {"properties": {**good["kv"]["properties"], "enableSoftDelete": False}}}
    assert status("SEC-09", facts(vaults=no_soft)) is Status.FAIL
    missing = by_id("SEC-09").evaluate(facts(unread={"vault kv": "n/a: /subscriptions/…/vaults/kv does not exist"}))
    assert missing.status is Status.ERROR and "kv" in missing.title
    assert status("SEC-09", facts(changed(f"{CONF}.secrets", [{"name": "plain"}]))) is Status.SKIPPED


# --- cost -------------------------------------------------------------------------------------------


def test_cost01_prices_the_window_at_the_configured_rates_and_warns_over_budget() -> None:
    one = (run(60, 3600),)  # one hour of 0.5 vCPU + 1 GiB
    finding = by_id("COST-01").evaluate(facts(runs=one))
    assert finding.status is Status.OK and finding.money is not None
    assert finding.money.window == pytest.approx(3600 * (0.5 * 0.000024 + 1 * 0.000003))
    assert finding.money.month == pytest.approx(finding.money.window * 30 / 7, abs=0.01)
    rates = {"review": {"rates": {"vcpu_s": 0.001, "gib_s": 0.0}, "monthly_budget": 5}}
    over = by_id("COST-01").evaluate(facts(runs=one, config=rates))
    assert over.money is not None and over.money.window == pytest.approx(1.8)
    assert over.status is Status.WARN and "budget" in over.title  # 1.8 a week ≈ 7.7 a month > 5


def test_cost01_warns_when_spend_rose_by_half_against_the_previous_window() -> None:
    before = tuple(run(60 * 24 * 8 + i, 100) for i in range(4))
    now = tuple(run(60 + i, 100) for i in range(4))
    assert status("COST-01", facts(runs=before + now)) is Status.OK
    more = tuple(run(120 + i, 100) for i in range(3))
    assert status("COST-01", facts(runs=before + now + more)) is Status.WARN


def test_cost02_warns_on_a_warm_floor_or_fast_polling() -> None:
    assert status("COST-02", facts()) is Status.OK
    floor = by_id("COST-02").evaluate(facts(changed(f"{SCALE}.minExecutions", 1)))
    assert floor.status is Status.WARN and floor.money is not None
    assert floor.money.month == pytest.approx(86400 * 30 * (0.5 * 0.000024 + 0.000003), abs=0.01)
    assert status("COST-02", facts(changed(f"{SCALE}.pollingInterval", 5))) is Status.WARN
    assert status("COST-02", facts(changed(f"{SCALE}.pollingInterval", 10))) is Status.OK


def retries(*pairs: tuple[str, int, int]) -> dict[str, CheckResult]:
    found = RetriesEvidence(3, len(pairs), 0, 3, tuple(RetriedExecution(n, a, fa) for n, a, fa in pairs))
    return {"retries": ok_check("retries", found)}


def test_cost03_measures_the_share_spent_on_failed_attempts() -> None:
    runs = tuple(run(60 * i, 100, name=f"r{i}") for i in range(1, 11))  # ten equal executions
    assert status("COST-03", facts(runs=runs, checks=retries())) is Status.OK
    # one execution of ten, half of it failed attempts: 5 % of the spend
    assert status("COST-03", facts(runs=runs, checks=retries(("r1", 2, 1)))) is Status.OK
    # three executions wholly wasted except their last attempt (2 of 3 failed): 20 %
    three = retries(("r1", 3, 2), ("r2", 3, 2), ("r3", 3, 2))
    assert status("COST-03", facts(runs=runs, checks=three)) is Status.WARN
    five = retries(*((f"r{i}", 3, 2) for i in range(1, 6)))  # 33 %
    assert status("COST-03", facts(runs=runs, checks=five)) is Status.FAIL
    failed = {"retries": CheckResult("retries", CheckStatus.ERROR, "Could not check retries: timeout")}
    assert status("COST-03", facts(runs=runs, checks=failed)) is Status.ERROR


def test_cost04_warns_when_more_than_a_fifth_of_runs_are_empty() -> None:
    runs = tuple(run(60 * i, 5 if i <= 2 else 120) for i in range(1, 11))  # 2 of 10 empty: 20 %, not more
    assert status("COST-04", facts(runs=runs)) is Status.OK
    runs = tuple(run(60 * i, 5 if i <= 3 else 120) for i in range(1, 11))
    assert status("COST-04", facts(runs=runs)) is Status.WARN


def test_cost09_flags_a_job_idle_and_unchanged_for_long() -> None:
    assert status("COST-09", facts()) is Status.OK
    old = changed("systemData.lastModifiedAt", "2026-01-01T00:00:00Z")
    assert status("COST-09", facts(old, runs=(run(60 * 24 * 40, 100),))) is Status.WARN


# --- reliability ------------------------------------------------------------------------------------


def test_rel01_compares_the_timeout_with_the_run_times() -> None:
    assert status("REL-01", facts()) is Status.OK  # p95 ~139 s, timeout 600 s
    assert status("REL-01", facts(changed(f"{CONF}.replicaTimeout", 200))) is Status.WARN  # < 1.5 × p95
    assert status("REL-01", facts(changed(f"{CONF}.replicaTimeout", 130))) is Status.FAIL  # < p99
    assert status("REL-01", facts(changed(f"{CONF}.replicaTimeout", 4000))) is Status.WARN  # > max(20 × p95, 1 h)
    deadline = (*RUNS, run(30, 600, "Failed", reason="DeadlineExceeded"))
    assert status("REL-01", facts(runs=deadline)) is Status.FAIL
    short = facts(changed(f"{CONF}.replicaTimeout", 10), runs=())
    assert status("REL-01", short) is Status.WARN  # nothing succeeded to compare: 10 s is below min_timeout_s


def failures(*executions: ExecutionSummary) -> dict[str, CheckResult]:
    found = FailuresEvidence(len(executions), len(executions), 0, 0, None, None, executions)
    return {"failures": ok_check("failures", found)}


def test_rel02_warns_on_many_retries_or_retries_that_fail_the_same_way() -> None:
    assert status("REL-02", facts(checks=failures())) is Status.OK
    assert status("REL-02", facts(changed(f"{CONF}.replicaRetryLimit", 6), checks=failures())) is Status.WARN
    same = [ExecutionSummary(f"e{i}", "Failed", None, None, None, exit_codes=(1, 1), attempts=2) for i in range(4)]
    mixed = [ExecutionSummary("m", "Failed", None, None, None, exit_codes=(1, 2), attempts=2)]
    assert status("REL-02", facts(checks=failures(*same, *mixed))) is Status.WARN  # 4 of 5 = 80 %
    assert status("REL-02", facts(checks=failures(*same[:3], *mixed, *mixed))) is Status.OK  # 3 of 5


def test_rel03_fails_a_moving_tag_and_warns_without_a_digest() -> None:
    assert status("REL-03", facts()) is Status.OK
    for image in ("contoso.azurecr.io/app:latest", "contoso.azurecr.io/app"):
        assert status("REL-03", facts(changed(f"{CONTAINER}.image", image))) is Status.FAIL, image
    assert status("REL-03", facts(changed(f"{CONTAINER}.image", "contoso.azurecr.io/app:1.2"))) is Status.WARN
    allowed = {"review": {"allowed_registries": ["other.azurecr.io"]}}
    assert status("REL-03", facts(config=allowed)) is Status.WARN


SB_RULES = [{"name": "sb", "type": "azure-servicebus", "identity": "system",
             "metadata": {"namespace": "ns", "queueName": "orders", "messageCount": "1"}}]


def service_bus(lock_s: float = 300, deliveries: int = 10, dead: int = 0) -> dict[str, QueueDepth]:
    return {"sb": QueueDepth("azure-servicebus", "ns", "orders", 0, dead, lock_s, deliveries)}


def test_rel04_warns_on_many_deliveries_or_dead_letters_waiting() -> None:
    job = changed(f"{SCALE}.rules", SB_RULES)
    assert status("REL-04", facts(job, queues=service_bus())) is Status.OK
    assert status("REL-04", facts(job, queues=service_bus(deliveries=11))) is Status.WARN
    assert status("REL-04", facts(job, queues=service_bus(dead=3))) is Status.WARN
    unread = by_id("REL-04").evaluate(facts(job, unread={"queue sb": "Azure Service Bus (ARM) answered HTTP 403"}))
    assert unread.status is Status.ERROR and "403" in unread.title
    storage = by_id("REL-04").evaluate(facts())  # a Storage queue: no dead-letter queue, and none declared
    assert storage.status is Status.WARN and "No poison queue declared" in storage.title


def test_rel05_fails_a_lock_shorter_than_the_work() -> None:
    job = changed(f"{SCALE}.rules", SB_RULES)
    assert status("REL-05", facts(job, queues=service_bus(lock_s=300))) is Status.OK  # runs ~121-140 s
    finding = by_id("REL-05").evaluate(facts(job, queues=service_bus(lock_s=60)))
    assert finding.status is Status.FAIL and "second execution" in finding.title
    assert finding.fix is not None and finding.fix.verify.startswith("az servicebus queue show --name orders")
    assert status("REL-05", facts()) is Status.SKIPPED  # a Storage queue has no lock


def test_rel07_fails_a_suspended_job_or_a_silent_stop_with_work_waiting() -> None:
    assert status("REL-07", facts()) is Status.OK
    assert status("REL-07", facts(changed("properties.runningState", "Suspended"))) is Status.FAIL
    assert status("REL-07", facts(changed("properties.provisioningState", "Failed"))) is Status.FAIL
    stop = ChangeEvent(NOW - timedelta(minutes=30), "MICROSOFT.APP/JOBS/STOP/ACTION", "a@b.c", "Succeeded", JOB_ID)
    changes = ConfigChangesEvidence((stop,), (), None, None)
    waiting = QueueEvidence("azure-queue", "st", "q", 40, None, 1, 10, 10, 0)
    checks = {"config_changes": ok_check("config_changes", changes), "queue_depth": ok_check("queue_depth", waiting)}
    assert status("REL-07", facts(checks=checks)) is Status.FAIL  # last run started 60 min ago, before the stop
    assert status("REL-07", facts(runs=(*RUNS, run(10, 30)), checks=checks)) is Status.OK


def test_rel08_warns_on_an_environment_without_zone_redundancy() -> None:
    assert status("REL-08", facts()) is Status.OK
    env = {**ENV, "properties": {**ENV["properties"], "zoneRedundant": False}}
    assert status("REL-08", facts(env=env)) is Status.WARN
    base = facts()
    unread = Facts(base.job, base.window, base.now, base.settings, environment_body=None,
                   executions_list=RUNS, unread={"environment": "no answer within 4 s"})
    finding = by_id("REL-08").evaluate(unread)
    assert finding.status is Status.ERROR and "no answer within 4 s" in finding.title


def test_rel09_judges_the_failure_share_stuck_runs_and_the_scaler() -> None:
    ok = tuple(run(60 * i, 100) for i in range(1, 21))
    assert status("REL-09", facts(runs=ok)) is Status.OK
    one_bad = (*ok[:19], run(5, 10, "Failed"))  # 1 of 20 = 5 %, not more
    assert status("REL-09", facts(runs=one_bad)) is Status.OK
    assert status("REL-09", facts(runs=(*ok[:18], run(5, 10, "Failed"), run(6, 10, "Failed")))) is Status.WARN
    assert status("REL-09", facts(runs=ok[:15] + tuple(run(5 + i, 10, "Failed") for i in range(5)))) is Status.FAIL
    stuck = {"stuck_executions": ok_check("stuck_executions",
                                          StuckEvidence(10, (StuckExecution("e1", "Running", 9000, 10),)))}
    assert status("REL-09", facts(runs=ok, checks=stuck)) is Status.FAIL
    scaler = {"scaler": CheckResult("scaler", CheckStatus.FAIL, "KEDAScalerFailed x3")}
    assert status("REL-09", facts(runs=ok, checks=scaler)) is Status.FAIL


def test_rel10_fails_above_the_declared_downstream_limit() -> None:
    assert status("REL-10", facts()) is Status.OK
    assert status("REL-10", facts(changed(f"{SCALE}.maxExecutions", 60))) is Status.WARN  # undeclared and > 50
    declared = {"jobs": {"ledger": {"review": {"expected": {"downstream_max_concurrency": 8}}}}}
    assert status("REL-10", facts(config=declared)) is Status.FAIL  # 10 > 8, a per-job override
    assert status("REL-10", facts(config={"review": {"expected": {"downstream_max_concurrency": 10}}})) is Status.OK


# --- performance ------------------------------------------------------------------------------------


def test_perf03_warns_when_one_execution_is_started_per_more_messages_than_it_takes() -> None:
    assert status("PERF-03", facts()) is Status.OK
    rules = [{"name": "q", "type": "azure-queue", "metadata": {"queueName": "q"}}]  # KEDA's default 5
    assert status("PERF-03", facts(changed(f"{SCALE}.rules", rules))) is Status.WARN
    assert status("PERF-03", facts(changed(f"{SCALE}.rules", rules), config={"review": {
        "messages_per_execution": 5}})) is Status.OK


def test_perf04_measures_peak_concurrency_against_max_executions() -> None:
    assert status("PERF-04", facts()) is Status.OK
    overlapping = tuple(run(30, 600, name=f"o{i}") for i in range(9))  # 9 at once of 10
    assert status("PERF-04", facts(runs=overlapping)) is Status.WARN
    full = tuple(run(30, 600, name=f"o{i}") for i in range(10))
    deep = {"queue_depth": ok_check("queue_depth", QueueEvidence("azure-queue", "st", "q", 500, None, 1, 10, 10, 10))}
    assert status("PERF-04", facts(runs=full, checks=deep)) is Status.FAIL


def test_perf05_fails_on_exit_137_and_grades_memory_pressure() -> None:
    def memory(ratio: float) -> dict[str, CheckResult]:
        return {"memory": ok_check("memory", MemoryEvidence(ratio * 2**30, 2**30, ratio))}

    assert status("PERF-05", facts(checks=memory(0.84))) is Status.OK
    assert status("PERF-05", facts(checks=memory(0.85))) is Status.WARN
    assert status("PERF-05", facts(checks=memory(0.95))) is Status.FAIL
    killed = {"exit_codes": ok_check("exit_codes", ExitCodesEvidence((ExitCodeCount(137, 3, 3, "killed", None),)))}
    assert status("PERF-05", facts(checks={**memory(0.3), **killed})) is Status.FAIL
    skipped = {"memory": CheckResult("memory", CheckStatus.SKIPPED, "Skipped: no memory metric points.")}
    assert status("PERF-05", facts(checks=skipped)) is Status.SKIPPED


def test_perf07_warns_and_prices_replicas_nobody_waits_for() -> None:
    assert status("PERF-07", facts()) is Status.OK
    extra = changed(f"{CONF}.eventTriggerConfig.parallelism", 4)
    finding = by_id("PERF-07").evaluate(facts(extra))
    assert finding.status is Status.WARN and finding.money is not None
    whole = by_id("COST-01").evaluate(facts(extra)).money
    assert whole is not None and finding.money.window == pytest.approx(whole.window * 3 / 4, rel=1e-3)


# --- operations -------------------------------------------------------------------------------------


def test_ops01_fails_without_owner_and_warns_on_missing_tags_or_name() -> None:
    assert status("OPS-01", facts()) is Status.OK
    assert status("OPS-01", facts(owners=Owners(None))) is Status.FAIL
    assert status("OPS-01", facts(config={"review": {"required_tags": ["cost-center"]}})) is Status.WARN
    assert status("OPS-01", facts(config={"review": {"name_pattern": "caj-[a-z-]+"}})) is Status.WARN


def test_ops03_fails_when_the_environment_exports_no_logs() -> None:
    assert status("OPS-03", facts()) is Status.OK
    env = {**ENV, "properties": {"appLogsConfiguration": {"destination": "none"}}}
    assert status("OPS-03", facts(env=env)) is Status.FAIL


def test_ops05_warns_on_a_change_by_a_person_not_approved() -> None:
    write = ChangeEvent(NOW - timedelta(days=2), "MICROSOFT.APP/JOBS/WRITE", "deploy-pipeline", "Succeeded", JOB_ID)
    log = {"config_changes": ok_check("config_changes", ConfigChangesEvidence((write,), (), None, None))}
    assert status("OPS-05", facts(checks=log)) is Status.OK
    by_person = ChangeEvent(NOW - timedelta(days=1), "MICROSOFT.APP/JOBS/WRITE", "j.doe@contoso.com", "Succeeded",
                            JOB_ID)
    log_person = {"config_changes": ok_check("config_changes", ConfigChangesEvidence((by_person,), (), None, None))}
    assert status("OPS-05", facts(checks=log_person)) is Status.WARN
    assert status("OPS-05", facts(checks=log_person, config={"review": {
        "approved_callers": ["J.Doe@contoso.com"]}})) is Status.OK
    # Without the Activity Log, systemData still shows a change by hand; with neither, the rule cannot judge.
    by_hand = changed("systemData", {"lastModifiedBy": "j.doe@contoso.com", "lastModifiedByType": "User"})
    assert status("OPS-05", facts(by_hand)) is Status.WARN
    assert status("OPS-05", facts()) is Status.ERROR


def test_ops06_and_ops07_warn_on_an_unroutable_job_and_unrecorded_expectations() -> None:
    assert status("OPS-06", facts()) is Status.OK
    assert status("OPS-06", facts(channel=None)) is Status.WARN
    assert status("OPS-07", facts()) is Status.WARN
    assert status("OPS-07", facts(config={"review": {"expected": {"runs_per_day": 40}}})) is Status.OK


def test_a_rule_that_crashes_is_an_error_not_a_lost_review() -> None:
    broken = facts()
    object.__setattr__(broken, "executions_list", ("not an execution",))
    finding = by_id("REL-09").evaluate(broken)
    assert finding.status is Status.ERROR and "internal error" in finding.title


def test_review_settings_are_validated_and_a_job_overrides_only_what_it_sets() -> None:
    from bot.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config({"review": {"empty_run_s": "ten", "rates": {"vcpu_s": -1}},
                      "jobs": {"ledger": {"review": {"max_writer": 3}}}})
    problems = "\n".join(caught.value.problems)
    assert "review.empty_run_s" in problems and "review.rates.vcpu_s" in problems
    assert "jobs.ledger.review.max_writer" in problems
    config = parse_config({"review": {"empty_run_s": 20, "max_writers": 3},
                           "jobs": {"ledger": {"review": {"max_writers": 9}}}})
    mine = config.review_for("ledger")
    assert (mine.empty_run_s, mine.max_writers) == (20, 9)
    assert config.review_for("other").max_writers == 3


def test_cost05_warns_on_a_job_far_below_its_request_over_enough_runs() -> None:
    from bot.model import MetricSeries

    def cpu(cores: float) -> MetricSeries:
        return MetricSeries("UsageNanoCores", "NanoCores", ((NOW, cores * 1e9),))

    def memory(ratio: float) -> dict[str, CheckResult]:
        return {"memory": ok_check("memory", MemoryEvidence(ratio * 2**30, 2**30, ratio))}

    small = facts(checks=memory(0.2))
    small = Facts(small.job, small.window, small.now, small.settings, checks=small.checks, environment_body=ENV,
                  executions_list=RUNS, cpu=cpu(0.1))  # 20 runs; 0.1 of 0.5 vCPU = 20 %
    finding = by_id("COST-05").evaluate(small)
    assert finding.status is Status.WARN and finding.money is not None
    busy = Facts(small.job, small.window, small.now, small.settings, checks=small.checks, environment_body=ENV,
                 executions_list=RUNS, cpu=cpu(0.2))  # 40 % CPU: not oversized
    assert status("COST-05", busy) is Status.OK
    few = Facts(small.job, small.window, small.now, small.settings, checks=small.checks, environment_body=ENV,
                executions_list=RUNS[:19], cpu=cpu(0.1))
    assert status("COST-05", few) is Status.SKIPPED
    smallest = facts(changed(f"{CONTAINER}.resources", {"cpu": 0.25, "memory": "0.5Gi"}), checks=memory(0.2))
    assert status("COST-05", smallest) is Status.SKIPPED
    no_cpu = facts(checks=memory(0.2), unread={"cpu": "Azure Monitor answered HTTP 403"})
    finding = by_id("COST-05").evaluate(no_cpu)
    assert finding.status is Status.ERROR and "403" in finding.title


# --- the review's own log reads (execution_durations, log_volume, secret_shaped_logs, audit_activity,
# message_reprocessing): rows as the canned queries return them --------------------------------------


def startups(*seconds: float, pull: float | None = None) -> list[dict[str, Any]]:
    rows = []
    for i, s in enumerate(seconds):
        created = NOW - timedelta(hours=i + 1)
        row: dict[str, Any] = {"ExecutionName": f"ledger-{i}", "Created": created,
                               "Started": created + timedelta(seconds=s), "PullStarted": None, "Pulled": None}
        if pull is not None:
            row |= {"PullStarted": created, "Pulled": created + timedelta(seconds=pull)}
        rows.append(row)
    return rows


def test_perf01_adds_the_polling_interval_to_the_p95_start_up_against_the_pickup_objective() -> None:
    quick = facts(logs={"execution_durations": startups(4, 5, 6)})  # poll 30 s + 6 s
    assert status("PERF-01", quick) is Status.OK
    assert "36 s" in by_id("PERF-01").evaluate(quick).title
    slow = by_id("PERF-01").evaluate(facts(logs={"execution_durations": startups(80, 95, 100)}))
    assert slow.status is Status.WARN and "over the 120 s pickup objective" in slow.title
    lazy = facts(changed(f"{SCALE}.pollingInterval", 300), logs={"execution_durations": []})
    assert status("PERF-01", lazy) is Status.WARN  # the poll alone is too slow, whatever start-up takes
    assert status("PERF-01", facts(logs={"execution_durations": []})) is Status.SKIPPED  # nothing started
    manual = changed(f"{CONF}.triggerType", "Manual")
    assert status("PERF-01", facts(manual, logs={"execution_durations": startups(4)})) is Status.SKIPPED


def test_perf02_warns_on_a_slow_start_or_image_pull() -> None:
    assert status("PERF-02", facts(logs={"execution_durations": startups(4, 8, pull=3)})) is Status.OK
    slow = by_id("PERF-02").evaluate(facts(logs={"execution_durations": startups(4, 70, 90)}))
    assert slow.status is Status.WARN and "p95 start-up 90 s" in slow.title and "ledger-2" in slow.title
    pull = by_id("PERF-02").evaluate(facts(logs={"execution_durations": startups(45, pull=40)}))
    assert pull.status is Status.WARN and "image pull 40 s" in pull.title
    assert pull.fix is not None and pull.fix.verify.startswith("az monitor log-analytics query --workspace 3d2c")
    assert status("PERF-02", facts(logs={"execution_durations": []})) is Status.SKIPPED


def test_log_reads_that_failed_are_errors_with_the_reason_and_skipped_when_logs_go_nowhere() -> None:
    failed = facts(unread={"query execution_durations": "Log Analytics: 403 Forbidden"})
    finding = by_id("PERF-02").evaluate(failed)
    assert finding.status is Status.ERROR and "403 Forbidden" in finding.title
    nowhere = facts(unread={f"query {q}": "n/a: the environment sends logs to no workspace"
                            for q in ("execution_durations", "log_volume", "secret_shaped_logs", "audit_activity")})
    for rule_id in ("PERF-01", "PERF-02", "COST-07", "SEC-11", "SEC-08"):
        assert status(rule_id, nowhere) is Status.SKIPPED, rule_id


def test_cost07_warns_over_the_daily_log_volume_and_prices_it_when_a_rate_is_set() -> None:
    days = [{"Day": NOW - timedelta(days=d), "BilledBytes": b, "Records": 10} for d, b in ((2, 2e8), (1, 9e8))]
    ok = by_id("COST-07").evaluate(facts(logs={"log_volume": days}))
    assert ok.status is Status.OK and ok.money is None  # la_gb has no default: GB only
    loud = [*days, {"Day": NOW, "BilledBytes": 2.5e9, "Records": 99}]
    warn = by_id("COST-07").evaluate(facts(logs={"log_volume": loud}, config={"review": {"rates": {"la_gb": 2.3}}}))
    assert warn.status is Status.WARN and "2.50 GB" in warn.title
    assert warn.money is not None and warn.money.window == pytest.approx(3.6 * 2.3)
    assert status("COST-07", facts(logs={"log_volume": loud}, config={"review": {"log_gb_day": 3}})) is Status.OK


def test_sec11_fails_on_credential_shaped_console_lines_by_count_alone() -> None:
    assert status("SEC-11", facts(logs={"secret_shaped_logs": []})) is Status.OK
    rows = [{"Kind": "jwt", "Lines": 3, "Executions": 2, "FirstSeen": NOW, "LastSeen": NOW},
            {"Kind": "url-password", "Lines": 1, "Executions": 1, "FirstSeen": NOW, "LastSeen": NOW}]
    finding = by_id("SEC-11").evaluate(facts(logs={"secret_shaped_logs": rows}))
    assert finding.status is Status.FAIL and "4 console line(s)" in finding.title and "jwt 3" in finding.title
    assert finding.evidence is not None and finding.evidence.observed == {"lines": 4,
                                                                          "by_kind": {"jwt": 3, "url-password": 1}}


def activity(caller: str, operation: str, correlation: str, status_value: str = "Succeeded") -> dict[str, Any]:
    return {"TimeGenerated": NOW - timedelta(days=3), "OperationNameValue": operation,
            "ActivityStatusValue": status_value, "Caller": caller, "ResourceId": JOB_ID, "CorrelationId": correlation}


LIST_SECRETS = "MICROSOFT.APP/JOBS/LISTSECRETS/ACTION"
ROLE_WRITE = "Microsoft.Authorization/roleAssignments/write"
PIPELINE = "5e6f7081-92a3-4b4c-9d5e-6f708192a3b4"  # an application's object id


def test_sec08_fails_a_person_listing_secrets_and_warns_on_callers_not_approved() -> None:
    assert status("SEC-08", facts(logs={"audit_activity": []})) is Status.OK
    nameless = [activity("", ROLE_WRITE, "c0")]  # the Activity Log sometimes names no caller: nobody to judge
    assert status("SEC-08", facts(logs={"audit_activity": nameless})) is Status.OK
    change = [activity(PIPELINE, ROLE_WRITE, "c1", "Started"), activity(PIPELINE, ROLE_WRITE, "c1")]
    warn = by_id("SEC-08").evaluate(facts(logs={"audit_activity": change}))
    assert warn.status is Status.WARN and PIPELINE in warn.title
    approved = facts(logs={"audit_activity": change}, config={"review": {"approved_callers": [PIPELINE]}})
    assert status("SEC-08", approved) is Status.OK
    person = [*change, activity("mallory@contoso.com", LIST_SECRETS, "c2")]
    failed = by_id("SEC-08").evaluate(facts(logs={"audit_activity": person},
                                            config={"review": {"approved_callers": [PIPELINE]}}))
    assert failed.status is Status.FAIL and "mallory@contoso.com" in failed.title
    # An approved automation reading secrets is intentional.
    automation = facts(logs={"audit_activity": [activity(PIPELINE, LIST_SECRETS, "c3")]},
                       config={"review": {"approved_callers": [PIPELINE]}})
    assert status("SEC-08", automation) is Status.OK


REGEX = {"review": {"message_id_regex": r"message ([0-9a-f-]+)"}}


def reprocessing(messages: int, duplicated: int, extra: int) -> dict[str, list[dict[str, Any]]]:
    return {"message_reprocessing": [{"Messages": messages, "Duplicated": duplicated, "ExtraExecutions": extra}]}


def test_rel06_grades_the_share_of_messages_processed_twice_and_prices_the_extra_runs() -> None:
    assert status("REL-06", facts(logs=reprocessing(1000, 0, 0))) is Status.SKIPPED  # no regex configured
    assert status("REL-06", facts(config=REGEX, logs=reprocessing(1000, 5, 5))) is Status.OK  # 0.5 %: at the line
    warn = by_id("REL-06").evaluate(facts(config=REGEX, logs=reprocessing(1000, 20, 25)))
    assert warn.status is Status.WARN and "20 of 1000 messages (2.0%)" in warn.title
    per_run = sum(0.5 * 0.000024 * s + 0.000003 * s for s in (120 + h for h in range(1, 21))) / 20
    assert warn.money is not None and warn.money.window == pytest.approx(25 * per_run, abs=1e-4)
    assert status("REL-06", facts(config=REGEX, logs=reprocessing(100, 6, 6))) is Status.FAIL
    assert status("REL-06", facts(config=REGEX, logs={"message_reprocessing": []})) is Status.SKIPPED  # no id found
    failed = by_id("REL-06").evaluate(facts(config=REGEX, unread={"query message_reprocessing": "timed out"}))
    assert failed.status is Status.ERROR and "timed out" in failed.title


def test_the_message_id_regex_gives_the_query_its_first_group_and_the_audit_covers_group_and_vaults() -> None:
    from bot.review.gather import audit_scopes, message_id_pattern

    with_group = parse_config({"review": {"message_id_regex": r"msg=(\w+)"}}).review_for("ledger")
    whole = parse_config({"review": {"message_id_regex": r"msg-\d+"}}).review_for("ledger")
    assert message_id_pattern(with_group) == r"msg=(\w+)"
    assert message_id_pattern(whole) == r"(msg-\d+)"  # the whole match is the id
    assert message_id_pattern(parse_config({}).review_for("ledger")) is None
    assert audit_scopes(parse_job(BASE)) == sorted([
        JOB_ID.lower(), f"/subscriptions/{SUB}/resourcegroups/rg",
        f"/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv"])


# --- alert rules and action groups (OPS-02, OPS-04): ARM JSON as azure-mgmt-monitor serializes it ----------

INSIGHTS = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Insights"
GROUP_ID = f"{INSIGHTS}/actionGroups/ledger-oncall"


def metric_alert(name: str = "ledger-failed", *, metric: str = "Executions", scope: str = JOB_ID,
                 enabled: bool = True, group: str = GROUP_ID) -> dict[str, Any]:
    return {"id": f"{INSIGHTS}/metricAlerts/{name}", "name": name, "type": "Microsoft.Insights/metricAlerts",
            "properties": {"enabled": enabled, "scopes": [scope], "severity": 2,
                           "criteria": {"odata.type": "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                                        "allOf": [{"name": "failed", "metricName": metric, "operator": "GreaterThan",
                                                   "threshold": 0, "timeAggregation": "Total"}]},
                           "actions": [{"actionGroupId": group}]}}


def log_alert(query: str) -> dict[str, Any]:
    return {"id": f"{INSIGHTS}/scheduledQueryRules/ledger-log", "name": "ledger-log",
            "type": "microsoft.insights/scheduledqueryrules",
            "properties": {"enabled": True, "scopes": ["/subscriptions/x/resourceGroups/rg/providers/"
                                                       "Microsoft.OperationalInsights/workspaces/ws"],
                           "criteria": {"allOf": [{"query": query, "timeAggregation": "Count", "operator":
                                                   "GreaterThan", "threshold": 0}]},
                           "actions": {"actionGroups": [GROUP_ID]}}}


def activity_alert(operation: str, scope: str = f"/subscriptions/{SUB}/resourceGroups/rg") -> dict[str, Any]:
    name = operation.rsplit("/", 2)[-2]
    return {"id": f"{INSIGHTS}/activityLogAlerts/{name}", "name": name, "type": "Microsoft.Insights/ActivityLogAlerts",
            "properties": {"enabled": True, "scopes": [scope],
                           "condition": {"allOf": [{"field": "category", "equals": "Administrative"},
                                                   {"anyOf": [{"field": "operationName", "equals": operation}]}]},
                           "actions": {"actionGroups": [{"actionGroupId": GROUP_ID}]}}}


def action_group(*, webhook: str | None = "https://jobbot.contoso.com/alerts/azure-monitor?token=x",
                 email: bool = True, enabled: bool = True) -> dict[str, Any]:
    props: dict[str, Any] = {"groupShortName": "oncall", "enabled": enabled, "emailReceivers": [],
                             "webhookReceivers": []}
    if email:
        props["emailReceivers"] = [{"name": "oncall-mail", "emailAddress": "oncall@contoso.com"}]
    if webhook:
        props["webhookReceivers"] = [{"name": "jobbot", "serviceUri": webhook, "useCommonAlertSchema": True}]
    return {"id": GROUP_ID, "name": "ledger-oncall", "properties": props}


def alerted(*rules: dict[str, Any], group: dict[str, Any] | None = None) -> Alerting:
    kinds: dict[str, list[dict[str, Any]]] = {"metric": [], "scheduled_query": [], "activity_log": []}
    for r in rules:
        kind = {"metricalerts": "metric", "scheduledqueryrules": "scheduled_query", "activitylogalerts": "activity_log"}
        kinds[kind[r["id"].split("/")[-2].lower()]].append(r)
    return Alerting(kinds, {GROUP_ID.lower(): group if group is not None else action_group()})


def test_ops02_passes_an_enabled_alert_on_the_jobs_executions_that_reaches_jobbot() -> None:
    finding = by_id("OPS-02").evaluate(facts(alerting=alerted(metric_alert())))
    assert finding.status is Status.OK and "ledger-failed" in finding.title and "email oncall-mail" in finding.title
    assert "oncall@contoso.com" not in str(finding)  # receivers by name, never their address
    at_group = metric_alert(scope=f"/subscriptions/{SUB}/resourceGroups/rg")  # a rule on the group covers the job
    assert status("OPS-02", facts(alerting=alerted(at_group))) is Status.OK
    log = log_alert('ContainerAppSystemLogs_CL | where JobName_s == "ledger" and Reason_s == "BackoffLimitExceeded"')
    assert status("OPS-02", facts(alerting=alerted(log))) is Status.OK


def test_ops02_fails_without_an_enabled_rule_and_warns_when_nobody_or_not_jobbot_hears_it() -> None:
    assert status("OPS-02", facts(alerting=alerted())) is Status.FAIL
    for useless in (metric_alert(enabled=False), metric_alert(metric="UsageNanoCores"),
                    metric_alert(scope=JOB_ID.replace("ledger", "billing")),
                    log_alert('ContainerAppSystemLogs_CL | where JobName_s == "billing" and Reason_s == '
                              '"BackoffLimitExceeded"')):
        assert status("OPS-02", facts(alerting=alerted(useless))) is Status.FAIL, useless["name"]
    silent = by_id("OPS-02").evaluate(facts(alerting=alerted(metric_alert(),
                                                             group=action_group(webhook=None, email=False))))
    assert silent.status is Status.WARN and "notify nobody" in silent.title
    disabled = facts(alerting=alerted(metric_alert(), group=action_group(enabled=False)))
    assert status("OPS-02", disabled) is Status.WARN
    mail_only = by_id("OPS-02").evaluate(facts(alerting=alerted(metric_alert(), group=action_group(webhook=None))))
    assert mail_only.status is Status.WARN and "not jobbot" in mail_only.title


def test_ops04_wants_activity_log_alerts_on_job_writes_and_role_assignments() -> None:
    both = alerted(activity_alert("Microsoft.App/jobs/write"),
                   activity_alert("Microsoft.Authorization/roleAssignments/write", scope=f"/subscriptions/{SUB}"))
    assert status("OPS-04", facts(alerting=both)) is Status.OK
    half = by_id("OPS-04").evaluate(facts(alerting=alerted(activity_alert("Microsoft.App/jobs/write"))))
    assert half.status is Status.WARN and "role assignment changes" in half.title
    assert status("OPS-04", facts(alerting=alerted())) is Status.WARN
    elsewhere = alerted(activity_alert("Microsoft.App/jobs/write", scope=f"/subscriptions/{SUB}/resourceGroups/other"),
                        activity_alert("Microsoft.Authorization/roleAssignments/write"))
    assert "job changes" in by_id("OPS-04").evaluate(facts(alerting=elsewhere)).title


def test_alert_rules_that_could_not_be_read_are_errors_with_the_reason() -> None:
    failed = facts(unread={"alert rules": "Azure Monitor alert rules: 403 AuthorizationFailed"})
    for rule_id in ("OPS-02", "OPS-04"):
        finding = by_id(rule_id).evaluate(failed)
        assert finding.status is Status.ERROR and "403 AuthorizationFailed" in finding.title
