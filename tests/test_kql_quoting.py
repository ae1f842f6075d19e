"""bot.kql: values become KQL text only through `quote`, and both engines read every literal back unchanged.

duckdb-kql (the emulator's engine) runs each literal; Kusto.Language (the service's own parser, via
tools/kqlcheck/check.js --literals) decodes it. A literal the two read differently would make the
emulator answer a different question than Log Analytics.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import string
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb_kql
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot import kql
from bot.emulator.kql_readback import split_rendered
from bot.kql import (
    JOB_NAME_RE,
    QUERY_DIR,
    CannedQuery,
    InvalidJobName,
    all_queries,
    load_query,
    quote,
    render,
    validate_job_name,
)

ROOT = Path(__file__).resolve().parents[1]
CHECKER = ROOT / "tools" / "kqlcheck" / "check.js"
KUSTO_PACKAGE = ROOT / "tools" / "kqlcheck" / "node_modules" / "@kusto" / "language-service-next"
NAMES = [
    "audit_activity",
    "config_changes",
    "console_errors",
    "console_tail",
    "doctor_tables",
    "execution_durations",
    "exit_codes",
    "failed_executions",
    "log_volume",
    "message_reprocessing",
    "platform_errors",
    "resource_changes",  # Resource Graph's, sent inlined (test_kql_inline.py)
    "secret_shaped_logs",
    "workspace_by_customer_id",  # Resource Graph's too
]
START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
END = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)

# Characters and sequences that have a meaning somewhere in KQL (or in a careless quoting helper).
SYNTAX = [
    *"\"'\\\n\r\t\0;/@h`{}[](),=|#!~ ",
    "//",
    "/*",
    "\\0",
    "\\01",
    '\\"',
    "h'",
    "@'",
    '@"',
    '"""',
    "```",
]
UNUSUAL = [
    "\u2028",
    "\u2029",
    "\x85",
    "\x0b",
    "\x0c",
    "\x1b",
    "\x7f",
    "\xa0",
    "é",
    "😀",
    "\ufeff",
    "İ",
    "\U0010ffff",
]
TRICKY = st.sampled_from([*SYNTAX, *UNUSUAL])
CHARS = st.characters(codec="utf-8")  # any code point that can be sent as text: no lone surrogates
TEXT = st.text(CHARS) | st.lists(TRICKY | CHARS, max_size=40).map("".join)
OFFSETS = st.just(UTC) | st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)
AWARE = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS)
SPANS = st.timedeltas(min_value=-kql._TIMESPAN_MAX, max_value=kql._TIMESPAN_MAX)
LONGS = st.integers(min_value=-(2**63), max_value=2**63 - 1)


# --- the two engines ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def con() -> Iterator[Any]:
    connection = duckdb_kql.connect()
    yield connection
    connection.close()


def duck(con: Any, literal: str) -> Any:
    """The value duckdb-kql gives `literal`, bound the way `render` binds it."""
    return duckdb_kql.query(con, f"let v = {literal};\nprint r = v").fetchall()[0][0]


class KustoLiterals:
    """One `node check.js --literals` process: Kusto.Language's reading of a literal."""

    def __init__(self, node: str) -> None:
        self._proc = subprocess.Popen(
            [node, str(CHECKER), "--literals"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def read(self, literal: str) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(literal) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        assert line, "check.js --literals stopped answering"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)
        self._proc.stdout.close()


@pytest.fixture(scope="module")
def kusto() -> Iterator[KustoLiterals]:
    node = shutil.which("node")
    if node is None or not KUSTO_PACKAGE.is_dir():
        reason = (
            "node is not installed"
            if node is None
            else "tools/kqlcheck/node_modules is absent (run `npm ci` in tools/kqlcheck)"
        )
        if os.environ.get("JOBBOT_REQUIRE_NODE") == "1":
            pytest.fail(f"JOBBOT_REQUIRE_NODE=1 but {reason}")
        pytest.skip(f"Kusto.Language side skipped: {reason}")
    server = KustoLiterals(node)
    yield server
    server.close()


# --- strings -----------------------------------------------------------------------------------------


@settings(deadline=None)
@given(TEXT)
@example("\x001")
@example("\x0012x\\0")
@example("a\u2028b\x85c\r\n")
def test_string_round_trips_through_duckdb_kql(con: Any, text: str) -> None:
    assert duck(con, quote(text)) == text


@pytest.mark.node
@settings(deadline=None)
@given(TEXT)
@example("\x001")
@example("\x0012x\\0")
@example("a\u2028b\x85c\r\n")
def test_kusto_language_reads_the_same_string(kusto: KustoLiterals, text: str) -> None:
    answer = kusto.read(quote(text))
    assert answer == {"errors": [], "strings": [text]}


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("orders", '"orders"'),
        ("", '""'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("x\ny\rz\tw", '"x\\ny\\rz\\tw"'),
        ("it's", '"it\'s"'),
        ("\x001", '"\x001"'),  # NUL raw: Kusto reads `\01` as octal U+0001, duckdb-kql as NUL + "1"
        ('"; ContainerAppSystemLogs | take 1 //', '"\\"; ContainerAppSystemLogs | take 1 //"'),
    ],
)
def test_string_literal_form(value: str, literal: str) -> None:
    assert quote(value) == literal


