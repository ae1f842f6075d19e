"""The `jobbot` command line: triage, demo, emulator (serve arrives with the Slack work)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.boundary import print_json, redacted_output
from bot.errors import ConfigError, InvalidRequest, JobbotError, JobNotFound
from bot.respond.report_json import report_to_dict
from bot.respond.text import render_text

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3
GRACEFUL_SHUTDOWN_S = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jobbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    triage = commands.add_parser("triage", help="triage one job and print the report")
    triage.add_argument("job", help="job name, or full ARM resource id")
    triage.add_argument("--since", default="1h", help="window: 30m, 2h, 1d (default 1h, at most 7d)")
    triage.add_argument("--scenario", default=os.environ.get("JOBBOT_SCENARIO"),
                        help="run against the local Azure emulator serving this scenario file")
    triage.add_argument("--format", choices=("text", "json", "blocks"), default="text",
                        help="text for a terminal, json for the report, blocks for the Slack message")

    demo = commands.add_parser("demo", help="run the bundled scenarios end to end")
    demo.add_argument("--scenario", action="append", help="only these scenario files")

    serve = commands.add_parser("serve", help="the Slack app and HTTP routes")
    serve.add_argument("--scenario", default=None, help="serve against the local Azure emulator (also JOBBOT_SCENARIO)")
    serve.add_argument("--host", default=os.environ.get("JOBBOT_HOST", "0.0.0.0"))

    emulator = commands.add_parser("emulator", help="serve the local Azure emulator for a scenario")
    emulator.add_argument("--scenario", required=True)
    emulator.add_argument("--port", type=int, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bot.settings import environment_secrets

    # Everything a command prints or logs passes the redaction boundary (the CLI may show console excerpts
    # to the engineer running it, but never a credential).
    with redacted_output(environment_secrets()):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "triage":
            return _triage(args)
        if args.command == "demo":
            from bot.demo import run_demo

            return run_demo(args.scenario)
        if args.command == "serve":
            return _serve(args)
        if args.command == "emulator":
            from bot.emulator.server import serve_forever

            serve_forever(args.scenario, args.port)
            return EXIT_OK
    except InvalidRequest as error:
        print(f"jobbot: {error}", file=sys.stderr)
        return EXIT_USAGE
    except JobNotFound as error:
        print(f"jobbot: {error}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except ConfigError as error:
        print("jobbot: invalid configuration:\n" + "\n".join(f"  - {p}" for p in error.problems), file=sys.stderr)
        return EXIT_USAGE
    except JobbotError as error:
        print(f"jobbot: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    return EXIT_USAGE


def _triage(args: argparse.Namespace) -> int:
    from bot.config import load_config
    from bot.intake import parse_job, parse_since
    from bot.runtime import triage_once

    spec, since = parse_job(args.job), parse_since(args.since)  # refuse bad input before anything starts
    config = load_config(_config_path())
    report = triage_once(spec, since, config, scenario=args.scenario)
    if args.format == "json":
        print_json(report_to_dict(report))
    elif args.format == "blocks":
        from bot.slack.blocks import render_blocks

        message = render_blocks(report)
        print_json({"text": message.text, "blocks": message.blocks})
    else:
        print(render_text(report), end="")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    import asyncio
    import dataclasses
    import logging

    import uvicorn

    from bot.config import load_config
    from bot.server import create_app
    from bot.settings import load_settings

    settings = load_settings(for_serve=True)
    if args.scenario:
        settings = dataclasses.replace(settings, scenario=Path(args.scenario))
    # Both refuse what they cannot serve here, before uvicorn starts (ConfigError: exit 2, no traceback).
    app = create_app(settings, load_config(settings.config_path))
    if settings.slack_app_token:
        from bot.slack.client import web_client
        from bot.slack.socket_mode import check_app_token

        # Checked here too, so a refused token is a plain message rather than uvicorn's start-up traceback.
        asyncio.run(check_app_token(web_client(settings.slack_bot_token, settings.slack_api_url),
                                    settings.slack_app_token))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # SIGTERM: uvicorn stops accepting, waits this long for requests in flight, then closes them and runs
    # the shutdown (workers cancelled, Socket Mode closed within its own bound): out within 5 s.
    uvicorn.run(app, host=args.host, port=settings.port, log_level="info",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    return EXIT_OK


def _config_path() -> Path | None:
    explicit = os.environ.get("JOBBOT_CONFIG")
    if explicit:
        return Path(explicit)
    default = Path("jobbot.yaml")
    return default if default.exists() else None


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
