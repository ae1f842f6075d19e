"""Without the demo extra, `jobbot demo` or any `--scenario` says in one line what to install: exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.assets import bundled_scenarios
from bot.cli import EXIT_USAGE, main
from bot.errors import MissingExtra
from bot.extras import DEMO_MODULES
from bot.scenario_mode import scenario_world

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = str(bundled_scenarios()[0])
COMMANDS = {
    "demo": ["demo"],
    "triage": ["triage", "payment-reconciler", "--scenario", SCENARIO],
    "serve": ["serve", "--scenario", SCENARIO],
    "emulator": ["emulator", "--scenario", SCENARIO],
}


def test_demo_without_duckdb_exits_2_naming_the_extra_without_a_traceback() -> None:
    """As a user would see it: a fresh process in which duckdb cannot be imported."""
    code = "import sys; sys.modules['duckdb'] = None\nfrom bot.cli import main\nraise SystemExit(main(['demo']))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert "pip install 'jobbot[demo]'" in line and "duckdb" in line
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("module", DEMO_MODULES)
@pytest.mark.parametrize("command", COMMANDS)
def test_every_scenario_command_names_the_extra(
    command: str, module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("JOBBOT_SCENARIO", raising=False)
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    assert main(COMMANDS[command]) == EXIT_USAGE
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("jobbot: ") and module in line and "pip install 'jobbot[demo]'" in line


def test_scenario_mode_itself_refuses_with_the_same_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "duckdb_kql", None)
    with pytest.raises(MissingExtra, match=r"jobbot\[demo\]"), scenario_world(SCENARIO):
        pass
