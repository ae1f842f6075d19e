"""A diagnosis that depends on log formatting is not a diagnosis (issue 15's acceptance).

For every bundled and blind scenario with console rows, the console rows are rewritten as real services
write them — a Python logging prefix (timestamp, level, logger, pid); JSON lines (pino, Serilog's compact
format, zap); an exception preceded by the Python traceback it ended, one row per line; and a mix of these
across replicas — and the triage's verdict cause and the top console signature's class must not change.

Also: a secret of each shape planted in a console row appears in none of the outputs.

Scenarios are read with yaml.safe_load and the derived world is written to tmp_path as JSON (the loader
reads `.json` as JSON), so this test does not depend on the loader's Python API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.evidence.console.lines import Level, parse_line
from bot.evidence.console.summary import mentions_failure
from bot.redact import MARKER

ROOT = Path(__file__).resolve().parents[1]
PATHS = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "tests" / "fixtures" / "blind").glob("*.yaml"))
TABLES = {"ContainerAppConsoleLogs_CL": ("ContainerGroupName_s", "Stream_s", "Log_s"),
          "ContainerAppConsoleLogs": ("ContainerGroupName", "Stream", "Log")}

Row = dict[str, Any]
Burst = list[Row]


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def console_rows(data: dict[str, Any]) -> int:
    return sum(len((data.get("tables") or {}).get(t) or []) for t in TABLES)


WITH_CONSOLE = [p for p in PATHS if console_rows(load(p))]


@pytest.fixture(autouse=True)
def generous_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verdicts, not speed (as tests/test_scenarios.py)."""
    config = tmp_path / "jobbot.yaml"
    config.write_text("azure:\n  check_deadline_s: 30\n")
    monkeypatch.setenv("JOBBOT_CONFIG", str(config))


