"""The canned-query loader refuses what would let a query, or a value, be something it should not: a name
that is not a file stem, a malformed `// params:` header, a value of the wrong kind for its declared type.
And the emulator's recogniser takes back only literals exactly as `render` writes them.

Each test points `bot.kql` at its own query directory, so the repository's `kql/` is never touched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot import kql
from bot.emulator import kql_readback
from bot.emulator.kql_readback import split_inlined, split_rendered
from bot.kql import QueryFileError, load_query, render, render_inline

TYPED = """// Every kind of parameter, for the tests.
// params: s:string, t:datetime, b:bool, n:long, i:int, r:real, span:timespan, names:dynamic
// returns: Name:string, At:datetime
Rows | where Name == s and At > t and Ok == b and N == n and I == i and R == r and Age < span and Name in (names)
| project Name, At
| sort by At desc, Name asc | take 10
"""
VALUES: dict[str, object] = {
    "s": 'a "quoted"\nname', "t": datetime(2026, 12, 5, 9, 30, tzinfo=UTC), "b": True, "n": -42, "i": 7,
    "r": 2.5, "span": timedelta(days=-1, hours=3), "names": ["x", "y\\z"],
}


@pytest.fixture()
def queries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(kql, "QUERY_DIR", tmp_path)
    load_query.cache_clear()
    kql_readback._inline_pattern.cache_clear()
    (tmp_path / "typed.kql").write_text(TYPED)
    yield tmp_path
    load_query.cache_clear()  # the repository's queries for the tests after this one
    kql_readback._inline_pattern.cache_clear()


def write(directory: Path, name: str, header: str, body: str = "Rows | take 1\n") -> None:
    (directory / f"{name}.kql").write_text(f"// A test query.\n{header}{body}")


@pytest.mark.parametrize("name", ["../secrets", "Typed", "typed.kql", "", "typed;drop"])
def test_a_name_that_is_not_a_query_file_stem_never_reaches_the_file_system(queries: Path, name: str) -> None:
    with pytest.raises(QueryFileError, match="names are lower-case file stems"):
        load_query(name)


def test_an_unknown_query_names_the_ones_there_are(queries: Path) -> None:
    write(queries, "other", "// params:\n")
    with pytest.raises(QueryFileError, match=r"unknown canned query 'missing' \(known: other, typed;"):
        load_query("missing")


def test_with_no_query_directory_at_all_the_message_says_none_are_known(queries: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kql, "QUERY_DIR", queries / "absent")
    with pytest.raises(QueryFileError, match=r"\(known: none;"):
        load_query("typed")


@pytest.mark.parametrize(("header", "problem"), [
    ("", "expected exactly one '// params:' header line, found 0"),
    ("// params: a:string\n// params: b:string\n", "expected exactly one '// params:' header line, found 2"),
    ("// params: a\n", "bad parameter 'a' in '// params:' (want name:type)"),
    ("// params: a:float\n", "bad parameter 'a:float'"),
    ("// params: 1a:string\n", "bad parameter '1a:string'"),
    ("// params: a:string, a:long\n", "parameter 'a' declared twice"),
])
def test_a_malformed_params_header_is_refused_naming_the_file(queries: Path, header: str, problem: str) -> None:
    write(queries, "broken", header)
    with pytest.raises(QueryFileError) as refused:
        load_query("broken")
    assert str(refused.value).startswith("broken.kql: ") and problem in str(refused.value)


def test_an_empty_params_header_declares_none(queries: Path) -> None:
    write(queries, "plain", "// params:\n")
    assert load_query("plain").params == ()
    assert render("plain") == load_query("plain").text


def test_returns_and_order_headers_are_read_and_absent_ones_give_nothing(queries: Path) -> None:
    typed = load_query("typed")
    assert typed.columns == ("Name", "At")
    assert typed.order == (("At", True), ("Name", False))
    write(queries, "unordered", "// params:\n", "Rows | project Name\n")
    assert load_query("unordered").columns == () and load_query("unordered").order == ()
    write(queries, "by_expression", "// params:\n", "Rows | top 5 by strlen(Name)\n")
    assert load_query("by_expression").order == (), "an expression is no column the rows can be sorted by"
    write(queries, "top", "// params:\n", "Rows | top 5 by At\n")
    assert load_query("top").order == (("At", True),), "Kusto's default order is descending"


def test_every_type_renders_and_the_emulator_reads_each_literal_back(queries: Path) -> None:
    text = render("typed", **VALUES)
    assert text.splitlines()[:8] == [
        'let s = "a \\"quoted\\"\\nname";',
        "let t = datetime(2026-12-05T09:30:00.000000Z);",
        "let b = true;",
        "let n = long(-42);",
        "let i = int(7);",
        "let r = real(2.5);",
        "let span = timespan(-0.21:00:00.000000);",
        'let names = dynamic(["x", "y\\\\z"]);',
    ]
    found = split_rendered(text)
    assert found is not None and found[0].name == "typed"
    assert found[1]["span"] == "timespan(-0.21:00:00.000000)"


@pytest.mark.parametrize(("line", "forged"), [
    ("let b = true;", "let b = True;"),
    ("let n = long(-42);", "let n = long(-042);"),
    ("let i = int(7);", "let i = int(07);"),
    ("let i = int(7);", "let i = int(9999999999);"),
    ("let r = real(2.5);", "let r = real(2.50);"),
    ("let span = timespan(-0.21:00:00.000000);", "let span = timespan(-0.21:00:60.000000);"),
    ("let t = datetime(2026-12-05T09:30:00.000000Z);", "let t = datetime(2026-13-05T09:30:00.000000Z);"),
    ("let names = dynamic([\"x\", \"y\\\\z\"]);", "let names = dynamic([\"x\"]) | union Secrets;"),
])
def test_a_literal_not_in_renders_own_form_is_not_recognised(queries: Path, line: str, forged: str) -> None:
    text = render("typed", **VALUES)
    assert line in text
    assert split_rendered(text.replace(line, forged)) is None


@pytest.mark.parametrize(("name", "value", "error"), [
    ("s", 5, "parameter 's' is declared string; got a int"),
    ("t", "2026-12-05", "parameter 't' is declared datetime; got a str"),
    ("b", 1, "parameter 'b' is declared bool; got a int"),
    ("n", True, "parameter 'n' is declared long; got a bool"),
    ("i", 2**31, "parameter 'i': 2147483648 does not fit Kusto's int (32-bit)"),
    ("r", "2.5", "parameter 'r' is declared real; got a str"),
    ("span", 60, "parameter 'span' is declared timespan; got a int"),
    ("names", "x", "parameter 'names' is declared dynamic; got a str"),
])
def test_a_value_of_the_wrong_kind_is_refused_before_any_text_is_built(queries: Path, name: str, value: object,
                                                                       error: str) -> None:
    with pytest.raises((TypeError, ValueError)) as refused:
        render("typed", **{**VALUES, name: value})
    assert str(refused.value) == error


def test_a_whole_number_for_a_real_is_written_as_a_real(queries: Path) -> None:
    assert "let r = real(3.0);" in render("typed", **{**VALUES, "r": 3})


def test_a_declared_guid_takes_no_value_yet(queries: Path) -> None:
    write(queries, "by_guid", "// params: g:guid\n")
    with pytest.raises(TypeError, match="parameter 'g' is declared guid; got a str"):
        render("by_guid", g="0f8fad5b-d9cb-469f-a165-70867728950e")


def test_a_datetime_that_cannot_be_put_in_utc_is_refused() -> None:
    far = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))
    with pytest.raises(ValueError, match="out of range in UTC"):
        kql.quote(far)


def test_inlined_queries_bind_each_use_of_a_parameter_to_one_literal(queries: Path) -> None:
    write(queries, "twice", "// params: job:string\n", "Rows | where Name == job or Parent == job\n")
    text = render_inline("twice", job="invoice-renderer")
    assert text == 'Rows | where Name == "invoice-renderer" or Parent == "invoice-renderer"\n'
    found = split_inlined(text)
    assert found is not None and found[1] == {"job": '"invoice-renderer"'}
    assert split_inlined(text.replace('Parent == "invoice-renderer"', 'Parent == "other"')) is None, \
        "two different values for one parameter"
    with pytest.raises(ValueError, match=r"twice.kql takes \(job\): missing job; unexpected name"):
        render_inline("twice", name="x")


def test_an_inlined_literal_in_a_form_render_never_writes_is_refused(queries: Path) -> None:
    write(queries, "by_count", "// params: n:long\n", "Rows | take n\n")
    assert split_inlined(render_inline("by_count", n=5)) is not None
    assert split_inlined("Rows | take long(05)\n") is None
