"""What a person at a terminal gets beyond the report: progress while a triage runs, and shell completion."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from bot.model import CheckResult, CheckStatus
from bot.respond.progress import check_progress
from tests.test_entrypoints_cli import OOM, ROOT, jobbot, jobbot_env


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_each_finished_check_is_one_line_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    stream = Terminal()
    show = check_progress(stream)
    assert show is not None
    await show(CheckResult("failures", CheckStatus.FAIL, "12 of 14 executions failed"))
    await show(CheckResult("queue_depth", CheckStatus.OK, "x" * 500))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "  [FAIL] failures          12 of 14 executions failed"
    assert lines[1].endswith("…") and len(lines[1]) == 60  # cut to the terminal, never wrapped


def test_nothing_is_printed_when_the_output_is_not_a_terminal() -> None:
    assert check_progress(io.StringIO()) is None


def judged_on_content_not_speed(cwd: Path) -> None:
    """A ./jobbot.yaml (read as a user's would be) with 30 s per check: the default 4 s runs out on a loaded
    machine, and a check that times out shows as one, not as what it found."""
    (cwd / "jobbot.yaml").write_text("azure:\n  check_deadline_s: 30\n")


def test_a_triage_on_a_terminal_shows_its_checks_on_stderr_and_keeps_stdout_the_report(tmp_path: Path) -> None:
    # stderr is a pseudo-terminal, as in a person's shell; stdout is a pipe (as with `| less`).
    judged_on_content_not_speed(tmp_path)
    leader, follower = pty.openpty()
    try:
        process = subprocess.run([sys.executable, "-m", "bot.cli", "triage", "orders-processor", "--scenario",
                                  str(OOM)], cwd=tmp_path, env=jobbot_env(), stdout=subprocess.PIPE,
                                 stderr=follower, text=True, timeout=300, check=False)
        os.close(follower)
        progress = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            progress += chunk
    finally:
        os.close(leader)
    assert process.returncode == 0
    text = progress.decode()
    assert "[FAIL] failures" in text and "[FAIL] queue_depth" in text  # one line per check, as they finish
    assert "[FAIL] failures" not in process.stdout.split("VERDICT")[0]  # the report is not mixed with progress


def test_a_triage_piped_prints_no_progress(tmp_path: Path) -> None:
    judged_on_content_not_speed(tmp_path)
    done = jobbot("triage", "orders-processor", "--scenario", str(OOM), cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""


@pytest.mark.parametrize("shell", ["bash", "zsh", "tcsh"])
def test_completion_scripts_know_every_command(shell: str) -> None:
    done = jobbot("completion", shell)
    assert done.returncode == 0
    for command in ("triage", "demo", "serve", "doctor", "emulator", "completion"):
        assert command in done.stdout


def test_bash_completes_commands_and_flags() -> None:
    script = jobbot("completion", "bash").stdout
    probe = """
    source /dev/stdin
    complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE};
                       COMPREPLY=(); _shtab_jobbot; printf '%s\\n' "${COMPREPLY[@]}"; echo --; }
    complete_words jobbot do
    complete_words jobbot triage --fo
    """
    done = subprocess.run(["bash", "-c", probe + "\n"], input=script, capture_output=True, text=True, timeout=60,
                          check=False, cwd=ROOT)
    first, second, _ = done.stdout.split("--\n")
    assert first.split() == ["doctor"]
    assert second.split() == ["--format"]