# --- times -------------------------------------------------------------------------------------------


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def format_time(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- bursts: what one write of a logger put on the console --------------------------------------------


def bursts(rows: list[Row], replica_col: str, log_col: str) -> list[tuple[str, Burst]]:
    """Rows of each replica in time order, cut where the time moves on (a message and its trace are
    written at one instant) unless the row is indented (a frame)."""
    by_replica: dict[str, list[Row]] = {}
    for row in rows:
        by_replica.setdefault(str(row.get(replica_col) or ""), []).append(row)
    out: list[tuple[str, Burst]] = []
    for replica, group in by_replica.items():
        group = sorted(group, key=lambda r: parse_time(r["TimeGenerated"]))  # stable: file order for ties
        current: Burst = []
        for row in group:
            log = str(row.get(log_col) or "")
            if current and (row["TimeGenerated"] == current[-1]["TimeGenerated"] or log[:1].isspace()):
                current.append(row)
                continue
            if current:
                out.append((replica, current))
            current = [row]
        if current:
            out.append((replica, current))
    return out


def is_error_burst(burst: Burst, stream_col: str, log_col: str) -> bool:
    """What the original says: stderr, or a word of failure (the level a real logger would have used)."""
    return any(str(r.get(stream_col) or "").lower() == "stderr" or mentions_failure(str(r.get(log_col) or ""))
               for r in burst)


def level_of_burst(burst: Burst, stream_col: str, log_col: str) -> Level:
    """The level the original line carries, else the one a logger would have given it."""
    written = parse_line(str(burst[0].get(log_col) or "")).level
    if written is not None:
        return written
    return Level.ERROR if is_error_burst(burst, stream_col, log_col) else Level.INFO


def restamp(rows: list[Row], start: str) -> list[Row]:
    """One millisecond apart, in order, from `start`: how a runtime writes a trace line by line."""
    base = parse_time(start)
    return [{**row, "TimeGenerated": format_time(base + timedelta(milliseconds=i))} for i, row in enumerate(rows)]


Transform = Callable[[Burst, str, str], list[Row]]


def with_prefix(burst: Burst, stream_col: str, log_col: str) -> list[Row]:
    """Python logging: `2026-11-28 09:26:13,417 ERROR worker.main [pid 7] message`; the trace lines after
    it unprefixed, as logging writes them. Lines that already carry a prefix keep it."""
    first = str(burst[0].get(log_col) or "")
    if parse_line(first).prefixed or first.startswith("Traceback (most recent call last)"):
        return restamp(burst, burst[0]["TimeGenerated"])  # a prefix of its own, or a trace logging never prefixes
    level = level_of_burst(burst, stream_col, log_col).name
    moment = parse_time(burst[0]["TimeGenerated"])
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S,") + f"{moment.microsecond // 1000:03d}"
    rows = [{**burst[0], log_col: f"{stamp} {level} worker.main [pid 7] {first}"}, *burst[1:]]
    return restamp(rows, burst[0]["TimeGenerated"])


SERILOG_LEVELS = {Level.TRACE: "Verbose", Level.DEBUG: "Debug", Level.INFO: "Information",
                  Level.WARNING: "Warning", Level.ERROR: "Error", Level.FATAL: "Fatal"}
ZAP_LEVELS = {Level.TRACE: "debug", Level.DEBUG: "debug", Level.INFO: "info", Level.WARNING: "warn",
              Level.ERROR: "error", Level.FATAL: "fatal"}


def json_line(dialect: str) -> Transform:
    def transform(burst: Burst, stream_col: str, log_col: str) -> list[Row]:
        lines = [str(r.get(log_col) or "") for r in burst]
        parsed = parse_line(lines[0])
        if parsed.structured:  # already a structured line: its message and error, in another dialect
            lines = [parsed.message] + (parsed.error.splitlines() if parsed.error else [])
        first, level = lines[0], level_of_burst(burst, stream_col, log_col)
        moment = parse_time(burst[0]["TimeGenerated"])
        record: dict[str, Any]
        if dialect == "pino":
            record = {"level": 10 * (level.value + 1),
                      "time": int(moment.timestamp() * 1000), "pid": 7, "hostname": "worker", "msg": first}
            if len(lines) > 1:
                record["err"] = {"type": "Error", "message": first, "stack": "\n".join(lines)}
        elif dialect == "serilog":
            record = {"@t": format_time(moment), "@m": first, "@mt": first}
            if level != Level.INFO:
                record["@l"] = SERILOG_LEVELS[level]
            if len(lines) > 1:
                record["@x"] = "\n".join(lines)
        else:  # zap
            record = {"level": ZAP_LEVELS[level], "ts": moment.timestamp(), "logger": "worker", "msg": first}
            if len(lines) > 1:
                record["stacktrace"] = "\n".join(lines)
        return [{**burst[0], log_col: json.dumps(record)}]

    return transform


_EXCEPTION = r"^[A-Za-z_][\w.]*(?:Error|Exception)\b"


def with_traceback(burst: Burst, stream_col: str, log_col: str) -> list[Row]:
    """An exception line gets the Python traceback that ends with it, one row per line."""
    import re

    first = str(burst[0].get(log_col) or "")
    if not re.match(_EXCEPTION, first):
        return restamp(burst, burst[0]["TimeGenerated"])
    frames = ["Traceback (most recent call last):", '  File "/app/worker/main.py", line 42, in <module>',
              "    main()", '  File "/app/worker/main.py", line 37, in main', "    process(batch)"]
    rows = [{**burst[0], stream_col: "stderr", log_col: line} for line in frames] + list(burst)
    return restamp(rows, burst[0]["TimeGenerated"])


# Each rewrite is a list of transforms taken replica by replica in turn: "json" writes pino, Serilog and
# zap lines; "mix" writes each replica differently.
JSON_DIALECTS = [json_line("pino"), json_line("serilog"), json_line("zap")]
REWRITES: dict[str, list[Transform]] = {
    "prefix": [with_prefix],
    "json": JSON_DIALECTS,
    "traceback": [with_traceback],
    "mix": [with_prefix, JSON_DIALECTS[0], with_traceback, JSON_DIALECTS[1], JSON_DIALECTS[2]],
}


def rewrite(data: dict[str, Any], how: str) -> dict[str, Any]:
    """`data` with every console row rewritten by `how` (see REWRITES)."""
    tables = dict(data.get("tables") or {})
    for table, (replica_col, stream_col, log_col) in TABLES.items():
        rows = tables.get(table)
        if not rows:
            continue
        out: list[Row] = []
        replicas: dict[str, int] = {}
        for replica, burst in bursts(rows, replica_col, log_col):
            index = replicas.setdefault(replica, len(replicas))
            transforms = REWRITES[how]
            out += transforms[index % len(transforms)](burst, stream_col, log_col)
        tables[table] = out
    return {**data, "tables": tables}


def triage(data: dict[str, Any], tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str],
           fmt: str = "json") -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["triage", data["expect"]["job"], "--scenario", str(path), "--format", fmt]) == 0
    return capsys.readouterr().out


def outcome(report: dict[str, Any]) -> tuple[str, str | None]:
    console = next(c for c in report["checks"] if c["name"] == "console_errors")
    signatures = (console.get("data") or {}).get("signatures") or []
    return report["verdict"]["cause"], (signatures[0]["kind"] if signatures else None)


