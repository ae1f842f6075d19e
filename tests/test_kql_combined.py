"""Several canned queries as one request (issue 12: a review's queries in one round of Log Analytics' five): each
query's rows out of the combined answer are exactly its rows alone, on every bundled scenario, run by the
emulator's engine on the real `.kql` files; Kusto.Language accepts the combined text; the emulator refuses
anything that is not exactly such a text."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.assets import bundled_scenarios
from bot.azure.order import sort_rows
from bot.emulator.kql_readback import split_combined
from bot.emulator.logs import LogStore
from bot.emulator.scenario import Scenario, load_scenario
from bot.kql import load_query, render
from bot.kql_combined import QUERY_COLUMN, body, column_types, compatible, render_combined, split
from tests.support.log_stores import open_log_stores
from tests.test_kql_files import KQL_DIR, _run_checker

# What a review asks over its window: the triage's four job queries and the review's own four.
REVIEW_WINDOW_QUERIES = ("failed_executions", "exit_codes", "platform_errors", "console_errors",
                         "execution_durations", "log_volume", "secret_shaped_logs", "message_reprocessing")


def values(scenario: Scenario, job: str) -> dict[str, Any]:
    return {"job": job, "jobs": [job], "start": scenario.now - timedelta(days=7), "end": scenario.now,
            "message_id_regex": r"(?:message|msg|batch)[ =]([\w-]+)"}


def parts(scenario: Scenario, job: str) -> list[tuple[str, dict[str, Any]]]:
    given = values(scenario, job)
    return [(name, {p: given[p] for p in load_query(name).param_names}) for name in REVIEW_WINDOW_QUERIES]


def table_rows(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    table = answer["tables"][0]
    columns = [c["name"] for c in table["columns"]]
    return [dict(zip(columns, row, strict=True)) for row in table["rows"]]


def in_order(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    canned = load_query(name)  # as the bot receives them (bot.azure.logs)
    return sort_rows(rows, canned.order, canned.columns)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Scenario, LogStore]]]:
    yield from open_log_stores(tmp_path_factory)


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: Path(p).stem)
def test_each_querys_rows_of_a_combined_answer_equal_its_own(path: Path,
                                                            stores: dict[str, tuple[Scenario, LogStore]]) -> None:
    scenario, store = stores[path.stem]
    job = str((scenario.expect or {}).get("job") or scenario.jobs[0]["name"])
    asked = parts(scenario, job)
    text = render_combined(asked)
    assert split_combined(text) is not None, "the emulator runs what the bot sends"
    combined = table_rows(store.run(text))
    assert {row[QUERY_COLUMN] for row in combined} <= set(REVIEW_WINDOW_QUERIES)
    for name, params in asked:
        alone = in_order(name, table_rows(store.run(render(name, **params))))
        assert in_order(name, split(combined, name)) == alone, f"{name}: its rows differ in the combined answer"


def test_the_comparison_above_sees_rows_of_most_queries(stores: dict[str, tuple[Scenario, LogStore]]) -> None:
    """Not vacuous: the bundled worlds give rows to most of the combined queries."""
    seen: set[str] = set()
    for scenario, store in stores.values():
        job = str((scenario.expect or {}).get("job") or scenario.jobs[0]["name"])
        seen |= {row[QUERY_COLUMN] for row in table_rows(store.run(render_combined(parts(scenario, job))))}
    assert len(seen) >= 6, sorted(seen)


def test_queries_go_together_only_when_their_values_and_columns_agree() -> None:
    now = load_scenario(bundled_scenarios()[0]).now
    window = {"job": "a", "jobs": ["a"], "start": now - timedelta(hours=1), "end": now}
    assert compatible(["exit_codes", "log_volume"], [window, window])
    # the same parameter with two values (another window) cannot be bound once
    earlier = {**window, "start": now - timedelta(days=1)}
    assert not compatible(["exit_codes", "log_volume"], [window, earlier])
    assert not compatible(["exit_codes", "exit_codes"], [window, window])  # twice the same query
    with pytest.raises(ValueError, match="cannot go as one"):
        render_combined([("exit_codes", window), ("log_volume", earlier)])
    with pytest.raises(ValueError, match="cannot go as one"):
        render_combined([("exit_codes", window)])
    # every canned query's columns say their types, so agreement is judged on all of them
    assert all(column_types(load_query(name)) for name in REVIEW_WINDOW_QUERIES)


def test_the_emulator_refuses_anything_but_an_exact_combined_text() -> None:
    scenario = load_scenario(bundled_scenarios()[0])
    text = render_combined(parts(scenario, "orders-processor"))
    found = split_combined(text)
    assert found is not None and [q.name for q, _ in found] == list(REVIEW_WINDOW_QUERIES)
    prologue, _, rest = text.partition("union\n")
    lines = prologue.splitlines(keepends=True)
    tampered = {
        "an extra statement": text.replace("union\n", "ContainerAppConsoleLogs_CL | take 1;\nunion\n"),
        "a changed leg": text.replace("| take 1000", "| take 100000", 1),
        "a parameter missing": "".join(lines[1:]) + "union\n" + rest,
        "the prologue out of order": "".join(reversed(lines)) + "union\n" + rest,
        "a literal not as render writes it": text.replace('"orders-processor";', "'orders-processor';"),
        "an unknown query": text.replace(f'{QUERY_COLUMN} = "log_volume"', f'{QUERY_COLUMN} = "log_volumes"'),
        "a leg twice": prologue + body(["exit_codes", "exit_codes"]),
        "one query alone": render("exit_codes", jobs=["a"], start=scenario.now, end=scenario.now),
    }
    for what, bad in tampered.items():
        assert bad != text, what
        assert split_combined(bad) is None, what


@pytest.mark.node
def test_kusto_language_accepts_the_combined_text_with_one_column_per_name(tmp_path: Path) -> None:
    declared: dict[str, str] = {}
    columns: dict[str, str] = {}
    for index, name in enumerate(REVIEW_WINDOW_QUERIES):
        declared.update(load_query(name).params)
        for column, kind in column_types(load_query(name)).items():
            columns.setdefault(column, kind)
        if index == 0:  # a union's columns: the first leg's (with its Query), then each new one as it comes
            columns[QUERY_COLUMN] = "string"
    params = ", ".join(f"{p}:{t}" for p, t in sorted(declared.items()))
    returns = ", ".join(f"{c}:{t}" for c, t in columns.items())
    path = tmp_path / "combined.kql"
    path.write_text(f"// the review's window queries as one\n// params: {params}\n// returns: {returns}\n"
                    + body(REVIEW_WINDOW_QUERIES) + "\n", encoding="utf-8")
    proc = _run_checker("--schema", str(KQL_DIR / "schema.json"), str(path))
    report = json.loads(proc.stdout)[0]
    assert report["errors"] == [], report["errors"]
    # One column per name, of the type every query gives it (a union splits a column whose types differ).
    assert [f"{n}:{t}" for n, t in report["columns"]] == returns.split(", ")
    assert proc.returncode == 0, proc.stderr
