"""Inlined rendering (bot.kql.render_inline), for Azure Resource Graph, which has no `let` statement:
every parameter use becomes its `quote`d literal, and `split_inlined` recognises exactly that text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import kql
from bot.emulator import kql_readback as readback

START = datetime(2026, 11, 27, 10, tzinfo=UTC)
SAMPLES: dict[str, object] = {"string": "orders-processor", "datetime": START, "dynamic": ["a", "b"],
                              "timespan": timedelta(hours=1), "long": 5, "bool": True}


def values_for(query: kql.CannedQuery) -> dict[str, object]:
    return {name: SAMPLES[kind] for name, kind in query.params}


@pytest.mark.parametrize("query", kql.all_queries(), ids=lambda q: q.name)
def test_every_canned_query_inlines_and_is_recognised(query: kql.CannedQuery) -> None:
    text = kql.render_inline(query.name, **values_for(query))
    assert "let " not in text and "//" not in text.split("@")[0]
    found = readback.split_inlined(text)
    assert found is not None and found[0].name == query.name
    for name, kind in query.params:
        if name in found[1]:
            assert found[1][name] == kql.quote(SAMPLES[kind])
    assert readback.split_rendered(text) is None


def test_members_and_strings_named_like_a_parameter_are_left_alone() -> None:
    text = kql.render_inline("resource_changes", resource_ids=["x"], related=[], start=START)
    assert "properties.changeAttributes.timestamp" in text  # not a parameter
    assert "ChangeTime >= datetime(2026-11-27T10:00:00.000000Z)" in text
    assert 'TargetId in (dynamic(["x"]))' in text and "TopName in (dynamic([]))" in text
    ranged = kql.render_inline("exit_codes", jobs=["j"], start=START, end=START + timedelta(hours=1))
    assert "datetime(2026-11-27T10:00:00.000000Z) .. datetime(2026-11-27T11:00:00.000000Z)" in ranged


@given(ids=st.lists(st.text(max_size=30).filter(lambda s: not any("\ud800" <= c <= "\udfff" for c in s)),
                    max_size=4))
def test_any_values_round_trip_and_nothing_else_is_accepted(ids: list[str]) -> None:
    text = kql.render_inline("resource_changes", resource_ids=ids, related=ids[:1], start=START)
    found = readback.split_inlined(text)
    assert found is not None
    assert found[1]["resource_ids"] == kql.quote(ids) and found[1]["related"] == kql.quote(ids[:1])
    assert readback.split_inlined(text.replace("take 500", "take 5000")) is None
    assert readback.split_inlined(text + "\n| where 1 == 1") is None


def test_wrong_parameters_are_refused_as_render_refuses_them() -> None:
    with pytest.raises(ValueError, match="missing start"):
        kql.render_inline("resource_changes", resource_ids=[], related=[])
    with pytest.raises(TypeError):
        kql.render_inline("resource_changes", resource_ids="x", related=[], start=START)
