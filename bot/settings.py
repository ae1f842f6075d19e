"""Process settings from the environment: one frozen object, every problem reported at once, secrets
hidden from repr. Nothing reads the environment at import time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from bot.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///./jobbot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True, slots=True)
class Settings:
    slack_bot_token: str = field(default="", repr=False)
    slack_signing_secret: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    config_path: Path | None = None
    scenario: Path | None = None
    alert_token: str = field(default="", repr=False)
    alert_channel: str | None = None
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)  # may carry a password
    port: int = 3000
    migrate: bool = True  # JOBBOT_MIGRATE=0: never change the schema at start-up (run `jobbot migrate`)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a message, a log line or the audit trail."""
        hidden = [f.name for f in fields(self) if not f.repr]
        values = [str(getattr(self, name)) for name in hidden]
        return tuple(v for v in values if v and v != DEFAULT_DATABASE_URL)


def environment_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The secret values the environment holds, for commands that do not need valid settings (the CLI)."""
    env = os.environ if environ is None else environ
    names = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "JOBBOT_ALERT_TOKEN",
             "JOBBOT_DATABASE_URL")
    return tuple(env[n] for n in names if env.get(n) and env[n] != DEFAULT_DATABASE_URL)


def load_settings(environ: Mapping[str, str] | None = None, *, for_serve: bool = False) -> Settings:
    env = os.environ if environ is None else environ
    problems: list[str] = []
    port_text = env.get("PORT", "3000")
    port = 3000
    try:
        port = int(port_text)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        problems.append(f"PORT: {port_text!r} is not a port number")
    config = env.get("JOBBOT_CONFIG")
    config_path = Path(config) if config else (Path("jobbot.yaml") if Path("jobbot.yaml").exists() else None)
    if config and not Path(config).exists():
        problems.append(f"JOBBOT_CONFIG: {config} does not exist")
    scenario = env.get("JOBBOT_SCENARIO")
    if scenario and not Path(scenario).exists():
        problems.append(f"JOBBOT_SCENARIO: {scenario} does not exist")
    settings = Settings(
        slack_bot_token=env.get("SLACK_BOT_TOKEN", ""),
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
        slack_app_token=env.get("SLACK_APP_TOKEN", ""),
        slack_api_url=env.get("JOBBOT_SLACK_API_URL") or DEFAULT_SLACK_API_URL,
        config_path=config_path,
        scenario=Path(scenario) if scenario else None,
        alert_token=env.get("JOBBOT_ALERT_TOKEN", ""),
        alert_channel=env.get("JOBBOT_ALERT_CHANNEL") or None,
        database_url=env.get("JOBBOT_DATABASE_URL") or DEFAULT_DATABASE_URL,
        port=port,
        migrate=env.get("JOBBOT_MIGRATE", "1").strip().lower() not in ("0", "false", "no", "off"),
    )
    if for_serve:
        if not settings.slack_bot_token:
            problems.append("SLACK_BOT_TOKEN: required for serve")
        if not settings.slack_signing_secret and not settings.slack_app_token:
            problems.append("SLACK_SIGNING_SECRET: required for serve (or SLACK_APP_TOKEN for Socket Mode)")
    if problems:
        raise ConfigError(problems)
    return settings