def test_a_quoted_string_is_one_token_on_one_line() -> None:
    for text in ['"', "\\", "\n", "\r", "a\\", '\\"', "\r\n"]:
        literal = quote(text)
        assert "\n" not in literal and "\r" not in literal
        assert literal.startswith('"') and literal.endswith('"')


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        quote("a\ud800b")


# --- other scalars -----------------------------------------------------------------------------------


@settings(deadline=None)
@given(AWARE)
def test_datetime_round_trips_in_utc(con: Any, value: datetime) -> None:
    literal = quote(value)
    assert literal.startswith("datetime(") and literal.endswith("Z)")
    assert duck(con, literal) == value.astimezone(UTC).replace(tzinfo=None)


def test_datetime_literal_form() -> None:
    paris_winter = timezone(timedelta(hours=1))
    assert (
        quote(datetime(2026, 11, 28, 11, 0, tzinfo=paris_winter)) == "datetime(2026-11-28T10:00:00.000000Z)"
    )
    assert quote(datetime(1, 1, 1, tzinfo=UTC)) == "datetime(0001-01-01T00:00:00.000000Z)"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        quote(datetime(2026, 11, 28, 10, 0))


@settings(deadline=None)
@given(SPANS)
def test_timespan_round_trips(con: Any, value: timedelta) -> None:
    assert duck(con, quote(value)) == value


def test_timespan_out_of_kusto_range_is_refused() -> None:
    with pytest.raises(ValueError, match="timespan"):
        quote(timedelta(days=20_000_000))


@settings(deadline=None)
@given(LONGS)
def test_long_round_trips(con: Any, value: int) -> None:
    assert quote(value) == f"long({value})"
    assert duck(con, quote(value)) == value


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_integers_beyond_long_are_refused(value: int) -> None:
    with pytest.raises(ValueError, match="long"):
        quote(value)


@settings(deadline=None)
@given(st.floats())
def test_real_round_trips(con: Any, value: float) -> None:
    got = duck(con, quote(value))
    assert (math.isnan(got) and math.isnan(value)) or got == value


def test_bool_literals(con: Any) -> None:
    assert (quote(True), quote(False)) == ("true", "false")
    assert duck(con, quote(True)) is True
    assert duck(con, quote(False)) is False


@pytest.mark.node
@settings(deadline=None)
@given(st.one_of(AWARE, SPANS, LONGS, st.floats(), st.booleans()))
def test_kusto_language_accepts_every_scalar_literal(kusto: KustoLiterals, value: object) -> None:
    assert kusto.read(quote(value))["errors"] == []


# --- dynamic arrays of strings -----------------------------------------------------------------------


@settings(deadline=None)
@given(st.lists(TEXT, max_size=6) | st.tuples(TEXT, TEXT))
def test_string_list_round_trips_as_dynamic(con: Any, values: list[str] | tuple[str, ...]) -> None:
    literal = quote(values)
    assert literal.startswith("dynamic([") and literal.endswith("])")
    assert json.loads(duck(con, literal)) == list(values)


@pytest.mark.node
@settings(deadline=None)
@given(st.lists(TEXT, max_size=6))
def test_kusto_language_reads_the_same_list(kusto: KustoLiterals, values: list[str]) -> None:
    assert kusto.read(quote(values)) == {"errors": [], "strings": values}


