"""The canned KQL files: checked by Microsoft's Kusto.Language and against kql/README.md's contract."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot import kql

ROOT = Path(__file__).resolve().parents[1]
KQL_DIR = ROOT / "kql"
CHECKER = ROOT / "tools" / "kqlcheck" / "check.js"
KUSTO_PACKAGE = ROOT / "tools" / "kqlcheck" / "node_modules" / "@kusto" / "language-service-next"
FILES = sorted(KQL_DIR.glob("*.kql"))
SCHEMA: dict[str, dict[str, str]] = json.loads((KQL_DIR / "schema.json").read_text("utf-8"))["tables"]

# README table row: | `name.kql` | job, start, end | ...`Col:type, ...`... |
README_ROW_RE = re.compile(
    r"^\|\s*`(?P<file>[a-z_]+\.kql)`\s*\|(?P<params>[^|]*)\|(?P<returns>.*)\|\s*$", re.MULTILINE
)
HEADER_RE = re.compile(r"\A// (?P<what>\S.*)\n// params: (?P<params>.*)\n// returns: (?P<returns>.*)\n")
CAP_RE = re.compile(r"^\|\s*(?:(?:take|limit)\s+\d+|top\s+\d+\s+by\s+.+)$")
COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*:[a-z]+$")


def _readme_contract() -> dict[str, tuple[list[str], list[str]]]:
    """file -> (param names, ["Column:type", ...]) from kql/README.md's table."""
    text = (KQL_DIR / "README.md").read_text(encoding="utf-8")
    out: dict[str, tuple[list[str], list[str]]] = {}
    for m in README_ROW_RE.finditer(text):
        params = [p.strip() for p in m["params"].split(",") if p.strip()]
        columns = [
            c.strip()
            for group in re.findall(r"`([^`]*)`", m["returns"])
            for c in group.split(",")
            if COLUMN_RE.match(c.strip())
        ]
        out[m["file"]] = (params, columns)
    return out


def _header(path: Path) -> re.Match[str]:
    m = HEADER_RE.match(path.read_text(encoding="utf-8"))
    assert m, f"{path.name}: must start with '// <what it answers>', '// params: ...', '// returns: ...'"
    return m


def node_or_skip() -> str:
    """The `node` to run check.js with; skip without one (fail instead under JOBBOT_REQUIRE_NODE=1, as CI)."""
    node = shutil.which("node")
    if node is not None and KUSTO_PACKAGE.is_dir():
        return node
    if node is None:
        reason = "node is not installed: Kusto.Language runs on Node.js (CI installs it)"
    else:
        reason = "tools/kqlcheck/node_modules is absent: run `npm ci` in tools/kqlcheck (CI does)"
    if os.environ.get("JOBBOT_REQUIRE_NODE") == "1":
        pytest.fail(f"JOBBOT_REQUIRE_NODE=1 but {reason}")
    pytest.skip(reason)


