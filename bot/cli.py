"""The `jobbot` command line: triage a job in the terminal, run the demo, serve the Slack app and the
alert webhook, or run the local Azure emulator alone."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.boundary import print_json, redacted_output
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
GRACEFUL_SHUTDOWN_S = 2
_SCOPE_NAME = re.compile(r"[A-Za-z0-9._()-]{1,90}")  # Azure's resource group / environment name characters


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
    triage.add_argument("--fresh", action="store_true",
                        help="read everything anew, never an answer another triage in this process read moments "
                             "ago (a one-shot run shares nothing anyway; `jobbot serve` does)")
    triage.add_argument("--scenario", default=os.environ.get("JOBBOT_SCENARIO"),
                        help="run against the local Azure emulator serving this scenario file")
    triage.add_argument("--format", choices=("text", "json", "blocks"), default="text",
                        help="text for a terminal, json for the report, blocks for the Slack message")

    status = commands.add_parser(
        "status", help="the board: every job of an environment (or resource group, or all), worst first")
    status.add_argument("scope", nargs="?", default=None, metavar="ENVIRONMENT|RESOURCE_GROUP",
                        help="an environment's or resource group's name (default: every job jobbot can list, "
                             "or the config's catalog)")
    status.add_argument("--window", default="1h", help="window: 30m, 2h, 1d (default 1h, at most 7d)")
    status.add_argument("--scenario", default=os.environ.get("JOBBOT_SCENARIO"),
                        help="run against the local Azure emulator serving this scenario file")
    status.add_argument("--format", choices=("text", "json"), default="text")

    review = commands.add_parser("review", help="review one job across the five pillars (security, cost, "
                                                "reliability, performance, operations)")
    review.add_argument("job", help="job name, or full ARM resource id")
    review.add_argument("--window", default="7d", help="history to judge: 48h, 7d (default 7d, at most 30d)")
    review.add_argument("--scenario", default=os.environ.get("JOBBOT_SCENARIO"),
                        help="run against the local Azure emulator serving this scenario file")
    review.add_argument("--format", choices=("text", "json", "blocks"), default="text",
                        help="text for a terminal, json for the review report, blocks for the Slack message")
    review.add_argument("--evidence-pack", metavar="DIR", default=None,
                        help="also write the audit evidence pack into DIR (manifest, masked definitions, role "
                             "assignments, Activity Log, owners, executions, findings, README)")
    review.add_argument("--days", default=None,
                        help="days of Activity Log and executions in the evidence pack (default 30, at most 90)")
    review.add_argument("--diff", action="store_true",
                        help="also compare the job with how it was (--at TIME or --before FILE): property changes, "
                             "the rules on both states, and equal windows before and after the change")
    review.add_argument("--at", metavar="TIME", default=None,
                        help="with --diff: the moment to compare with, a UTC time (2026-12-03T08:00Z) or how long "
                             "ago (36h, 3d)")
    review.add_argument("--before", metavar="FILE", default=None,
                        help="with --diff: the definition a rollback checklist saved (`az containerapp job show`, "
                             "JSON or YAML)")

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
    serve.add_argument("--log-format", choices=("json", "text"), default=None,
                       help="one JSON object per line (default when stderr is not a terminal) or text; also "
                            "JOBBOT_LOG_FORMAT")
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                       help="log level (default info); Azure SDK request logging shows only at debug")

    doctor = commands.add_parser(
        "doctor", help="check the setup (config, Slack, Azure reads, database, clock), each with its fix",
        description="One line per check with the exact fix: the config file; Slack (token, scopes, alert\n"
                    "channel); every Azure read a triage makes (jobs, executions, log setup, each Log Analytics\n"
                    "table, queue depth) and Azure's clock; the database. Exit 0 when nothing fails, 1 otherwise.",
        epilog=environment_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    doctor.add_argument("--scenario", default=os.environ.get("JOBBOT_SCENARIO"),
                        help="check against the local Azure emulator serving this scenario file")
    doctor.add_argument("--format", choices=("text", "json"), default="text")

    commands.add_parser(
        "migrate", help="upgrade the state store's schema (JOBBOT_DATABASE_URL) to this jobbot's, keeping its data",
        description="Upgrade the store in JOBBOT_DATABASE_URL to this jobbot's schema (Alembic), keeping its data;\n"
                    "a database jobbot 0.1.0 made is recognised. `jobbot serve` does the same at start-up\n"
                    "unless JOBBOT_MIGRATE=0. Safe to run while other replicas start (they take turns).")

    completion = commands.add_parser(
        "completion", help="print a shell completion script (bash, zsh or tcsh)",
        description="Print the completion script for your shell, e.g.\n"
                    "  jobbot completion bash > ~/.local/share/bash-completion/completions/jobbot\n"
                    "  jobbot completion zsh > \"${fpath[1]}/_jobbot\"",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    completion.add_argument("shell", choices=("bash", "zsh", "tcsh"))

    emulator = commands.add_parser("emulator", help="serve the local Azure emulator for a scenario")
    emulator.add_argument("--scenario", required=True)
    emulator.add_argument("--port", type=int, default=0)
    emulator.add_argument("--shuffle", nargs="?", type=int, const=-1, default=None, metavar="SEED",
                          help="serve rows and lists in a seeded random order, as Azure promises none "
                               "(a fresh seed unless given; it is printed)")
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
        _check_scenario_files(args)
        if args.command == "demo" or getattr(args, "scenario", None):
            from bot.extras import require_demo_extra

            require_demo_extra()
        if args.command == "triage":
            return _triage(args)
        if args.command == "review":
            return _review(args)
        if args.command == "status":
            return _status(args)
        if args.command == "demo":
            from bot.demo import run_demo

            return run_demo(args.scenario)
        if args.command == "serve":
            return _serve(args)
        if args.command == "doctor":
            return _doctor(args)
        if args.command == "migrate":
            return _migrate()
        if args.command == "completion":
            import shtab

            # Generated from this very parser, so completion never lags behind the commands and flags.
            print(shtab.complete(build_parser(), shell=args.shell), end="")
            return EXIT_OK
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
    from bot.respond.progress import check_progress
    from bot.telemetry.tracing import configure_tracing

    flush_traces = configure_tracing()
    try:
        report = triage_once(spec, since, config, scenario=args.scenario, on_result=check_progress(),
                             fresh=args.fresh)
    finally:
        if flush_traces is not None:
            flush_traces()
    if args.format == "json":
        print_json(report_to_dict(report))
    elif args.format == "blocks":
        from bot.slack.blocks import render_blocks

        message = render_blocks(report)
        print_json({"text": message.text, "blocks": message.blocks})
    else:
        print(render_text(report), end="")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from bot.config import load_config
    from bot.intake import parse_since
    from bot.runtime import status_once
    from bot.status.board import board_to_dict, render_text

    since = parse_since(args.window)  # refuse bad input before anything starts
    if args.scope is not None and not _SCOPE_NAME.fullmatch(args.scope):
        raise InvalidRequest(f"{args.scope[:80]!r} is not an environment or resource group name")
    board = status_once(args.scope, since, load_config(_config_path()), scenario=args.scenario)
    if args.format == "json":
        print_json(board_to_dict(board))
    else:
        print(render_text(board), end="")
    return EXIT_OK


def _doctor(args: argparse.Namespace) -> int:
    from bot.doctor.model import as_json, as_text, exit_code
    from bot.doctor.run import diagnose
    from bot.settings import load_settings

    findings = diagnose(load_settings(), _config_path(), args.scenario)
    if args.format == "json":
        print_json(as_json(findings))
    else:
        print(as_text(findings), end="")
    return exit_code(findings)


def _review(args: argparse.Namespace) -> int:
    from bot.config import load_config
    from bot.intake import parse_job
    from bot.review.service import parse_window
    from bot.runtime import review_once

    spec, window = parse_job(args.job), parse_window(args.window)  # refuse bad input before anything starts
    request = _diff_request(args)
    diff = None
    if request is not None:
        report, diff = _review_diff(args, spec, window, request)
    elif args.evidence_pack is not None or args.days is not None:
        report = _review_pack(args, spec, window)
    else:
        store = _snapshot_store()
        try:
            report = review_once(spec, window, load_config(_config_path()), scenario=args.scenario,
                                 snapshots=store.snapshots if store is not None else None)
        finally:
            if store is not None:
                store.close()
    currency = report.cost.currency if report.cost is not None else "USD"
    if args.format == "json":
        from bot.review.diff import diff_to_dict
        from bot.review.report_json import review_to_dict

        document = review_to_dict(report)
        if diff is not None:
            document["diff"] = diff_to_dict(diff)  # additive: the review's own keys are unchanged
        print_json(document)
    elif args.format == "blocks":
        from bot.slack.review_blocks import render_review_blocks
        from bot.slack.review_diff_blocks import diff_blocks

        message = render_review_blocks(report)
        extra = diff_blocks(diff, currency) if diff is not None else []
        print_json({"text": message.text, "blocks": [*message.blocks, *extra]})
    else:
        from bot.review.diff import diff_text
        from bot.review.render import render_review_text

        print(render_review_text(report), end="")
        if diff is not None:
            print("\n" + "\n".join(diff_text(diff, currency)))
    return EXIT_OK


def _diff_request(args: argparse.Namespace) -> Any:
    """--diff with --at TIME and/or --before FILE, checked before anything is read; None without --diff."""
    from bot.review.diff_service import DiffRequest, check_at

    if not args.diff:
        if args.at is not None or args.before is not None:
            raise InvalidRequest("--at and --before go with --diff: `jobbot review JOB --diff --at 3d`.")
        return None
    if args.at is None and args.before is None:
        raise InvalidRequest("--diff compares with a moment or a saved definition: add --at TIME or --before FILE.")
    if args.evidence_pack is not None or args.days is not None:
        raise InvalidRequest("--diff and --evidence-pack are separate runs: give one of them.")
    if args.at is not None:
        check_at(args.at)  # its form only: the run checks its range against its own clock
    if args.before is None:
        return DiffRequest(at=args.at)
    path = Path(args.before)
    try:
        return DiffRequest(at=args.at, before_name=path.name, before_text=path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        # Not bad input: the review still runs, and its diff says it could not read the file.
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        return DiffRequest(at=args.at, before_name=path.name, before_error=reason)


def _review_diff(args: argparse.Namespace, spec: Any, window: Any, request: Any) -> Any:
    from bot.config import load_config
    from bot.runtime import review_diff_once

    store = _snapshot_store()
    try:
        return review_diff_once(spec, window, request, load_config(_config_path()), scenario=args.scenario,
                                snapshots=store.snapshots if store is not None else None)
    finally:
        if store is not None:
            store.close()


def _snapshot_store() -> Any:
    """jobbot's store for review snapshots, when this machine has one (JOBBOT_DATABASE_URL, or ./jobbot.db);
    never created here, and never a reason for the review to fail."""
    url = os.environ.get("JOBBOT_DATABASE_URL")
    if not url and not Path("jobbot.db").exists():
        return None
    from bot.settings import environment_secrets
    from bot.store import Store
    from bot.store.engine import StoreError

    try:
        return Store.open(url, secrets=environment_secrets(), migrate=False)
    except StoreError as error:
        print(f"jobbot: review snapshots unavailable: {error}", file=sys.stderr)
        return None


def _review_pack(args: argparse.Namespace, spec: Any, window: Any) -> Any:
    """The review with its evidence pack written into --evidence-pack DIR; the pack's summary on stderr."""
    from bot.config import load_config
    from bot.review.pack_files import write_pack
    from bot.review.pack_service import parse_days
    from bot.runtime import review_pack_once
    from bot.settings import environment_secrets

    if args.evidence_pack is None:
        raise InvalidRequest("--days sets the evidence pack's span: give it with --evidence-pack DIR.")
    days = parse_days(args.days)
    directory = Path(args.evidence_pack)
    if directory.exists() and not directory.is_dir():
        raise InvalidRequest(f"--evidence-pack {directory}: not a directory")
    report, files = review_pack_once(spec, window, days, load_config(_config_path()), scenario=args.scenario,
                                     audit=_audit_source(), secrets=environment_secrets())
    written = write_pack(directory, files)
    print(f"jobbot: evidence pack for {report.job.name} ({days} days): {len(written)} files in {directory}",
          file=sys.stderr)
    return report


