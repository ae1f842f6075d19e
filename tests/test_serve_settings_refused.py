"""`jobbot serve` reads its settings from the environment and refuses a bad set at start, naming every
problem at once (exit 2, no traceback), so one restart fixes them all; secrets never show in a repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.errors import ConfigError
from bot.settings import DEFAULT_DATABASE_URL, environment_secrets, load_settings

VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "JOBBOT_ALERT_TOKEN", "JOBBOT_ALERT_CHANNEL",
             "JOBBOT_CONFIG", "JOBBOT_DATABASE_URL", "JOBBOT_SCENARIO", "JOBBOT_SLACK_API_URL", "PORT")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./jobbot.yaml unless a test writes one


def refused(environ: dict[str, str], *, for_serve: bool = False) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_settings(environ, for_serve=for_serve)
    return error.value.problems


def test_serve_with_everything_wrong_lists_every_problem_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "70000")
    monkeypatch.setenv("JOBBOT_CONFIG", "/nowhere/jobbot.yaml")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "jobbot: invalid configuration:",
        "  - PORT: '70000' is not a port number",
        "  - JOBBOT_CONFIG: /nowhere/jobbot.yaml does not exist",
        "  - SLACK_BOT_TOKEN: required for serve",
        "  - SLACK_SIGNING_SECRET: required for serve (or SLACK_APP_TOKEN for Socket Mode)",
        "  - `jobbot serve --help` lists every variable serve reads",
    ]


@pytest.mark.parametrize("port", ["http", "-1", "3000.5", ""])
def test_a_port_that_is_not_a_port_number_is_quoted_back(port: str) -> None:
    assert refused({"PORT": port}) == [f"PORT: {port!r} is not a port number"]


def test_a_scenario_file_that_does_not_exist_is_named() -> None:
    assert refused({"JOBBOT_SCENARIO": "scenarios/typo.yaml"}) == [
        "JOBBOT_SCENARIO: scenarios/typo.yaml does not exist"]


def test_serve_takes_socket_mode_in_place_of_a_signing_secret() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, for_serve=True)
    assert settings.slack_app_token == "xapp-1" and settings.slack_signing_secret == ""
    assert refused({"SLACK_SIGNING_SECRET": "s3cret"}, for_serve=True) == ["SLACK_BOT_TOKEN: required for serve"]


def test_commands_other_than_serve_need_no_slack_tokens_and_take_the_defaults() -> None:
    settings = load_settings({})
    assert (settings.port, settings.database_url, settings.alert_channel, settings.config_path) == (
        3000, DEFAULT_DATABASE_URL, None, None)
    assert settings.slack_api_url == "https://slack.com/api/"


def test_jobbot_yaml_in_the_working_directory_is_used_when_no_path_is_given(tmp_path: Path) -> None:
    (tmp_path / "jobbot.yaml").write_text("azure: {}\n")
    assert load_settings({}).config_path == Path("jobbot.yaml")
    explicit = tmp_path / "elsewhere.yaml"
    explicit.write_text("azure: {}\n")
    assert load_settings({"JOBBOT_CONFIG": str(explicit)}).config_path == explicit


def test_secrets_are_listed_for_redaction_and_hidden_from_repr() -> None:
    environ = {"SLACK_BOT_TOKEN": "xoxb-bot-secret", "SLACK_SIGNING_SECRET": "signing-secret",
               "JOBBOT_ALERT_TOKEN": "alert-secret", "JOBBOT_DATABASE_URL": "postgresql://jobbot:pw-secret@db/jobbot",
               "JOBBOT_ALERT_CHANNEL": "C0ALERTS"}
    settings = load_settings(environ)
    assert set(settings.secrets) == {"xoxb-bot-secret", "signing-secret", "alert-secret",
                                     "postgresql://jobbot:pw-secret@db/jobbot"}
    assert not any(secret in repr(settings) for secret in settings.secrets)
    assert "C0ALERTS" in repr(settings)  # a channel is not a secret: it helps whoever reads the log
    assert set(environment_secrets(environ)) == set(settings.secrets)


def test_the_default_database_url_is_not_a_secret_to_redact() -> None:
    # Redacting "sqlite:///./jobbot.db" would mangle every message that names the default store.
    assert load_settings({"JOBBOT_DATABASE_URL": DEFAULT_DATABASE_URL}).secrets == ()
    assert environment_secrets({"JOBBOT_DATABASE_URL": DEFAULT_DATABASE_URL, "SLACK_APP_TOKEN": ""}) == ()


@pytest.mark.parametrize("port", ["70000", "http", "-1"])
def test_a_port_option_that_is_not_a_port_number_is_refused_by_the_parser(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--port", port])
    assert stopped.value.code == 2
    assert f"argument --port: {port!r} is not a port number (0-65535)" in capsys.readouterr().err


def test_a_good_port_option_goes_on_to_the_settings_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "8080"]) == 2  # refused later: no Slack tokens and no scenario
    assert "  - SLACK_BOT_TOKEN: required for serve" in capsys.readouterr().err
