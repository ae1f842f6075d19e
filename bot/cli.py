"""The `jobbot` command line: triage a job in the terminal, run the demo, serve the Slack app and the
alert webhook, or run the local Azure emulator alone."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.errors import ConfigError, InvalidRequest, JobbotError, JobNotFound
from bot.respond.report_json import report_to_dict
from bot.respond.text import render_text

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3
EXIT_HELP = """exit status: 0 a report was produced (even with some evidence unavailable), 1 an internal error,
2 bad input (arguments, configuration, a missing or invalid scenario file, a missing extra), 3 an unknown job"""
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def version() -> str:
    """The installed package's version (its metadata, so it matches what pip installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("jobbot")
    except PackageNotFoundError:
        return "unknown (not installed as a package)"


def _port(text: str) -> int:
    port = int(text) if text.isdigit() else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return port


def build_parser() -> argparse.ArgumentParser:
    from bot.serve_info import environment_help

    parser = argparse.ArgumentParser(prog="jobbot", description=__doc__, epilog=EXIT_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--verbose", action="store_true",
                        help="on an internal error, print the traceback (otherwise one line)")
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

    serve = commands.add_parser(
        "serve", help="the Slack app, the alert webhook and the health routes (HTTP)",
        description="Serve the Slack app (POST /slack/events, or Socket Mode), the Azure Monitor alert\n"
                    "webhook (POST /alerts/azure-monitor) and GET /healthz, /readyz. With --scenario and no\n"
                    "Slack tokens, the HTTP routes run and Slack is off.",
        epilog=environment_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--scenario", default=os.environ.get("JOBBOT_SCENARIO"),
                       help="serve against the local Azure emulator (also JOBBOT_SCENARIO)")
    serve.add_argument("--host", default=os.environ.get("JOBBOT_HOST", "0.0.0.0"),
                       help="address to listen on (default 0.0.0.0, or JOBBOT_HOST)")
    serve.add_argument("--port", type=_port, default=None, help="port to listen on (default 3000, or PORT)")
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                       help="log level (default info); Azure SDK request logging shows only at debug")

    emulator = commands.add_parser("emulator", help="serve the local Azure emulator for a scenario")
    emulator.add_argument("--scenario", required=True)
    emulator.add_argument("--port", type=int, default=0)
    emulator.add_argument("--shuffle", nargs="?", type=int, const=-1, default=None, metavar="SEED",
                          help="serve rows and lists in a seeded random order, as Azure promises none "
                               "(a fresh seed unless given; it is printed)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _check_scenario_files(args)
        if args.command == "demo" or getattr(args, "scenario", None):
            from bot.extras import require_demo_extra

            require_demo_extra()
        if args.command == "triage":
            return _triage(args)
        if args.command == "demo":
            from bot.demo import run_demo

            return run_demo(args.scenario)
        if args.command == "serve":
            return _serve(args)
        if args.command == "emulator":
            from bot.emulator.server import serve_forever

            seed = args.shuffle
            if seed is not None and seed < 0:
                import random

                seed = random.SystemRandom().randrange(2**32)
            serve_forever(args.scenario, args.port, shuffle=seed)
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
        return EXIT_USAGE if _is_scenario_error(error) else EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `jobbot demo | head`: the reader left; nothing more to say, and nowhere to say it.
        sys.stderr.close()
        return EXIT_OK
    except Exception as error:  # a bug must not greet an engineer at 3 a.m. with a traceback
        if args.verbose:
            raise
        print(f"jobbot: internal error ({type(error).__name__}: {error}); --verbose shows the traceback",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_USAGE


def _check_scenario_files(args: argparse.Namespace) -> None:
    """Every --scenario file must exist and be readable before anything starts: bad input, exit 2."""
    given = getattr(args, "scenario", None)
    for path in given if isinstance(given, list) else [given] if given else []:
        try:
            with Path(path).open("rb"):
                pass
        except OSError as error:
            raise InvalidRequest(f"scenario file {path}: {error.strerror or error}") from None


def _is_scenario_error(error: JobbotError) -> bool:
    """An invalid scenario file is bad input too. Its error class lives with the emulator, which only
    scenario mode loads: if that module was never imported, this error cannot be one."""
    scenario = sys.modules.get("bot.emulator.scenario")
    return scenario is not None and isinstance(error, scenario.ScenarioError)


def _triage(args: argparse.Namespace) -> int:
    from bot.config import load_config
    from bot.intake import parse_job, parse_since
    from bot.runtime import triage_once

    spec, since = parse_job(args.job), parse_since(args.since)  # refuse bad input before anything starts
    config = load_config(_config_path())
    report = triage_once(spec, since, config, scenario=args.scenario)
    if args.format == "json":
        print(json.dumps(report_to_dict(report), indent=2))
    elif args.format == "blocks":
        from bot.slack.blocks import render_blocks

        message = render_blocks(report)
        print(json.dumps({"text": message.text, "blocks": message.blocks}, indent=2))
    else:
        print(render_text(report), end="")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.serve_info import configure_logging, serve_settings, startup_lines
    from bot.server import create_app

    settings = serve_settings(scenario=args.scenario, port=args.port)
    configure_logging(args.log_level)
    for line in startup_lines(settings, args.host):
        print(line, file=sys.stderr, flush=True)
    uvicorn.run(create_app(settings), host=args.host, port=settings.port, log_level=args.log_level)
    return EXIT_OK


def _config_path() -> Path | None:
    explicit = os.environ.get("JOBBOT_CONFIG")
    if explicit:
        return Path(explicit)
    default = Path("jobbot.yaml")
    return default if default.exists() else None


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