def test_dynamic_membership_is_case_insensitive_with_in_tilde(con: Any) -> None:
    ids = quote(["/subscriptions/s1/resourcegroups/rg/providers/microsoft.app/jobs/orders"])
    probe = quote("/subscriptions/S1/resourceGroups/rg/providers/Microsoft.App/jobs/orders")
    assert duckdb_kql.query(con, f"let ids = {ids};\nprint r = {probe} in~ (ids)").fetchall() == [(True,)]


# --- what is not a value -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"orders",
        {"a": 1},
        {"a"},
        date(2026, 11, 28),
        Decimal("1.5"),
        object(),
        1 + 2j,
        [1],
        ["a", None],
    ],
    ids=repr,
)
def test_other_types_are_a_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        quote(value)


# --- job names ---------------------------------------------------------------------------------------

JOB_ALPHABET = string.ascii_letters + string.digits + "-"
ODD_CHARS = "_. \n\t/;'\"é\u0130\u212a\uff11\u0660"  # İ, Kelvin sign, fullwidth 1, Arabic-Indic 0


def is_job_name(text: str) -> bool:
    """Azure's rule for Container Apps job names, written independently of bot.kql."""
    return (
        2 <= len(text) <= 32
        and all(c in JOB_ALPHABET for c in text)
        and text[0] in string.ascii_letters
        and text[-1] in string.ascii_letters + string.digits
        and "--" not in text
    )


@given(st.text(alphabet=JOB_ALPHABET + ODD_CHARS, max_size=40) | st.text(max_size=40))
def test_job_name_validation_accepts_exactly_the_allowed_alphabet(text: str) -> None:
    if is_job_name(text):
        assert validate_job_name(text) == text
        assert JOB_NAME_RE.match(text)
    else:
        with pytest.raises(InvalidJobName, match="invalid job name"):
            validate_job_name(text)
        assert JOB_NAME_RE.match(text) is None


@pytest.mark.parametrize("name", ["orders-processor", "Orders-Processor", "ab", "a" * 32, "j1", "a-b-c-1"])
def test_valid_job_names(name: str) -> None:
    assert validate_job_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a",
        "a" * 33,
        "-orders",
        "orders-",
        "1orders",
        "orders--x",
        "orders\n",
        "ordérs",
        "orders_x",
        "a b",
    ],
)
def test_invalid_job_names(name: str) -> None:
    with pytest.raises(InvalidJobName) as error:
        validate_job_name(name)
    assert isinstance(error.value, ValueError)
    assert repr(name)[:20] in str(error.value)


# --- loading ----------------------------------------------------------------------------------------


def test_query_dir_is_the_repositorys_kql_folder() -> None:
    assert QUERY_DIR == ROOT / "kql"


def test_all_queries_are_the_canned_files() -> None:
    queries = all_queries()
    assert [q.name for q in queries] == NAMES
    assert all(
        isinstance(q, CannedQuery) and q.text == (QUERY_DIR / f"{q.name}.kql").read_text() for q in queries
    )


def test_declared_params() -> None:
    assert load_query("failed_executions").params == (
        ("jobs", "dynamic"),
        ("start", "datetime"),
        ("end", "datetime"),
    )
    assert load_query("console_tail").params == (
        ("job", "string"),
        ("execution", "string"),
        ("start", "datetime"),
        ("end", "datetime"),
    )
    assert load_query("config_changes").params == (
        ("resource_ids", "dynamic"),
        ("related", "dynamic"),
        ("subscription_ids", "dynamic"),
        ("start", "datetime"),
        ("end", "datetime"),
    )


def test_load_query_is_cached_and_frozen() -> None:
    query = load_query("exit_codes")
    assert load_query("exit_codes") is query
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.text = "print 1"  # type: ignore[misc]


@pytest.mark.parametrize("name", ["nope", "../kql/README", "exit_codes.kql", "Exit_Codes", "", "schema"])
def test_unknown_query_is_a_clear_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown canned query"):
        load_query(name)


# --- render -----------------------------------------------------------------------------------------


def test_render_prepends_one_let_per_declared_param_in_order() -> None:
    text = render("console_tail", end=END, start=START, execution="orders-abc12", job="orders")
    query = load_query("console_tail")
    assert text == (
        'let job = "orders";\n'
        'let execution = "orders-abc12";\n'
        "let start = datetime(2026-11-28T09:00:00.000000Z);\n"
        "let end = datetime(2026-11-28T10:00:00.000000Z);\n" + query.text
    )