def _audit_source() -> Any:
    """jobbot's audit trail for the pack, when this machine has a store: JOBBOT_DATABASE_URL, or ./jobbot.db.
    Never creates one (a review from a laptop has no audit trail to show)."""
    url = os.environ.get("JOBBOT_DATABASE_URL")
    if not url and not Path("jobbot.db").exists():
        return None

    async def entries(job: str) -> list[dict[str, Any]]:
        import dataclasses

        from bot.settings import environment_secrets
        from bot.store import Store
        from bot.store.engine import StoreError

        try:
            store = Store.open(url, secrets=environment_secrets(), migrate=False)
        except StoreError as error:
            from bot.errors import UpstreamError

            raise UpstreamError(str(error)) from None
        try:
            return [dataclasses.asdict(e) for e in await store.audit.recent(1000, target=job)]
        finally:
            store.close()

    return entries


def _migrate() -> int:
    from bot.settings import load_settings
    from bot.store.engine import create_store_engine, database_url, safe_url
    from bot.store.migrate import migrate

    url = database_url(load_settings().database_url)
    engine = create_store_engine(url)
    try:
        before, after = migrate(engine)
    finally:
        engine.dispose()
    where = safe_url(url)
    if before.at_head:
        print(f"{where}: already at schema {after.head}")
    else:
        print(f"{where}: was {before.describe()}; now at {after.current}")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    import uvicorn

    from bot.config import load_config
    from bot.serve_info import configure_logging, serve_settings, startup_lines
    from bot.server import create_app

    settings = serve_settings(scenario=args.scenario, port=args.port)
    configure_logging(args.log_level, args.log_format or os.environ.get("JOBBOT_LOG_FORMAT"))
    # Both refuse what they cannot serve here, before uvicorn starts (ConfigError: exit 2, no traceback).
    app = create_app(settings, load_config(settings.config_path))
    if settings.slack_app_token:
        from bot.slack.client import web_client
        from bot.slack.socket_mode import check_app_token

        # Checked here too, so a refused token is a plain message rather than uvicorn's start-up traceback.
        asyncio.run(check_app_token(web_client(settings.slack_bot_token, settings.slack_api_url),
                                    settings.slack_app_token))
    for line in startup_lines(settings, args.host):
        print(line, file=sys.stderr, flush=True)
    # SIGTERM: uvicorn stops accepting, waits this long for requests in flight, then closes them and runs
    # the shutdown (workers cancelled, Socket Mode closed within its own bound): out within 5 s.
    uvicorn.run(app, host=args.host, port=settings.port, log_level=args.log_level,
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
