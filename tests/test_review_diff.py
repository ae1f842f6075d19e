"""`jobbot review JOB --diff --at TIME | --before FILE`: what changed, which rules it broke or fixed, and equal windows
before and after the change compared — run as a user runs it, against the local emulator serving
review-diff-timeout-cut (replicaTimeout 1800 → 300 and maxExecutions 60 → 8 three days ago, a plain token rotated)."""

from __future__ import annotations

import asyncio
import copy
import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.azure.resources import parse_execution
from bot.azure.resources import parse_job as parse_definition
from bot.azure.wiring import azure_readers
from bot.config_schema import Rates
from bot.emulator.scenario import load_scenario
from bot.intake import parse_job
from bot.review.cost import runtime_s
from bot.review.diff import diff_to_dict
from bot.review.diff_service import DiffRequest, review_diff
from bot.scenario_mode import scenario_world
from bot.store import Store
from tests.support.db import sqlite_url

ROOT = Path(__file__).resolve().parent.parent
WORLD = ROOT / "scenarios" / "review-diff-timeout-cut.yaml"
JOB = "invoice-render"
TOKEN_NOW = "rt-live-7Hq2Xv9KpL4mN8sW"  # RENDER_API_TOKEN's plain value now, and before the rotation:
TOKEN_BEFORE = "rt-live-3Fd8Zc1QwE6yU0bA"  # neither may ever be printed
CHANGED_AT = datetime(2026, 12, 5, 11, 56, 9, tzinfo=UTC)  # when Resource Graph recorded the write


