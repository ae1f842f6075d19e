"""Every `az` command jobbot can print, checked against a real Azure CLI (issue 10: "az flags checked").

Collects the commands from what a triage of each bundled scenario prints (the runbook's steps, the revert
commands of the suspected change, of the other changes in the window and of every change record the change
evidence read), from one made-up change per branch of `revert_commands` (so a kind of change no scenario holds
is asked about too), and from the runbook templates in `runbooks/` (their `{{ … }}` filled with a dummy word). Each
command's group and subcommand must exist and each flag must be one the command takes, as `az <group> <command>
--help` lists them (offline: no login, no subscription).

Not in CI: it needs the Azure CLI, which is large. Install it beside the project, not in its venv:

    python3 -m venv /work/azcli && /work/azcli/bin/pip install azure-cli
    PYTHONPATH=$PWD .venv/bin/python tools/check_az_commands.py [--az /work/azcli/bin/az] [SCENARIO …]

Exit 0 when every command checks out, 1 otherwise (each problem printed with where the command came from).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shlex
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.assets import bundled_scenarios  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.evidence.change_commands import revert_commands  # noqa: E402
from bot.evidence.change_kinds import resource_kind  # noqa: E402
from bot.evidence.change_records import CallerKind, ChangeRecord, ChangeSource, PropertyChange  # noqa: E402
from bot.evidence.change_revert import revert_commands_for  # noqa: E402
from bot.evidence.payloads import ConfigChangesEvidence  # noqa: E402
from bot.intake import parse_job  # noqa: E402
from bot.model import TriageReport  # noqa: E402
from bot.respond.text import render_text  # noqa: E402
from bot.runtime import triage_with  # noqa: E402
from bot.scenario_mode import scenario_world  # noqa: E402

DEFAULT_AZ = "/work/azcli/bin/az"
_TICKED = re.compile(r"`(az [^`]+)`")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
# An argument line of `az … --help`: four spaces, the option names, then " : description".
_OPTION_LINE = re.compile(r"^ {4}(-[^\s:]+(?: +-[^\s:]+)*)(?: +\[[^\]]*\])? +:")
# Flags every az command takes (the "Global Arguments" section), should a help text ever omit them.
# Commands of Azure CLI extensions (not in the core CLI a plain `pip install azure-cli` gives; the CLI installs
# the extension on first use): their options as the extension's reference documents them.
# az containerapp job logs show: https://learn.microsoft.com/cli/azure/containerapp/job/logs (containerapp ext.)
EXTENSION_COMMANDS: dict[tuple[str, ...], tuple[str, frozenset[str]]] = {
    ("containerapp", "job", "logs", "show"): ("containerapp", frozenset({
        "--container", "--name", "-n", "--resource-group", "-g", "--execution", "--follow", "--format",
        "--replica", "--tail", "--subscription"})),
}
GLOBAL_FLAGS = frozenset({"--debug", "--help", "-h", "--only-show-errors", "--output", "-o", "--query", "--verbose"})


@dataclass(frozen=True, slots=True)
class Found:
    command: str
    origin: str  # "scenario timeout: runbook", "runbooks/oom.md.j2" …


def commands_in(text: str) -> list[str]:
    return [m.strip() for m in _TICKED.findall(text)]


def from_report(report: TriageReport, name: str) -> Iterator[Found]:
    job_id = report.job.id
    for step in report.runbook.steps if report.runbook else ():
        yield from (Found(c, f"scenario {name}: runbook") for c in commands_in(step))
    yield from (Found(c, f"scenario {name}: terminal report") for c in commands_in(render_text(report)))
    change = report.verdict.suspected_change
    if change is not None:
        for one in (change, *change.also):
            yield from (Found(c, f"scenario {name}: revert of {one.what}") for c in revert_commands_for(one, job_id))
    check = report.check("config_changes")
    evidence = check.found(ConfigChangesEvidence) if check else None
    for record in evidence.records if evidence else ():
        yield from (Found(c, f"scenario {name}: revert of record {record.what}") for c in revert_commands(record))


SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
_JOB = f"{SUB}/providers/Microsoft.App/jobs/orders"
# One change per branch of `revert_commands`, so every command it can write is asked about, whether or not a
# bundled scenario happens to contain that kind of change.
BRANCHES: tuple[tuple[str, str, tuple[tuple[str, Any, Any], ...]], ...] = (
    (_JOB, "MICROSOFT.APP/JOBS/WRITE", (
        *((f"properties.configuration.{p}", 1, 2) for p in (
            "replicaTimeout", "replicaRetryLimit", "eventTriggerConfig.scale.maxExecutions",
            "eventTriggerConfig.scale.minExecutions", "eventTriggerConfig.scale.pollingInterval",
            "eventTriggerConfig.parallelism", "eventTriggerConfig.replicaCompletionCount",
            "scheduleTriggerConfig.cronExpression")),
        ("properties.workloadProfileName", "D4", "Consumption"),
        ("properties.configuration.eventTriggerConfig.scale.rules[name=q].metadata.queueName", "a", "b"),
        ("properties.template.containers[name=worker].image", "a:1", "a:2"),
        ("properties.template.containers[name=worker].resources.cpu", 1.0, 0.5),
        ("properties.template.containers[name=worker].resources.memory", "2Gi", "1Gi"),
        ("properties.template.containers[name=worker].env[name=A].value", "x", "y"),
        ("properties.template.containers[name=worker].env[name=B].value", None, "y"),
        ("properties.configuration.secrets[name=s].value", "x", "y"),
        (f"identity.userAssignedIdentities['{SUB}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id']",
         {"principalId": "p"}, None))),
    (f"{SUB}/providers/Microsoft.App/managedEnvironments/env", "MICROSOFT.APP/MANAGEDENVIRONMENTS/WRITE",
     (("properties.workloadProfiles[name=D16].maximumCount", 10, 3),
      ("properties.workloadProfiles[name=D16].minimumCount", 1, 0))),
    (f"{SUB}/providers/Microsoft.KeyVault/vaults/kv", "MICROSOFT.KEYVAULT/VAULTS/WRITE",
     (("properties.accessPolicies[objectId=o]", {"permissions": {"secrets": ["get", "list"]}}, None),
      ("properties.networkAcls.defaultAction", "Allow", "Deny"),
      ("properties.publicNetworkAccess", "Enabled", "Disabled"))),
    (f"{SUB}/providers/Microsoft.ContainerRegistry/registries/acr", "MICROSOFT.CONTAINERREGISTRY/REGISTRIES/WRITE",
     (("properties.adminUserEnabled", True, False),)),
    (f"{SUB}/providers/Microsoft.KeyVault/vaults/kv/providers/Microsoft.Authorization/roleAssignments/r",
     "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE",
     (("properties.principalId", "p", None),
      ("properties.roleDefinitionId", "/providers/Microsoft.Authorization/roleDefinitions/"
                                      "4633458b-17de-408a-b874-0445c86b69e6", None))),
    (f"{SUB}/providers/Microsoft.Storage/storageAccounts/st/queueServices/default/queues/q",
     "MICROSOFT.STORAGE/STORAGEACCOUNTS/QUEUESERVICES/QUEUES/DELETE", ()),
    (f"{SUB}/providers/Microsoft.ServiceBus/namespaces/sb/queues/q", "MICROSOFT.SERVICEBUS/NAMESPACES/QUEUES/DELETE",
     ()),
    (f"{SUB}/providers/Microsoft.ServiceBus/namespaces/sb/topics/t", "MICROSOFT.SERVICEBUS/NAMESPACES/TOPICS/DELETE",
     ()),
)


def from_branches() -> Iterator[Found]:
    for resource, operation, changes in BRANCHES:
        record = ChangeRecord(time=None, resource_id=resource, kind=resource_kind(resource), operation=operation,
                              caller=None, caller_kind=CallerKind.UNKNOWN, source=ChangeSource.ACTIVITY_LOG,
                              changes=tuple(PropertyChange(p, b, a) for p, b, a in changes))
        yield from (Found(c, f"revert_commands branch {operation}") for c in revert_commands(record))


async def _triage(path: Path) -> TriageReport:
    with scenario_world(path) as world:
        config = Config(subscriptions=world.config.subscriptions, check_deadline_s=30.0)
        return await triage_with(parse_job(world.scenario.expect["job"]), timedelta(hours=1), config,
                                 world.endpoints, world.credential, world.clock)


def from_scenarios(paths: Iterable[Path]) -> Iterator[Found]:
    for path in paths:
        yield from from_report(asyncio.run(_triage(path)), path.stem)


def from_runbooks(folder: Path) -> Iterator[Found]:
    for template in sorted(folder.rglob("*.j2")):
        text = _JINJA.sub("X", template.read_text(encoding="utf-8"))
        yield from (Found(c, str(template.relative_to(ROOT))) for c in commands_in(text))


def split(command: str) -> tuple[list[str], list[str]]:
    """(`["containerapp", "job", "update"]`, `["--name", "--image", …]`) of one az command line."""
    words = shlex.split(command)[1:]
    path: list[str] = []
    for word in words:
        if word.startswith("-"):
            break
        path.append(word)
    flags = [w.split("=", 1)[0] for w in words if w.startswith("-") and not _is_number(w)]
    return path, flags


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def options_in(help_text: str) -> frozenset[str]:
    """Every option name an `az … --help` text lists (`--name -n [Required] : …` gives --name and -n)."""
    names = {name for m in map(_OPTION_LINE.match, help_text.splitlines()) if m for name in m[1].split()}
    return frozenset(names | GLOBAL_FLAGS)


class Cli:
    """`az <command> --help`, once per command: whether it exists and the options it takes."""

    def __init__(self, az: str) -> None:
        self.az = az
        self._seen: dict[tuple[str, ...], frozenset[str] | str] = {}
        self.extensions: set[str] = set()  # commands checked against their extension's reference instead

    def options(self, path: list[str]) -> frozenset[str] | str:
        """The command's option names, or why there is no such command."""
        key = tuple(path)
        if key not in self._seen:
            done = subprocess.run([self.az, *path, "--help"], capture_output=True, text=True, timeout=120,
                                  env={"AZURE_CORE_COLLECT_TELEMETRY": "false", "PATH": "/usr/bin:/bin",
                                       "HOME": str(Path.home())})
            text = done.stdout
            if done.returncode != 0 and key in EXTENSION_COMMANDS:
                self._seen[key] = EXTENSION_COMMANDS[key][1] | GLOBAL_FLAGS
                self.extensions.add(f"az {' '.join(key)} (extension {EXTENSION_COMMANDS[key][0]})")
            elif done.returncode != 0 or "\nCommand\n" not in f"\n{text}":
                reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[0]
                self._seen[key] = f"not an az command ({reason})"
            else:
                self._seen[key] = options_in(text)
        return self._seen[key]


