"""Azure side of `jobbot doctor`: each read the bot makes, made once the way the bot makes it.

A pass means a triage's own calls will work: the jobs list, a catalog job's executions, its environment's
log setup, each Log Analytics table the canned queries read (present, with rows in the last day), each
scale rule's queue depth, and Azure's clock against ours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.config import Config
from bot.doctor.model import Finding, Status
from bot.errors import JobbotError, NotApplicable, UpstreamError
from bot.evidence.sources import Readers
from bot.model import Job, LogSetup, Window

# Tables each log destination writes (kql/README.md), and the Activity Log export change evidence reads.
DESTINATION_TABLES = {
    "log-analytics": ("ContainerAppConsoleLogs_CL", "ContainerAppSystemLogs_CL"),
    "azure-monitor": ("ContainerAppConsoleLogs", "ContainerAppSystemLogs"),
}
ACTIVITY_TABLE = "AzureActivity"
JOBS_PROBED_WITHOUT_CATALOG = 3  # with no catalog, a few jobs show whether reads work at all
MAX_SKEW = timedelta(minutes=2)  # tokens and time windows start to go wrong beyond this

ServerDate = Callable[[], Awaitable[datetime | None]]


def grant_fix(action: str) -> str:
    return (f"give the bot's identity the role 'jobbot reader' (it holds {action}): deploy/azure/deploy.sh, or "
            "az role assignment create --assignee \"<bot identity>\" --role \"jobbot reader\" "
            "--scope \"/subscriptions/<subscription id>\"")


def _fix(error: JobbotError, action: str) -> str:
    text = str(error)
    if "HTTP 401" in text or "HTTP 403" in text or "token" in text:
        return grant_fix(action)
    if "connect" in text or "closed the connection" in text:
        return "check that this machine reaches management.azure.com and api.loganalytics.io (proxy, firewall)"
    return "run it again; if it persists, see the Azure status page"


async def azure_findings(readers: Readers, config: Config, now: datetime,
                         server_date: ServerDate | None = None) -> list[Finding]:
    findings: list[Finding] = []
    subscriptions = ", ".join(config.subscriptions) or "none"
    if not config.subscriptions:
        return [Finding("azure", "subscriptions", Status.FAIL, "no subscription is configured",
                        "list them under azure.subscriptions in jobbot.yaml")]
    try:
        jobs = await readers.jobs.list_jobs()
    except JobbotError as error:
        return [Finding("azure", "list jobs", Status.FAIL, str(error), _fix(error, "Microsoft.App/jobs/read"))]
    findings.append(Finding("azure", "list jobs", Status.OK if jobs else Status.WARN,
                            f"{len(jobs)} job{'s' if len(jobs) != 1 else ''} in {subscriptions}",
                            "" if jobs else "check azure.subscriptions: no Container Apps job was found there"))
    targets, missing = _targets(jobs, config)
    findings += [Finding("azure", f"catalog job {name}", Status.FAIL, f"not found in {subscriptions}",
                         f"fix jobs.{name} in jobbot.yaml (name, resource_group) or add its subscription")
                 for name in missing]
    per_job = await asyncio.gather(*(_job_findings(readers, job) for job in targets))
    window = Window(now - timedelta(days=1), now)
    probed = [(job, setup) for job, (_, setup) in zip(targets, per_job, strict=True) if setup is not None]
    for job_findings, _ in per_job:
        findings += job_findings
    tables = await asyncio.gather(*(_table_findings(readers, job, setup, window) for job, setup in probed))
    findings += [f for group in tables for f in group]
    if server_date is not None:
        findings.append(await _clock_finding(server_date))
    return findings


def _targets(jobs: Sequence[Job], config: Config) -> tuple[list[Job], list[str]]:
    """The catalog's jobs (and the names not found), else the first few listed."""
    if not config.jobs:
        return sorted(jobs, key=lambda j: j.ref.name.lower())[:JOBS_PROBED_WITHOUT_CATALOG], []
    by_name: dict[str, Job] = {}
    for job in jobs:
        by_name.setdefault(job.ref.name.lower(), job)
    found = [by_name[n.lower()] for n in sorted(config.jobs) if n.lower() in by_name]
    return found, [n for n in sorted(config.jobs) if n.lower() not in by_name]


