"""Bad input on the command line exits 2 with one line saying what is wrong, for every command."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import EXIT_USAGE, main

# Every command that takes --scenario, with what else it needs to get that far.
COMMANDS = {
    "triage": ["triage", "payment-reconciler", "--scenario"],
    "demo": ["demo", "--scenario"],
    "serve": ["serve", "--scenario"],
    "emulator": ["emulator", "--scenario"],
}


@pytest.fixture(autouse=True)
def no_scenario_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBBOT_SCENARIO", raising=False)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("problem", ["missing", "a directory"])
def test_a_missing_or_unreadable_scenario_file_is_bad_input(
    command: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nope.yaml" if problem == "missing" else tmp_path
    assert main([*COMMANDS[command], str(path)]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith(f"jobbot: scenario file {path}: ")
    assert ("No such file" in line) if problem == "missing" else ("directory" in line)


def test_an_invalid_scenario_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [\n", encoding="utf-8")
    assert main(["triage", "payment-reconciler", "--scenario", str(bad)]) == EXIT_USAGE
    assert str(bad) in capsys.readouterr().err


def test_the_scenario_from_the_environment_is_checked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JOBBOT_SCENARIO", str(tmp_path / "gone.yaml"))
    assert main(["triage", "payment-reconciler"]) == EXIT_USAGE
    assert "gone.yaml" in capsys.readouterr().err


def test_an_internal_error_is_one_line_and_verbose_shows_the_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import bot.cli

    def broken(args: object) -> int:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(bot.cli, "_triage", broken)
    assert bot.cli.main(["triage", "orders-processor"]) == 1
    err = capsys.readouterr().err
    assert err == "jobbot: internal error (ZeroDivisionError: a bug); --verbose shows the traceback\n"
    with pytest.raises(ZeroDivisionError):
        bot.cli.main(["--verbose", "triage", "orders-processor"])