def jobbot(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    config = tmp / "jobbot.yaml"
    config.write_text("azure:\n  check_deadline_s: 30\n")  # judged on outcomes, not speed
    clean = {k: v for k, v in os.environ.items()
             if "proxy" not in k.lower() and not k.startswith(("JOBBOT_", "SLACK_"))}
    clean.update(PYTHONPATH=str(ROOT), JOBBOT_CONFIG=str(config))
    return subprocess.run([sys.executable, "-m", "bot.cli", "review", JOB, "--scenario", str(WORLD), *args], cwd=tmp,
                          env=clean, capture_output=True, text=True, timeout=300, check=False)


def saved_definition() -> dict[str, Any]:
    """The job as a rollback checklist would have saved it before the change (`az containerapp job show`)."""
    job = copy.deepcopy(next(j for j in load_scenario(WORLD).jobs if j["name"] == JOB))
    job.pop("executions", None)
    config = job["properties"]["configuration"]
    config["replicaTimeout"] = 1800
    config["eventTriggerConfig"]["scale"]["maxExecutions"] = 60
    for env in job["properties"]["template"]["containers"][0]["env"]:
        if env["name"] == "RENDER_API_TOKEN":
            env["value"] = TOKEN_BEFORE
    return job


def expected_side(start: datetime, end: datetime) -> dict[str, Any]:
    """The capacity figures of one window, counted from the scenario's executions directly."""
    job = next(j for j in load_scenario(WORLD).jobs if j["name"] == JOB)
    runs = [parse_execution(e) for e in job["executions"]]
    runs = [e for e in runs if e.start is not None and start <= e.start < end]
    seconds = [runtime_s(e, end) or 0.0 for e in runs]
    succeeded = sorted(s for e, s in zip(runs, seconds, strict=True) if e.status.value == "Succeeded")
    failed = sum(1 for e in runs if e.status.value == "Failed")
    rates = Rates()
    per_second = 0.5 * rates.vcpu_s + 1.0 * rates.gib_s  # each execution's template: 0.5 vCPU, 1 GiB
    return {"runs": len(runs), "p95_duration_s": succeeded[math.ceil(0.95 * len(succeeded)) - 1],  # nearest rank
            "failure_rate": round(failed / len(runs), 4),
            "cost_per_run": round(sum(seconds) * per_second / len(runs), 6)}


def test_diff_at_shows_the_changes_the_rules_they_broke_and_fixed_and_capacity_before_and_after(tmp_path: Path) -> None:
    done = jobbot("--diff", "--at", "2026-12-05T11:00Z", "--format", "json", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["kind"] == "review" and len(report["findings"]) == 45  # the review itself, unchanged
    diff = report["diff"]
    assert diff["before_source"] == "resource-graph" and diff["problems"] == []
    changes = {c["path"]: (c["before"], c["after"]) for c in diff["changes"]}
    assert changes["properties.configuration.replicaTimeout"] == (1800, 300)
    assert changes["properties.configuration.eventTriggerConfig.scale.maxExecutions"] == (60, 8)
    token = "properties.template.containers[name=worker].env[name=RENDER_API_TOKEN].value"
    assert changes[token] == ("changed", "changed")
    assert TOKEN_NOW not in done.stdout and TOKEN_BEFORE not in done.stdout
    rules = {r["id"]: r["change"] for r in diff["rules"]}
    assert rules["REL-01"] == "new fail"  # 380 s runs now hit the 300 s timeout
    assert rules["REL-10"] == "fixed"  # 60 replicas at once with no downstream limit declared; now 8
    [who] = diff["who"]
    assert (who["caller"], who["caller_kind"], who["client"]) == ("b.smith@contoso.com", "person", "Azure Portal")
    assert diff["changed_at"] == "2026-12-05T11:56:09Z"
    length = datetime(2026, 12, 8, 12, tzinfo=UTC) - CHANGED_AT
    before, after = diff["capacity"]["before"], diff["capacity"]["after"]
    for side, start, end in ((before, CHANGED_AT - length, CHANGED_AT), (after, CHANGED_AT, CHANGED_AT + length)):
        wanted = expected_side(start, end)
        assert {k: side[k] for k in wanted} == wanted
        assert side["runs_per_hour"] == round(wanted["runs"] / (length.total_seconds() / 3600), 3)
    assert (before["failure_rate"], after["failure_rate"]) == (0.0, 0.3333)
    assert (before["startup_p95_s"], after["startup_p95_s"]) == (6.0, 9.0)
    assert (before["peak_replicas"], before["capacity_replicas"]) == (3, 60)
    assert (after["peak_replicas"], after["capacity_replicas"]) == (3, 8)


def test_diff_before_file_compares_with_the_saved_definition_in_text(tmp_path: Path) -> None:
    saved = tmp_path / "before.yaml"
    saved.write_text(yaml.safe_dump(saved_definition()))  # the checklist saves `-o yaml`
    done = jobbot("--diff", "--before", str(saved), tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "before = the definition saved in before.yaml" in text
    assert "properties.configuration.replicaTimeout: 1800 → 300" in text
    assert "scale.maxExecutions: 60 → 8" in text
    assert "env[name=RENDER_API_TOKEN].value: changed" in text
    assert TOKEN_NOW not in text and TOKEN_BEFORE not in text
    # Without --at, the windows meet where the job was last modified (systemData.lastModifiedAt).
    assert "new fail       REL-01" in text and "fixed          REL-10" in text
    assert "capacity, 72.1 h before vs 72.1 h after 2026-12-05 11:56 UTC" in text


def test_an_unreadable_before_state_is_said_and_the_review_still_stands(tmp_path: Path) -> None:
    missing = jobbot("--diff", "--before", str(tmp_path / "nowhere.json"), "--format", "json", tmp=tmp_path)
    assert missing.returncode == 0, missing.stderr
    report = json.loads(missing.stdout)
    assert len(report["findings"]) == 45
    assert report["diff"]["before_source"] is None and report["diff"]["changes"] == []
    assert report["diff"]["problems"][0].startswith("could not read nowhere.json")
    garbage = tmp_path / "notes.txt"
    garbage.write_text("rolled back by hand, see thread\n")
    done = jobbot("--diff", "--before", str(garbage), tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "could not read notes.txt: not a job definition" in done.stdout


def test_diff_blocks_fit_slack_and_carry_the_diff(tmp_path: Path) -> None:
    from bot.slack.limits import check_blocks

    done = jobbot("--diff", "--at", "3d", "--format", "blocks", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    message = json.loads(done.stdout)
    assert check_blocks(message["blocks"]) == []
    text = json.dumps(message)
    assert "capacity" in text and TOKEN_NOW not in text


def test_diff_arguments_are_checked_before_anything_is_read(tmp_path: Path) -> None:
    for args, says in ((["--diff"], "--at TIME or --before FILE"), (["--at", "3d"], "go with --diff"),
                       (["--diff", "--at", "next tuesday"], "--at 'next tuesday'"),
                       (["--diff", "--at", "2026-12-09T00:00Z"], "must be in the past")):  # the scenario's past
        done = jobbot(*args, tmp=tmp_path)
        assert done.returncode == 2, (args, done.stdout)
        assert says in done.stderr


def run_diff(request: DiffRequest, store: Store | None, scenario: Path = WORLD) -> Any:
    with scenario_world(scenario) as world:
        async def run() -> Any:
            async with azure_readers(world.credential, world.endpoints, world.config) as readers:
                return await review_diff(parse_job(JOB), timedelta(days=7), request, readers, world.clock,
                                         world.config, parse=parse_definition,
                                         snapshots=store.snapshots if store else None)
        return asyncio.run(run())


def test_jobbots_own_snapshot_comes_first_and_reviews_keep_one_masked(tmp_path: Path) -> None:
    with Store.open(sqlite_url(tmp_path / "jobbot.db")) as store:
        job_id = next(j["id"] for j in load_scenario(WORLD).jobs if j["name"] == JOB)
        then = datetime(2026, 12, 4, 9, tzinfo=UTC)
        asyncio.run(store.snapshots.save(job_id, then, saved_definition()))
        _, diff = run_diff(DiffRequest(at="2026-12-05T10:00Z"), store)
        document = diff_to_dict(diff)
        assert document["before_source"] == "snapshot" and "2026-12-04 09:00 UTC" in document["before"]
        changes = {c["path"]: (c["before"], c["after"]) for c in document["changes"]}
        assert changes["properties.configuration.replicaTimeout"] == (1800, 300)
        # This review kept the job as it saw it, at the scenario's now, with the plain token masked.
        kept = asyncio.run(store.snapshots.at_or_before(job_id, datetime(2026, 12, 8, 12, tzinfo=UTC)))
        assert kept is not None and kept.taken_at == datetime(2026, 12, 8, 12, tzinfo=UTC)
        assert kept.definition["properties"]["configuration"]["replicaTimeout"] == 300
        assert TOKEN_NOW not in json.dumps(kept.definition)
        # Before the first snapshot there is none: Resource Graph's history is used instead.
        _, earlier = run_diff(DiffRequest(at="2026-12-03T10:00Z"), store)
        assert earlier.source == "resource-graph"
        # A snapshot the job changed after is not the job as it was at --at: said, and Resource Graph used.
        _, stale = run_diff(DiffRequest(at="2026-12-06T10:00Z"), store)
        assert stale.source == "resource-graph"
        assert "could not use jobbot's snapshot of 2026-12-04 09:00 UTC: the job changed after it, at " \
               "2026-12-05 11:56 UTC" in stale.problems


def test_without_resource_graph_the_last_execution_template_is_the_before_state(tmp_path: Path) -> None:
    world = load_scenario(WORLD).to_dict()
    world["faults"] = [{"target": "arm", "path": "/providers/Microsoft.ResourceGraph/resources", "status": 403}]
    refused = tmp_path / "no-resource-graph.yaml"
    refused.write_text(yaml.safe_dump(world))
    done = subprocess.run([sys.executable, "-m", "bot.cli", "review", JOB, "--scenario", str(refused), "--diff",
                           "--at", "2026-12-05T11:00Z", "--format", "json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False,
                          env={**{k: v for k, v in os.environ.items()
                                  if "proxy" not in k.lower() and not k.startswith(("JOBBOT_", "SLACK_"))},
                               "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    diff = json.loads(done.stdout)["diff"]
    assert diff["before_source"] == "executions" and "taken as unchanged" in diff["before"]
    assert any(p.startswith("could not read Resource Graph's change history") for p in diff["problems"])
    assert diff["changes"] == []  # the image and resources ran unchanged; scale and timeout are not in templates
    assert [w["caller"] for w in diff["who"]] == ["b.smith@contoso.com"]  # the Activity Log still says who
    assert diff["capacity"]["after"]["failure_rate"] == 0.3333


def test_a_plain_review_keeps_the_job_as_it_saw_it_masked(tmp_path: Path) -> None:
    from bot.review.service import review

    with Store.open(sqlite_url(tmp_path / "jobbot.db")) as store, scenario_world(WORLD) as world:
        async def run() -> None:
            async with azure_readers(world.credential, world.endpoints, world.config) as readers:
                await review(parse_job(JOB), timedelta(days=7), readers, world.clock, world.config,
                             snapshots=store.snapshots)
        asyncio.run(run())
        job_id = next(j["id"] for j in world.scenario.jobs if j["name"] == JOB)
        kept = asyncio.run(store.snapshots.at_or_before(job_id, world.clock.now()))
    assert kept is not None and kept.taken_at == datetime(2026, 12, 8, 12, tzinfo=UTC)
    worker = kept.definition["properties"]["template"]["containers"][0]
    assert worker["image"].startswith("billingacr.azurecr.io/billing/render:5.4.2")
    assert {e["name"]: e.get("value") for e in worker["env"]}["QUEUE_NAME"] == "invoice-events"  # kept as it was
    assert TOKEN_NOW not in json.dumps(kept.definition)  # a credential-named value: masked before it is stored


def test_a_known_secret_in_an_innocently_named_env_value_never_reaches_the_snapshots(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    planted = "5e2b8d0f7a4c1e9b3d6f0a2c8e5b7d1f"  # the signing secret, pasted into the job's env by mistake
    world = load_scenario(WORLD).to_dict()
    job = next(j for j in world["jobs"] if j["name"] == JOB)
    job["properties"]["template"]["containers"][0]["env"].append({"name": "REPORT_LOCALE", "value": planted})
    planted_world = tmp_path / "planted.yaml"
    planted_world.write_text(yaml.safe_dump(world))
    url = sqlite_url(tmp_path / "jobbot.db")
    Store.open(url).close()  # `jobbot migrate` done
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower() and not k.startswith(("JOBBOT_", "SLACK_"))}
    env.update(PYTHONPATH=str(ROOT), JOBBOT_DATABASE_URL=url, SLACK_SIGNING_SECRET=planted)
    done = subprocess.run([sys.executable, "-m", "bot.cli", "review", JOB, "--scenario", str(planted_world), "--diff",
                           "--at", "3d", "--format", "json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert planted not in done.stdout
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stored = [str(row[0]) for row in conn.execute(text("SELECT definition FROM review_snapshots"))]
    finally:
        engine.dispose()
    assert len(stored) == 1 and "REPORT_LOCALE" in stored[0]  # the review kept its snapshot …
    assert planted not in stored[0]  # … without the secret's value


def test_against_a_masked_snapshot_secret_like_values_are_said_not_compared(tmp_path: Path) -> None:
    from bot.review.diff import diff_text
    from bot.review.masking import mask_definition
    from bot.slack.review_diff_blocks import diff_blocks

    with Store.open(sqlite_url(tmp_path / "jobbot.db")) as store:
        job_id = next(j["id"] for j in load_scenario(WORLD).jobs if j["name"] == JOB)
        # As a review kept it: the token masked, so its rotation since cannot be seen from the snapshot.
        asyncio.run(store.snapshots.save(job_id, datetime(2026, 12, 4, 9, tzinfo=UTC),
                                         mask_definition(saved_definition())))
        _, diff = run_diff(DiffRequest(at="2026-12-05T10:00Z"), store)
        _, graph = run_diff(DiffRequest(at="2026-12-03T10:00Z"), store)  # before the snapshot: Resource Graph
    said = "secret-like values: not compared (jobbot's snapshots keep them masked)"
    assert diff.source == "snapshot"
    assert diff_to_dict(diff)["secret_like_values"] == "not compared (jobbot's snapshots keep them masked)"
    assert f"  {said}" in diff_text(diff, "USD")
    assert said in json.dumps(diff_blocks(diff, "USD"))
    # Resource Graph records the rotation itself: compared, shown as changed, nothing said.
    assert graph.source == "resource-graph" and diff_to_dict(graph)["secret_like_values"] is None
    assert not any("secret-like values" in line for line in diff_text(graph, "USD"))
    assert any(c.path.endswith("RENDER_API_TOKEN].value") for c in graph.changes)


def test_a_before_window_the_execution_history_does_not_reach_is_not_counted(tmp_path: Path) -> None:
    # As when ARM's list of ~100 recent executions ends inside the before window: only those since Dec 4 listed.
    cut = datetime(2026, 12, 4, tzinfo=UTC)
    world = load_scenario(WORLD).to_dict()
    job = next(j for j in world["jobs"] if j["name"] == JOB)
    job["executions"] = [e for e in job["executions"] if parse_execution(e).start >= cut]
    oldest = min(parse_execution(e).start for e in job["executions"])
    short = tmp_path / "short-history.yaml"
    short.write_text(yaml.safe_dump(world))
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith(("JOBBOT_", "SLACK_"))}
    env.update(PYTHONPATH=str(ROOT))
    args = [sys.executable, "-m", "bot.cli", "review", JOB, "--scenario", str(short), "--diff", "--at",
            "2026-12-05T11:00Z"]
    done = subprocess.run([*args, "--format", "json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    diff = json.loads(done.stdout)["diff"]
    said = f"could not compare capacity: the execution history reaches back only to {oldest:%Y-%m-%d %H:%M} UTC"
    assert said in diff["problems"]
    assert diff["capacity"]["before"] is None  # not a smaller count than there was
    length = datetime(2026, 12, 8, 12, tzinfo=UTC) - CHANGED_AT
    wanted = expected_side(CHANGED_AT, CHANGED_AT + length)  # the after window is wholly listed: still shown
    assert {k: diff["capacity"]["after"][k] for k in wanted} == wanted
    text = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert text.returncode == 0, text.stderr
    assert said in text.stdout and "(n/a vs " in text.stdout


def test_a_snapshot_nobody_could_check_for_later_changes_is_used_but_said(tmp_path: Path) -> None:
    refused = load_scenario(WORLD).to_dict()
    refused["faults"] = [{"target": "arm", "path": "/providers/Microsoft.ResourceGraph/resources", "status": 403}]
    no_graph = tmp_path / "no-resource-graph.yaml"
    no_graph.write_text(yaml.safe_dump(refused))
    unchecked = "could not check the job for changes after jobbot's snapshot of "
    with Store.open(sqlite_url(tmp_path / "jobbot.db")) as store:
        job_id = next(j["id"] for j in load_scenario(WORLD).jobs if j["name"] == JOB)
        older = saved_definition()
        older["properties"]["configuration"]["eventTriggerConfig"]["scale"]["maxExecutions"] = 40
        asyncio.run(store.snapshots.save(job_id, datetime(2026, 11, 20, 9, tzinfo=UTC), older))
        asyncio.run(store.snapshots.save(job_id, datetime(2026, 12, 4, 9, tzinfo=UTC), saved_definition()))
        _, checked = run_diff(DiffRequest(at="2026-12-05T10:00Z"), store)
        _, old = run_diff(DiffRequest(at="2026-11-22T00:00Z"), store)
        _, blind = run_diff(DiffRequest(at="2026-12-05T10:00Z"), store, no_graph)
    # Read, within Resource Graph's 14 days, no change after it: used and nothing said.
    assert checked.source == "snapshot" and not any(p.startswith(unchecked) for p in checked.problems)
    # Older than Resource Graph's 14 days: still the best before-state there is, but nobody checked it.
    assert old.source == "snapshot" and "2026-11-20 09:00 UTC" in old.note
    assert f"{unchecked}2026-11-20 09:00 UTC: it is older than the 14 days of change history Resource Graph " \
           "keeps" in old.problems
    # Resource Graph refused: the same.
    assert blind.source == "snapshot" and "2026-12-04 09:00 UTC" in blind.note
    assert any(p.startswith(f"{unchecked}2026-12-04 09:00 UTC: Resource Graph's change history unread (")
               for p in blind.problems)
