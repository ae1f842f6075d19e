"""The `jobbot` command line as a user runs it: a separate process, its exit code and what it prints.

`jobbot demo` (every bundled scenario), `jobbot emulator --scenario …` (read its printed URLs, make one real
request, stop it) and `jobbot triage JOB --scenario …` in its default text format.
"""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from bot.assets import bundled_scenarios

ROOT = Path(__file__).resolve().parent.parent
OOM = ROOT / "scenarios" / "oom-after-image-change.yaml"
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"


def jobbot_env() -> dict[str, str]:
    """The environment of a user's shell, without proxies (loopback only) nor any jobbot setting."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith(("JOBBOT_", "SLACK_"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def jobbot(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=jobbot_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_triage_in_text_format_prints_the_verdict_the_checks_and_the_runbook(tmp_path: Path) -> None:
    # Judged on the verdict, not on speed: the default 4 s per check runs out on a loaded machine, and a check
    # that times out turns the evidence incomplete (./jobbot.yaml is read as a user's would be).
    (tmp_path / "jobbot.yaml").write_text("azure:\n  check_deadline_s: 30\n")
    done = jobbot("triage", "orders-processor", "--scenario", str(OOM), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith(f"orders-processor  (rg-orders, subscription {SUBSCRIPTION})\n")
    assert "window 2026-11-28T09:00:00Z .. 2026-11-28T10:00:00Z" in out
    assert "VERDICT  oom  (confidence high)" in out
    assert "12 of 14 executions in the last hour failed; 12 were killed with exit code 137" in out
    assert ("suspected change at 2026-11-28T09:02:07Z by deployer@contoso.com: image contoso.azurecr.io/orders:1.4.2"
            " → contoso.azurecr.io/orders:1.5.0") in out
    assert "rollback candidate: contoso.azurecr.io/orders:1.4.2 (last success 2026-11-28T09:04:18Z)" in out
    assert re.search(r"\[FAIL\] queue_depth +1520 messages in stordersprod/orders", out)
    assert "orders-processor-ttiz3           Failed     start 2026-11-28T09:51:57Z  exit 137" in out
    assert "RUNBOOK  Executions are killed at the memory limit (exit 137)" in out
    assert not out.lstrip().startswith("{"), "text, not JSON, by default"


def test_triage_of_an_unknown_job_exits_3_and_says_so(tmp_path: Path) -> None:
    done = jobbot("triage", "orders-procesor", "--scenario", str(OOM), cwd=tmp_path)
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.startswith("jobbot: ") and "orders-procesor" in done.stderr and "not found" in done.stderr


def test_triage_with_a_bad_window_exits_2_before_reading_azure(tmp_path: Path) -> None:
    done = jobbot("triage", "orders-processor", "--since", "forever", "--scenario", str(OOM), cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("jobbot: ")


def test_demo_triages_every_bundled_scenario_and_shows_one_in_full(tmp_path: Path) -> None:
    # 45 worlds one after another (163 s on a quiet core here): judged on what each concludes, not on speed;
    # a loaded machine ran out of the 300 s other commands get.
    scenarios = bundled_scenarios()
    done = jobbot("demo", cwd=tmp_path, timeout=1200)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    assert out.startswith(f"jobbot demo: {len(scenarios)} scenarios, each served by the local Azure emulator")
    for path in scenarios:
        world = yaml.safe_load(path.read_text())
        expect = world.get("expect") or {}
        job = expect.get("job") or world["jobs"][0]["name"]
        line = next((x for x in out.splitlines() if x.startswith(("ok ", "!! ")) and x.split()[1] == world["name"]),
                    None)
        assert line is not None, f"{path.name} is not in the demo's list"
        assert line.startswith("ok ") and line.split()[2] == job, line
        if expect.get("cause"):
            assert f"-> {expect['cause']} (" in line, line
    assert "--- orders-processor: the terminal report (jobbot triage) ---" in out
    assert "VERDICT  oom  (confidence high)" in out
    assert "--- orders-processor: what the channel sees in Slack (" in out
    assert out.rstrip().endswith(f"{len(scenarios)} of {len(scenarios)} scenarios concluded as expected.")


def test_demo_exits_1_when_a_scenario_concludes_otherwise_than_it_expects(tmp_path: Path) -> None:
    world = yaml.safe_load(OOM.read_text())
    world["expect"]["cause"] = "timeout"
    wrong = tmp_path / "wrong-expectation.yaml"
    wrong.write_text(yaml.safe_dump(world, sort_keys=False))
    done = jobbot("demo", "--scenario", str(wrong), cwd=tmp_path)
    assert done.returncode == 1
    assert re.search(r"^!! \S+ +orders-processor +-> oom \(high\)  \[expected timeout\]$", done.stdout, re.M)
    assert "0 of 1 scenarios concluded as expected." in done.stdout


def as_in_a_terminal() -> None:
    """Ctrl-C reaches the process: a test run started in the background (nohup, `&`) ignores SIGINT, and its
    children would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_emulator_prints_its_urls_serves_a_real_read_and_stops_on_sigint(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "emulator", "--scenario", str(OOM)], cwd=tmp_path,
                               env={**jobbot_env(), "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=as_in_a_terminal)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while not lines or lines[-1] != "Ctrl-C to stop.\n":
            line = process.stdout.readline()
            assert line, f"the emulator ended early ({process.poll()}): {''.join(lines)}"
            lines.append(line)
            assert time.monotonic() < deadline, "the emulator did not print its URLs in time"
        banner = "".join(lines)
        url = re.search(r"scenario 'oom-after-image-change' on (https://127\.0\.0\.1:\d+)", banner)
        ca_file = re.search(r"CA file +(\S+)", banner)
        assert url is not None and ca_file is not None, banner
        assert f"ARM base URL            {url[1]}" in banner
        assert f"Storage account URL     {url[1]}/<account>" in banner

        verify = ssl.create_default_context(cafile=ca_file[1])
        job = (f"{url[1]}/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-orders/providers/Microsoft.App/jobs/"
               "orders-processor")
        answer = httpx.get(job, params={"api-version": "2025-01-01"}, headers={"Authorization": "Bearer test"},
                           verify=verify, trust_env=False, timeout=20)
        assert answer.status_code == 200, answer.text
        assert answer.json()["name"] == "orders-processor"
        assert answer.json()["properties"]["template"]["containers"][0]["image"] == "contoso.azurecr.io/orders:1.5.0"
        refused = httpx.get(job, params={"api-version": "2025-01-01"}, verify=verify, trust_env=False, timeout=20)
        assert refused.status_code == 401, "Azure routes need a bearer token"

        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "jobbot emulator: stopped." in out
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