@pytest.mark.parametrize("path", WITH_CONSOLE, ids=[p.stem for p in WITH_CONSOLE])
def test_reformatting_console_rows_changes_neither_cause_nor_top_signature_class(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = load(path)
    # Compared with the original's own outcome (tests/test_scenarios.py holds it to the expectation).
    before = outcome(json.loads(triage(data, tmp_path, "original", capsys)))
    changed = {}
    for how in REWRITES:
        after = outcome(json.loads(triage(rewrite(data, how), tmp_path, how, capsys)))
        if after != before:
            changed[how] = after
    assert changed == {}, f"{path.stem}: (cause, top signature class) was {before}"


# --- secrets -----------------------------------------------------------------------------------------

SECRETS = {
    "url password": ("psycopg2.OperationalError: could not connect to postgresql://sync:Pa55w0rd-Url-7Q@"
                     "orders-db.postgres.database.azure.com/orders", "Pa55w0rd-Url-7Q"),
    "Password=": ("System.Data.SqlClient.SqlException: Login failed. Server=tcp:sql-x,1433;User ID=app;"
                  "Password=Sq1-Pass-Word-9x;Encrypt=True", "Sq1-Pass-Word-9x"),
    "AccountKey=": ("azure.core.exceptions.ClientAuthenticationError: DefaultEndpointsProtocol=https;"
                    "AccountName=stx;AccountKey=QWNjb3VudEtleVNlY3JldDEyMzQ1Ng==;EndpointSuffix=core.windows.net",
                    "QWNjb3VudEtleVNlY3JldDEyMzQ1Ng=="),
    "SharedAccessKey=": ("ServiceBusError: Endpoint=sb://sb-x.servicebus.windows.net/;SharedAccessKeyName=listen;"
                         "SharedAccessKey=U2hhcmVkQWNjZXNzS2V5U2VjcmV0=", "U2hhcmVkQWNjZXNzS2V5U2VjcmV0="),
    "sig=": ("HTTP 403 GET https://stx.blob.core.windows.net/in/a.csv?sv=2022-11-02&sp=r&sig=U2lnU2VjcmV0VmFsdWU%3D",
             "U2lnU2VjcmV0VmFsdWU%3D"),
    "bearer": ("HTTP 401 from api.contoso.com with Authorization: Bearer QmVhcmVyU2VjcmV0VG9rZW4xMjM0NTY",
               "QmVhcmVyU2VjcmV0VG9rZW4xMjM0NTY"),
    "jwt": ("token rejected: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqb2Jib3Qtc2VjcmV0In0.c2lnbmF0dXJlc2VjcmV0",
            "eyJzdWIiOiJqb2Jib3Qtc2VjcmV0In0"),
    "connection string": ("pymongo.errors.ServerSelectionTimeoutError: mongodb://app:TW9uZ29QYXNz@mongo-x:27017",
                          "TW9uZ29QYXNz"),
}


def planted(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with one stderr row per secret shape, each in a replica of a failing execution of the job."""
    tables = dict(data["tables"])
    rows = list(tables["ContainerAppConsoleLogs_CL"])
    job = data["expect"]["job"]
    ours = [r for r in rows if str(r.get("ContainerJobName_s", "")).lower() == job.lower()]
    template = ours[-1]
    for i, (text, _) in enumerate(SECRETS.values()):
        rows.append({**template, "Stream_s": "stderr", "Log_s": text,
                     "TimeGenerated": format_time(parse_time(template["TimeGenerated"]) - timedelta(seconds=i + 1))})
    tables["ContainerAppConsoleLogs_CL"] = rows
    return {**data, "tables": tables}


def test_a_planted_secret_of_every_shape_appears_in_no_output(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    data = planted(load(ROOT / "scenarios" / "dependency.yaml"))
    outputs = {fmt: triage(data, tmp_path, f"secrets-{fmt}", capsys, fmt) for fmt in ("json", "text", "blocks")}
    report = json.loads(outputs["json"])
    assert report["verdict"]["cause"] == "dependency"
    console = next(c for c in report["checks"] if c["name"] == "console_errors")
    masked = [s["signature"] for s in console["data"]["signatures"] if MARKER in s["signature"]]
    assert len(masked) == len(SECRETS), "every planted row made a signature, with its secret masked"
    for shape, (_, secret) in SECRETS.items():
        for fmt, text in outputs.items():
            assert secret not in text, f"the {shape} secret appears in the {fmt} output"
