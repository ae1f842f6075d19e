"""`jobbot review JOB --evidence-pack DIR [--days N]` as an auditor runs it: a separate process against the local
emulator. The pack is reproducible (two runs, byte-identical files), its manifest's hashes are the files', it
lists the requests made, and no secret value planted in the job reaches any file."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.azure.credentials import reader_identity
from bot.azure.wiring import azure_readers
from bot.config import parse_config
from bot.errors import InvalidRequest
from bot.intake import parse_job
from bot.review.masking import mask_definition
from bot.review.pack_service import evidence_pack, parse_days
from bot.scenario_mode import scenario_world

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("review-clean", "review-official-example", "review-risky")
FILES = {"manifest.json", "job.json", "environment.json", "role-assignments.json", "identity-grants.json",
         "activity-log.json", "diagnostic-settings.json", "alert-rules.json", "owners.json",
         "executions-summary.json", "findings.json", "README.md"}
PLANTED_SECRET = "Pl4nted-S3cret-Value-0042"  # a secrets[].value (ARM never returns one; a payload might)
PLANTED_KEY = "Pl4ntedSASk3yValue0042abcdefgh="  # inside a connection string under an innocent name
PLAIN_PASSWORD = "Pl41n-T3xt-Pa55word!"  # review-risky's SQL_PASSWORD


def jobbot(*args: str, cwd: Path, **more_env: str) -> subprocess.CompletedProcess[str]:
    config = cwd / "jobbot.yaml"
    config.write_text("azure:\n  check_deadline_s: 30\n")  # judged on content, not speed
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith(("JOBBOT_", "SLACK_"))}
    env.update(PYTHONPATH=str(ROOT), JOBBOT_CONFIG=str(config), **more_env)
    return subprocess.run([sys.executable, "-m", "bot.cli", "review", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def job_name(stem: str) -> str:
    scenario = yaml.safe_load((ROOT / "scenarios" / f"{stem}.yaml").read_text())
    name: str = scenario["expect"]["job"]
    return name


def read_pack(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("stem", sorted(SCENARIOS))
def test_the_pack_is_reproducible_and_its_manifest_hashes_its_files(stem: str, tmp_path: Path) -> None:
    scenario = str(ROOT / "scenarios" / f"{stem}.yaml")
    job = job_name(stem)
    for run in ("first", "second"):
        done = jobbot(job, "--scenario", scenario, "--evidence-pack", run, "--days", "30", "--format", "json",
                      cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["kind"] == "review"  # the report is still printed
        assert f"evidence pack for {job} (30 days): 12 files in {run}" in done.stderr
    first, second = read_pack(tmp_path / "first"), read_pack(tmp_path / "second")
    assert set(first) == FILES
    assert first == second  # byte for byte
    manifest = json.loads(first["manifest.json"])
    assert set(manifest["files"]) == FILES - {"manifest.json"}
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256(first[name]).hexdigest(), name
        assert entry["bytes"] == len(first[name])
    for name, content in first.items():
        assert content.endswith(b"\n") and not content.endswith(b"\n\n"), name
    # Every request the review and the pack made, GETs and reads only, each with its API and version.
    requests = manifest["requests"]
    assert {r["method"] for r in requests} <= {"GET", "POST"}
    assert all(r["method"] == "GET" or r["api"] in ("log-analytics", "resource-graph") for r in requests)
    assert all(r["api_version"] for r in requests if r["api"] == "arm")
    assert all("?" not in r["path"] for r in requests)
    assert any(r["path"].lower().endswith(f"/microsoft.app/jobs/{job.lower()}") for r in requests)
    assert any(r["path"].endswith("/executions") for r in requests)
    assert manifest["reader"]["credential"].startswith("static token")
    findings = json.loads(first["findings.json"])
    assert findings["kind"] == "review" and len(findings["findings"]) == 45


def test_the_activity_log_shows_who_changed_access_and_the_same_world_in_any_order_gives_the_same_pack(
        tmp_path: Path) -> None:
    scenario = str(ROOT / "scenarios" / "change-role-assignment-deleted.yaml")
    done = jobbot("tax-docs", "--scenario", scenario, "--evidence-pack", "plain", "--days", "7", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # Azure promises no order: rows and lists served shuffled give the very same files.
    shuffled = jobbot("tax-docs", "--scenario", scenario, "--evidence-pack", "shuffled", "--days", "7", cwd=tmp_path,
                      JOBBOT_EMULATOR_SHUFFLE="1", JOBBOT_EMULATOR_SHUFFLE_SEED="7")
    assert shuffled.returncode == 0 and "shuffling rows and lists with seed 7" in shuffled.stderr, shuffled.stderr
    assert read_pack(tmp_path / "plain") == read_pack(tmp_path / "shuffled")
    activity = json.loads((tmp_path / "plain" / "activity-log.json").read_bytes())
    assert activity["window"] == {"days": 7, "start": "2026-12-16T11:00:00Z", "end": "2026-12-23T11:00:00Z"}
    deletes = [e for e in activity["entries"]
               if e["OperationNameValue"] == "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE"]
    assert {(e["Caller"], e["ActivityStatusValue"]) for e in deletes} == {
        ("iam-cleanup@contoso.com", "Started"), ("iam-cleanup@contoso.com", "Succeeded")}
    readme = (tmp_path / "plain" / "README.md").read_text()
    assert "iam-cleanup@contoso.com: MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE × 2" in readme
    manifest = json.loads((tmp_path / "plain" / "manifest.json").read_bytes())
    queries = [r for r in manifest["requests"] if r["api"] == "log-analytics"]
    # The review's queries of one window go as one request, which names each canned query it runs.
    named = {name for r in queries for name in (r["query"] or "").split(" + ")}
    assert named >= {"config_changes", "failed_executions", "execution_durations"}
    assert all(len(r["query_sha256"]) == 64 for r in queries)


def test_no_secret_value_reaches_any_file(tmp_path: Path) -> None:
    world = yaml.safe_load((ROOT / "scenarios" / "review-risky.yaml").read_text())
    job = world["jobs"][0]
    job["properties"]["configuration"]["secrets"][0]["value"] = PLANTED_SECRET
    job["properties"]["template"]["containers"][0]["env"].append(
        {"name": "EXPORT_TARGET", "value": "Endpoint=sb://sb-payments.servicebus.windows.net/;"
                                           f"SharedAccessKeyName=send;SharedAccessKey={PLANTED_KEY}"})
    planted = tmp_path / "planted.yaml"
    planted.write_text(yaml.safe_dump(world))
    done = jobbot("payments-export", "--scenario", str(planted), "--evidence-pack", "pack", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pack = read_pack(tmp_path / "pack")
    assert set(pack) == FILES
    for name, content in pack.items():
        for secret in (PLANTED_SECRET, PLANTED_KEY, PLAIN_PASSWORD):
            assert secret.encode() not in content, (name, secret)
    for output in (done.stdout, done.stderr):
        assert PLANTED_SECRET not in output and PLANTED_KEY not in output
    definition = json.loads(pack["job.json"])
    env = {e["name"]: e for e in definition["properties"]["template"]["containers"][0]["env"]}
    assert env["SQL_PASSWORD"]["value"] == "[REDACTED]"  # by its name
    assert env["EXPORT_FORMAT"]["value"] == "csv"  # ordinary values stay, they are evidence
    assert "SharedAccessKeyName=send" in env["EXPORT_TARGET"]["value"]  # by its shape, the key alone masked
    assert definition["properties"]["configuration"]["secrets"][0] == {"name": "servicebus-connection",
                                                                       "value": "[REDACTED]"}


@pytest.mark.parametrize(("args", "said"), [
    (["--evidence-pack", "p", "--days", "0"], "1 to 90"),
    (["--evidence-pack", "p", "--days", "91"], "Activity Log keeps 90 days"),
    (["--evidence-pack", "p", "--days", "a week"], "not a number of days"),
    (["--days", "30"], "give it with --evidence-pack DIR"),
])
def test_bad_pack_arguments_are_usage_errors(args: list[str], said: str, tmp_path: Path) -> None:
    done = jobbot("payments-export", "--scenario", str(ROOT / "scenarios" / "review-risky.yaml"), *args,
                  cwd=tmp_path)
    assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "p").exists()  # refused before anything was read or written


def test_a_file_where_the_pack_directory_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a directory")
    done = jobbot("payments-export", "--scenario", str(ROOT / "scenarios" / "review-risky.yaml"),
                  "--evidence-pack", "taken", cwd=tmp_path)
    assert done.returncode == 2 and "not a directory" in done.stderr


@given(st.integers(min_value=-1000, max_value=1000), st.sampled_from(["", "d", " ", "D"]))
def test_days_accept_1_to_90_and_nothing_else(days: int, suffix: str) -> None:
    text = f"{days}{suffix}"
    if 1 <= days <= 90:
        assert parse_days(text) == days
    else:
        with pytest.raises(InvalidRequest):
            parse_days(text)


@given(st.text(max_size=40))
def test_days_never_fail_other_than_with_a_usage_error(text: str) -> None:
    try:
        assert 1 <= parse_days(text or "30") <= 90
    except InvalidRequest as error:
        assert "1 to 90" in str(error)


def test_masking_keeps_references_and_masks_values() -> None:
    body = {"properties": {
        "configuration": {"secrets": [{"name": "a", "value": "v4lue-of-a-secret", "keyVaultUrl": "https://kv/x"}],
                          "registries": [{"server": "r.azurecr.io", "passwordSecretRef": "acr-pw"}]},
        "appLogsConfiguration": {"logAnalyticsConfiguration": {"customerId": "c", "sharedKey": "sh4red-key-value"}},
        "customDomainConfiguration": {"certificateValue": "cert-bytes-b64", "certificatePassword": "cert-pw-value"},
        "template": {"initContainers": [{"env": [{"name": "API_TOKEN", "value": "t0ken-value"},
                                                 {"name": "MODE", "value": "fast"},
                                                 {"name": "DB", "value": "postgres://u:pw-in-url@db/x"}]}]}}}
    masked = mask_definition(body)
    text = json.dumps(masked)
    for secret in ("v4lue-of-a-secret", "sh4red-key-value", "t0ken-value", "pw-in-url", "cert-bytes-b64",
                   "cert-pw-value"):
        assert secret not in text
    for kept in ("https://kv/x", "acr-pw", '"fast"', '"c"'):
        assert kept in text


@pytest.mark.parametrize("stem", SCENARIOS)
def test_the_manifest_lists_exactly_the_requests_the_emulator_answered(stem: str) -> None:
    """Proof from the other side of the wire: every request the emulator saw is in the manifest, no more, and
    each is a read jobbot is allowed to make (never listSecrets)."""
    path = ROOT / "scenarios" / f"{stem}.yaml"
    config = parse_config({"azure": {"check_deadline_s": 30}})
    with scenario_world(path, config) as world:

        async def run() -> dict[str, bytes]:
            async with azure_readers(world.credential, world.endpoints, world.config) as readers:
                _, files = await evidence_pack(parse_job(job_name(stem)), timedelta(days=7), 30, readers, world.clock,
                                               world.config, reader=reader_identity(scenario=True))
                return files

        files = asyncio.run(run())
        seen = list(world.emulator.requests)
    assert [(r.method, r.path) for r in seen if not r.allowed] == []
    assert not any(w in r.path.lower() for r in seen for w in ("listsecrets", "listkeys", "listcredentials"))
    manifest = json.loads(files["manifest.json"])
    listed = Counter({(r["method"], r["path"]): 0 for r in manifest["requests"]})
    for r in manifest["requests"]:
        listed[(r["method"], r["path"])] += r["attempts"]
    assert listed == Counter((r.method, r.path) for r in seen)
    assert {r["first_at"] for r in manifest["requests"]} == {manifest["generated_at"]}  # the scenario's clock


def test_the_pack_carries_jobbots_own_audit_entries_for_the_job(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bot.store import AuditEntry, Store

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    async def fill() -> None:
        with Store.open(url) as store:
            for action, actor, target in (("command:review", "U0LEAD", "payments-export"),
                                          ("click:approve-change", "U0OWNER", "payments-export"),
                                          ("command:rollback", "U0ONCALL", "payments-export"),
                                          ("command:triage", "U0ONCALL", "payments-export"),  # not an intent record
                                          ("command:review", "U0LEAD", "orders-processor")):  # another job
                await store.audit.record(AuditEntry(at, actor, "C0REV", action, target, f"{action} {target}", "ok", 5))

    asyncio.run(fill())
    done = jobbot("payments-export", "--scenario", str(ROOT / "scenarios" / "review-risky.yaml"), "--evidence-pack",
                  "pack", cwd=tmp_path, JOBBOT_DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    audit = json.loads((tmp_path / "pack" / "owners.json").read_bytes())["jobbot_audit"]
    when = "2026-11-30T09:00:00Z"
    assert [(e["action"], e["actor"], e["at"]) for e in audit] == [
        ("click:approve-change", "U0OWNER", when), ("command:review", "U0LEAD", when),
        ("command:rollback", "U0ONCALL", when)]
    readme = (tmp_path / "pack" / "README.md").read_text()
    assert "jobbot's audit trail holds 3 entries on reviews, approvals and rollbacks of this job, 1 of them approvals" \
        in readme


def test_without_a_store_the_pack_says_so_and_creates_none(tmp_path: Path) -> None:
    done = jobbot("payments-export", "--scenario", str(ROOT / "scenarios" / "review-risky.yaml"), "--evidence-pack",
                  "pack", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    audit = json.loads((tmp_path / "pack" / "owners.json").read_bytes())["jobbot_audit"]
    assert audit == {"not_read": "jobbot's audit trail: this jobbot has no store to read its audit trail from"}
    assert not (tmp_path / "jobbot.db").exists()
