"""What `jobbot serve` needs from the environment, and the start-up lines that say what it got.

One list feeds both `jobbot serve --help` and the start-up message, so the two cannot disagree. No
value is ever printed: only whether a variable is set.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from bot.errors import ConfigError
from bot.settings import Settings, load_settings

ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("SLACK_BOT_TOKEN", "bot token (xoxb-…); with no Slack tokens and --scenario, Slack is off"),
    ("SLACK_SIGNING_SECRET", "verifies Slack's requests to POST /slack/events (HTTP mode)"),
    ("SLACK_APP_TOKEN", "app-level token (xapp-…) for Socket Mode, instead of a public URL"),
    ("JOBBOT_ALERT_TOKEN", "secret the alert webhook requires; unset, it refuses every request"),
    ("JOBBOT_ALERT_CHANNEL", "channel for alerts whose job names none"),
    ("JOBBOT_CONFIG", "path of jobbot.yaml (default ./jobbot.yaml if present)"),
    ("JOBBOT_DATABASE_URL", "state store; PostgreSQL when several replicas run (default SQLite)"),
    ("JOBBOT_MIGRATE", "0: never change the store schema at start-up (run `jobbot migrate`; default 1)"),
    ("JOBBOT_SCENARIO", "same as --scenario"),
    ("PORT", "same as --port (default 3000)"),
    ("JOBBOT_HOST", "same as --host (default 0.0.0.0)"),
)


def environment_help() -> str:
    """The environment block of `jobbot serve --help`."""
    width = max(len(name) for name, _ in ENVIRONMENT)
    lines = [f"  {name:<{width}}  {meaning}" for name, meaning in ENVIRONMENT]
    return ("environment (Slack needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN;\n"
            "Azure is reached with DefaultAzureCredential: managed identity, or AZURE_* variables):\n"
            + "\n".join(lines))


def slack_is_on(settings: Settings) -> bool:
    """Slack needs the bot token and a way to receive: a signing secret (HTTP) or an app token (socket)."""
    return bool(settings.slack_bot_token and (settings.slack_signing_secret or settings.slack_app_token))


def startup_lines(settings: Settings, host: str) -> list[str]:
    """What `jobbot serve` says before it listens: where, which routes, and what is on or off and why."""
    from bot.features import ROUTES  # imports Slack's SDK: only when serving, not for --help

    routes = ["GET /healthz", "GET /readyz", "POST /slack/events",
              *(f"{'|'.join(r.methods)} {r.path}" for r in ROUTES)]
    lines = [f"jobbot serve: listening on http://{host}:{settings.port} ({', '.join(routes)})"]
    if not slack_is_on(settings):
        lines.append("  Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or SLACK_APP_TOKEN for "
                     "Socket Mode); /slack/events answers 503")
    else:
        ways = [w for w, on in (("HTTP events", settings.slack_signing_secret),
                                ("Socket Mode", settings.slack_app_token)) if on]
        lines.append(f"  Slack: on ({' and '.join(ways)})")
    if settings.alert_token:
        lines.append("  alert webhook: on (JOBBOT_ALERT_TOKEN is set)")
    else:
        lines.append("  alert webhook: refuses every request until JOBBOT_ALERT_TOKEN is set")
    if settings.scenario:
        lines.append(f"  Azure: the local emulator serving {settings.scenario} (scenario mode)")
    else:
        lines.append("  Azure: DefaultAzureCredential (managed identity, or AZURE_* variables)")
    return lines


def serve_settings(*, scenario: str | None, port: int | None) -> Settings:
    """Settings for `serve`. Slack tokens are required against Azure; with a scenario, Slack is optional."""
    try:
        settings = load_settings(for_serve=not scenario)
    except ConfigError as error:
        raise ConfigError([*error.problems, "`jobbot serve --help` lists every variable serve reads"]) from None
    return dataclasses.replace(
        settings,
        scenario=Path(scenario) if scenario else settings.scenario,
        port=settings.port if port is None else port,
        # Slack off means off: no Socket Mode connection with half a setup.
        slack_app_token=settings.slack_app_token if slack_is_on(settings) else "",
    )


def configure_logging(level: str, kind: str | None = None) -> None:
    """Logs at `level`, as JSON lines (or text on a terminal) with the request id; the Azure SDK's (every
    request's headers at INFO) only at debug."""
    from bot.telemetry.logs import install, log_format

    install(level, log_format(kind))
    logging.getLogger("azure").setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