def test_render_refuses_missing_params() -> None:
    with pytest.raises(ValueError, match=r"missing end\b"):
        render("doctor_tables", job="orders", start=START)


def test_render_refuses_extra_params() -> None:
    with pytest.raises(ValueError, match="unexpected execution, limit"):
        render("doctor_tables", job="orders", start=START, end=END, execution="x", limit=5)


def test_render_names_both_missing_and_extra() -> None:
    with pytest.raises(ValueError, match=r"missing job.*unexpected jobname"):
        render("doctor_tables", jobname="orders", start=START, end=END)


@pytest.mark.parametrize(
    "values",
    [
        {"job": "orders", "start": "2026-11-28T09:00:00Z", "end": END},
        {"job": 42, "start": START, "end": END},
        {"job": ["orders"], "start": START, "end": END},
        {"job": "orders", "start": START.date(), "end": END},
    ],
)
def test_render_refuses_values_of_the_wrong_type(values: dict[str, object]) -> None:
    with pytest.raises(TypeError, match="declared"):
        render("doctor_tables", **values)


def test_render_dynamic_param_wants_a_list_not_a_string() -> None:
    with pytest.raises(TypeError):
        render("config_changes", resource_ids="/subscriptions/s1", related=[], subscription_ids=["s1"], start=START,
               end=END)


@given(job=TEXT, execution=TEXT, ids=st.lists(TEXT, max_size=4), sub=TEXT, start=AWARE, end=AWARE)
def test_split_rendered_recognises_everything_render_writes(
    job: str, execution: str, ids: list[str], sub: str, start: datetime, end: datetime
) -> None:
    for name, values in [
        ("console_tail", {"job": job, "execution": execution, "start": start, "end": end}),
        ("failed_executions", {"jobs": [job, execution], "start": start, "end": end}),
        ("config_changes", {"resource_ids": ids, "related": ids[:1], "subscription_ids": [sub], "start": start,
                            "end": end}),
    ]:
        found = split_rendered(render(name, **values))
        assert found is not None
        query, literals = found
        assert query is load_query(name)
        assert literals == {p: quote(v) for p, v in values.items()}


@given(job=TEXT, suffix=st.text(min_size=1))
def test_split_rendered_refuses_anything_appended(job: str, suffix: str) -> None:
    text = render("doctor_tables", job=job, start=START, end=END)
    assert split_rendered(text + suffix) is None


def _tamper(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_split_rendered_refuses_what_render_would_not_write() -> None:
    good = render("doctor_tables", job="orders", start=START, end=END)
    body = load_query("doctor_tables").text
    lets = good[: -len(body)]
    assert split_rendered(good) is not None
    refused = [
        "",
        body,  # no values bound
        "ContainerAppSystemLogs | take 10",
        _tamper(good, 'let job = "orders";', "let job = 'orders';"),
        _tamper(good, 'let job = "orders";', 'let job = "ord" "ers";'),
        _tamper(good, 'let job = "orders";', 'let job = h"orders";'),
        _tamper(good, 'let job = "orders";', 'let job = @"orders";'),
        _tamper(good, 'let job = "orders";', 'let job = "orders"; print 1;'),
        _tamper(good, 'let job = "orders";', 'let job = "orders" // x;'),
        _tamper(good, 'let job = "orders";', 'let job = "o\\x72ders";'),
        _tamper(good, 'let job = "orders";', "let job = strcat('ord', 'ers');"),
        _tamper(good, 'let job = "orders";', "let job = long(1);"),
        _tamper(good, "let start = datetime(2026-11-28T09:00:00.000000Z);", "let start = ago(1h);"),
        _tamper(good, "datetime(2026-11-28T09:00:00.000000Z)", "datetime(2026-11-28)"),
        _tamper(good, "datetime(2026-11-28T09:00:00.000000Z)", "datetime(2026-13-28T09:00:00.000000Z)"),
        _tamper(good, "let start", "let  start"),
        lets.replace("\n", "\r\n") + body,
        "\n".join(reversed(lets.rstrip("\n").split("\n"))) + "\n" + body,  # declared order only
        'let x = "1";\n' + good,
        _tamper(good, "| take 10\n", "| take 5000\n"),
        good.replace("\n", "\n ", 1),
    ]
    for text in refused:
        assert split_rendered(text) is None, text[:200]