def problems(found: Iterable[Found], cli: Cli) -> Iterator[str]:
    checked: set[str] = set()
    for item in found:
        if item.command in checked:
            continue
        checked.add(item.command)
        try:
            path, flags = split(item.command)
        except ValueError as error:
            yield f"{item.origin}: does not paste ({error}): {item.command}"
            continue
        options = cli.options(path)
        if isinstance(options, str):
            yield f"{item.origin}: `az {' '.join(path)}` is {options}: {item.command}"
            continue
        for flag in flags:
            if flag not in options:
                yield f"{item.origin}: `az {' '.join(path)}` has no {flag}: {item.command}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--az", default=DEFAULT_AZ, help=f"the Azure CLI to ask (default {DEFAULT_AZ})")
    parser.add_argument("--no-scenarios", action="store_true", help="only runbooks/ and the revert branches")
    parser.add_argument("scenarios", nargs="*", type=Path, help="only these scenario files (default: all bundled)")
    args = parser.parse_args(argv)
    paths = [] if args.no_scenarios else args.scenarios or bundled_scenarios()
    found = [*from_runbooks(ROOT / "runbooks"), *from_branches(), *from_scenarios(paths)]
    cli = Cli(args.az)
    wrong = list(problems(found, cli))
    distinct = len({f.command for f in found})
    print(f"{distinct} distinct az commands ({len(found)} printed) from {len(paths)} scenarios and runbooks/, "
          f"{len(cli._seen)} az commands asked")
    for line in sorted(cli.extensions):
        print(f"not in the core CLI, checked against its reference: {line}")
    for line in wrong:
        print(line)
    print("asked: " + ", ".join(sorted(f"az {' '.join(k)}" for k in cli._seen)))
    print("all flags exist" if not wrong else f"{len(wrong)} problems")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