def _run_checker(*args: str) -> subprocess.CompletedProcess[str]:
    node = node_or_skip()
    return subprocess.run(
        [node, str(CHECKER), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def kusto_report() -> dict[str, dict[str, Any]]:
    """check.js run once over every canned file: file name -> its report."""
    proc = _run_checker(*(str(f) for f in FILES))
    assert proc.returncode in (0, 1), f"check.js failed to run (exit {proc.returncode}):\n{proc.stderr}"
    report = json.loads(proc.stdout)
    by_name = {Path(r["file"]).name: r for r in report}
    assert sorted(by_name) == [f.name for f in FILES]
    if proc.returncode == 1:
        assert any(r["errors"] for r in report), "check.js exited 1 without reporting an error"
    return by_name


def test_the_files_are_exactly_the_readme_table() -> None:
    assert [f.name for f in FILES] == sorted(_readme_contract()), "kql/*.kql and kql/README.md's table differ"
    assert len(FILES) == 14


@pytest.mark.node
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_kusto_language_accepts(path: Path, kusto_report: dict[str, dict[str, Any]]) -> None:
    result = kusto_report[path.name]
    errors = "\n".join(f"  {e['line']}:{e['column']} {e['code']} {e['message']}" for e in result["errors"])
    assert not result["errors"], f"{path.name}: Kusto.Language reports\n{errors}"


@pytest.mark.node
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_kusto_result_columns_are_the_readme_columns(
    path: Path, kusto_report: dict[str, dict[str, Any]]
) -> None:
    _, columns = _readme_contract()[path.name]
    inferred = [f"{name}:{type_}" for name, type_ in kusto_report[path.name]["columns"]]
    assert inferred == columns


@pytest.mark.node
def test_checker_catches_broken_queries(tmp_path: Path) -> None:
    """The checker is not vacuous: bad columns, wrong returns, no result and no header all fail."""
    head = "// x\n// params: job:string\n// returns: A:string\n"
    no_params = "// x\n// params: \n// returns: A:string\n"
    good = head + "ContainerAppSystemLogs | where JobName =~ job | project A = Log | take 1\n"
    cases = {
        "bad_column.kql": head + "ContainerAppSystemLogs | where JobNam =~ job | project A = Log | take 1\n",
        "bad_returns.kql": good.replace("returns: A:", "returns: B:"),
        "bad_type.kql": good.replace("returns: A:string", "returns: A:long"),
        "case_sensitive.kql": good.replace("JobName", "jobname"),
        "comments_only.kql": head,
        "no_header.kql": "ContainerAppSystemLogs | project A = Log | take 1\n",
        "unknown_table.kql": no_params + "ContainerLogs | project A = Log | take 1\n",
        "syntax.kql": head + "ContainerAppSystemLogs | where | take 1\n",
        "no_param.kql": no_params
        + "ContainerAppSystemLogs | where JobName =~ job | project A = Log | take 1\n",
    }
    paths = []
    for name, text in {**cases, "good.kql": good}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / name))
    proc = _run_checker(*paths)
    assert proc.returncode == 1, proc.stderr
    report = {Path(r["file"]).name: r for r in json.loads(proc.stdout)}
    for name in cases:
        assert report[name]["errors"], f"check.js accepted {name}"
    assert report["good.kql"]["errors"] == []
    assert report["bad_column.kql"]["errors"][0]["line"] == 4  # lines are the file's own


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_header_declares_the_readme_params_and_returns(path: Path) -> None:
    header = _header(path)
    params, columns = _readme_contract()[path.name]
    assert [p.split(":")[0].strip() for p in header["params"].split(",")] == params
    assert [c.strip() for c in header["returns"].split(",")] == columns
    # bot.kql reads the same header.
    assert [p for p, _ in kql.load_query(path.stem).params] == params


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_ends_with_a_literal_row_cap(path: Path) -> None:
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    code = [ln for ln in lines if ln and not ln.startswith("//")]
    assert CAP_RE.match(code[-1]), f"{path.name}: last line must be a literal cap, got {code[-1]!r}"
    assert path.read_text(encoding="utf-8").endswith("\n")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_values_of_its_own(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "declare query_parameters" not in text
    code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("//"))
    for pname, _ in kql.load_query(path.stem).params:
        assert not re.search(rf"\blet\s+{pname}\b", code), f"{path.name} binds its own parameter {pname}"
    # Row caps and windows come from literals or parameters, never from a hard-coded clock.
    assert "now()" not in code and "ago(" not in code


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_log_table_leg_filters_on_job_first(path: Path) -> None:
    """Each table the query reads is followed directly by `| where <job column> =~ job`."""
    text = path.read_text(encoding="utf-8")
    code = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("//")]
    job_columns = {
        "ContainerAppSystemLogs_CL": "JobName_s",
        "ContainerAppSystemLogs": "JobName",
        "ContainerAppConsoleLogs_CL": "ContainerJobName_s",
        "ContainerAppConsoleLogs": "JobName",
    }
    legs = [(i, ln.lstrip("(")) for i, ln in enumerate(code) if ln.lstrip("(") in SCHEMA]
    assert legs, f"{path.name} reads no table from schema.json"
    for i, table in legs:
        if table not in job_columns:
            continue
        if kql.load_query(path.stem).batched:
            assert code[i + 1] == f"| where {job_columns[table]} in~ (jobs)", f"{path.name}: {table} leg"
        else:
            assert "job" in dict(kql.load_query(path.stem).params)
            assert code[i + 1] == f"| where {job_columns[table]} =~ job", f"{path.name}: {table} leg"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_container_app_queries_cover_both_log_destinations(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for kind in ("System", "Console"):
        cl, rs = f"ContainerApp{kind}Logs_CL", f"ContainerApp{kind}Logs"
        reads_cl = re.search(rf"\b{cl}\b", text) is not None
        reads_rs = re.search(rf"\b{rs}\b(?!_CL)", text) is not None
        assert reads_cl == reads_rs, f"{path.name} reads only one of {cl} / {rs}"
        if reads_cl:
            assert "union isfuzzy=true" in text


def test_schema_json_is_well_formed() -> None:
    assert set(SCHEMA) == {
        "ContainerAppSystemLogs_CL",
        "ContainerAppConsoleLogs_CL",
        "ContainerAppSystemLogs",
        "ContainerAppConsoleLogs",
        "AzureActivity",
        "resourcechanges",  # Resource Graph's, read by resource_changes.kql through the Resource Graph API
        "resources",  # Resource Graph's, read by workspace_by_customer_id.kql
    }
    for table, columns in SCHEMA.items():
        if table in ("resourcechanges", "resources"):
            assert columns["properties"] == "dynamic"
            continue
        assert columns["TimeGenerated"] == "datetime", table
        assert set(columns.values()) <= kql.KQL_TYPES, table
    # The Normal/Warning column: Type_s in the _CL table (Type is the table name there), Type itself
    # in the resource-specific table.
    assert SCHEMA["ContainerAppSystemLogs_CL"]["Type_s"] == "string"
    assert SCHEMA["ContainerAppSystemLogs"]["Type"] == "string"
    assert SCHEMA["AzureActivity"]["Properties_d"] == "dynamic"
    # Log Analytics' billed bytes of a record (log_volume.kql): a standard column of every Log Analytics table.
    assert all(SCHEMA[t]["_BilledSize"] == "real" for t in SCHEMA if t not in ("resourcechanges", "resources"))


# The columns that identify one result row: a final order that ends with them is total, so the rows a
# cap keeps and the order they arrive in never depend on the engine (Log Analytics promises neither).
ROW_KEYS = {
    "config_changes": None,  # no summarize: every column
    "console_errors": None,  # raw rows: every column
    "console_tail": None,
    "doctor_tables": ("Table",),  # one row per table
    "exit_codes": ("ExitCode",),
    "failed_executions": ("ExecutionName",),
    "platform_errors": ("Category", "Reason"),
    "resource_changes": ("id",),  # a change record's id is unique
    "workspace_by_customer_id": ("id",),
    "execution_durations": ("ExecutionName",),
    "log_volume": ("Day",),  # one row per day
    "secret_shaped_logs": ("Kind",),
    "message_reprocessing": ("Messages",),  # a single summary row
    "audit_activity": None,  # no summarize: every column
}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_final_order_is_total(path: Path) -> None:
    query = kql.load_query(path.stem)
    keys = [column for column, _ in query.order]
    assert keys, f"{path.name}: must end with `sort by ... | take N` or `top N by ...`"
    needed = ROW_KEYS[path.stem] or query.columns
    assert set(needed) <= set(keys), f"{path.name}: order {keys} does not break ties by {list(needed)}"
    assert "make_set(" not in query.text.replace("array_sort_asc(make_set(", ""), "make_set has no order: sort it"
