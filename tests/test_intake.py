"""User input -> typed request; anything odd is refused with a clear message before a query exists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import InvalidRequest
from bot.intake import MAX_SINCE, parse_job, parse_since


@given(st.integers(min_value=1, max_value=9999), st.sampled_from(["m", "h", "d"]))
def test_since_accepts_amount_and_unit_up_to_seven_days(amount: int, unit: str) -> None:
    expected = timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    if expected > MAX_SINCE:
        with pytest.raises(InvalidRequest):
            parse_since(f"{amount}{unit}")
    else:
        assert parse_since(f"{amount}{unit}") == expected


@given(st.text())
def test_since_never_crashes_on_arbitrary_text(text: str) -> None:
    try:
        since = parse_since(text)
    except InvalidRequest as error:
        assert str(error)
    else:
        assert timedelta(0) < since <= MAX_SINCE


def test_since_defaults_to_one_hour() -> None:
    assert parse_since(None) == timedelta(hours=1)


@pytest.mark.parametrize("bad", ["orders processor", "orders;drop", "orders'", "j\"ob", "a/b", "", "x" * 65,
                                 "orders\nprocessor", "ordérs"])
def test_job_names_outside_letters_digits_hyphens_are_refused(bad: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_job(bad)


def test_full_arm_id_gives_name_group_and_subscription() -> None:
    spec = parse_job("/subscriptions/s1/resourceGroups/rg-orders/providers/Microsoft.App/jobs/orders-processor")
    assert (spec.name, spec.resource_group, spec.subscription) == ("orders-processor", "rg-orders", "s1")


@given(st.text(alphabet=st.characters(codec="ascii"), min_size=1, max_size=80))
def test_parse_job_accepts_only_the_job_name_alphabet(text: str) -> None:
    try:
        spec = parse_job(text)
    except InvalidRequest:
        return
    assert all(ch.isalnum() or ch == "-" for ch in spec.name)