async def _job_findings(readers: Readers, job: Job) -> tuple[list[Finding], LogSetup | None]:
    name = job.ref.name

    async def executions() -> Finding:
        try:
            found = await readers.jobs.executions(job.ref)
        except JobbotError as error:
            return Finding("azure", f"{name}: executions", Status.FAIL, str(error),
                           _fix(error, "Microsoft.App/jobs/executions/read"))
        return Finding("azure", f"{name}: executions", Status.OK, f"{len(found)} in its history")

    async def log_setup() -> tuple[Finding, LogSetup | None]:
        try:
            setup = await readers.jobs.log_setup(job)
        except NotApplicable as why:
            return Finding("azure", f"{name}: logs", Status.FAIL, str(why),
                           "send the environment's logs to a workspace: az containerapp env update "
                           "--logs-destination log-analytics … (or a diagnostic setting for azure-monitor)"), None
        except JobbotError as error:
            return Finding("azure", f"{name}: logs", Status.FAIL, str(error),
                           _fix(error, "Microsoft.App/managedEnvironments/read")), None
        return Finding("azure", f"{name}: logs", Status.OK,
                       f"{setup.destination} destination, workspace {setup.workspace_id}"), setup

    async def queues() -> list[Finding]:
        return list(await asyncio.gather(*(_queue_finding(readers, job, i) for i in range(len(job.rules)))))

    seen_executions, (seen_logs, setup), seen_queues = await asyncio.gather(executions(), log_setup(), queues())
    return [seen_executions, seen_logs, *seen_queues], setup


async def _queue_finding(readers: Readers, job: Job, index: int) -> Finding:
    rule = job.rules[index]
    check = f"{job.ref.name}: queue depth ({rule.type})"
    try:
        depth = await readers.queues.depth(job, rule)
    except NotApplicable as why:
        return Finding("azure", check, Status.SKIPPED, str(why))
    except JobbotError as error:
        fix = ("give the bot's identity Storage Queue Data Reader on the storage account"
               if rule.type == "azure-queue" else _fix(error, "Microsoft.ServiceBus/namespaces/queues/read"))
        return Finding("azure", check, Status.FAIL, str(error), fix)
    return Finding("azure", check, Status.OK, f"{depth.depth} message{'s' if depth.depth != 1 else ''} waiting")


async def _table_findings(readers: Readers, job: Job, setup: LogSetup, window: Window) -> list[Finding]:
    check = f"{job.ref.name}: logs in {setup.workspace_id}"
    try:
        result = await readers.logs.query(setup.workspace_id, "doctor_tables",
                                          {"job": job.ref.name, "start": window.start, "end": window.end}, window)
    except UpstreamError as error:
        return [Finding("azure", f"{check}: query", Status.FAIL, str(error),
                        "give the bot's identity Log Analytics Reader on the workspace"
                        if "HTTP 401" in str(error) or "HTTP 403" in str(error) else _fix(error, ""))]
    rows = {str(r.get("Table")): int(r.get("Rows") or 0) for r in result.rows}
    findings = []
    for table in DESTINATION_TABLES.get(setup.destination, ()):
        if table not in rows:
            fix = ("the table appears with the environment's first logs: check appLogsConfiguration names this "
                   "workspace" if setup.destination == "log-analytics" else
                   f"add a diagnostic setting on the environment sending {table.removesuffix('_CL')} to this workspace")
            findings.append(Finding("azure", f"{check}: {table}", Status.FAIL, "the table does not exist", fix))
        elif rows[table] == 0:
            findings.append(Finding("azure", f"{check}: {table}", Status.WARN, "no rows of the job in the last day",
                                    "check that the job ran and logs here (a quiet day is fine)"))
        else:
            findings.append(Finding("azure", f"{check}: {table}", Status.OK, f"{rows[table]} rows in the last day"))
    if ACTIVITY_TABLE not in rows:
        findings.append(Finding("azure", f"{check}: {ACTIVITY_TABLE}", Status.WARN,
                                "the Activity Log is not exported here: who changed what comes from Resource "
                                "Graph only",
                                "export the subscription's Activity Log to this workspace (a diagnostic setting "
                                "on the subscription, category Administrative)"))
    else:
        findings.append(Finding("azure", f"{check}: {ACTIVITY_TABLE}", Status.OK,
                                f"{rows[ACTIVITY_TABLE]} rows in the last day"))
    return findings


async def _clock_finding(server_date: ServerDate) -> Finding:
    try:
        theirs = await server_date()
    except JobbotError as error:
        return Finding("clock", "skew against Azure", Status.SKIPPED, f"could not read Azure's clock ({error})")
    if theirs is None:
        return Finding("clock", "skew against Azure", Status.SKIPPED, "Azure's answer carried no Date header")
    # Wall time on purpose, not the scenario's clock: the skew is this machine's.
    skew = datetime.now(UTC) - theirs
    seconds = abs(skew.total_seconds())
    if abs(skew) > MAX_SKEW:
        return Finding("clock", "skew against Azure", Status.FAIL,
                       f"this machine is {seconds:.0f} s {'ahead of' if skew > timedelta(0) else 'behind'} Azure",
                       "synchronise the clock (NTP): tokens and time windows go wrong beyond 2 minutes")
    return Finding("clock", "skew against Azure", Status.OK, f"{seconds:.0f} s")
