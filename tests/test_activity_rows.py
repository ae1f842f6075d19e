"""The one reading of Activity Log rows, shared by the verdict's suspect and the property-level change records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.evidence.activity_rows import activity_row, activity_rows
from bot.evidence.change_sources import activity_records

JOB_ID = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.App/jobs/orders"


def test_a_row_from_log_analytics_text_reads_the_same_as_one_from_a_mapping() -> None:
    # Log Analytics returns Properties as JSON text and TimeGenerated as text with 7 digits and no offset
    # (as ARM writes it); an emulator may hand over a mapping and a datetime. Both read alike.
    as_text = activity_row({"TimeGenerated": "2026-11-28T09:10:11.1234567", "OperationNameValue": "x/write",
                            "Properties": '{"requestbody": "{}", "statusCode": "OK"}', "Caller": "  a@contoso.com "})
    as_mapping = activity_row({"TimeGenerated": datetime(2026, 11, 28, 9, 10, 11, 123456, tzinfo=UTC),
                               "OperationNameValue": "x/write",
                               "Properties": {"requestbody": "{}", "statusCode": "OK"}, "Caller": "a@contoso.com"})
    assert as_text is not None and as_mapping is not None
    assert as_text.time == as_mapping.time == datetime(2026, 11, 28, 9, 10, 11, 123456, tzinfo=UTC)
    assert as_text.properties == as_mapping.properties == {"requestbody": "{}", "statusCode": "OK"}
    assert as_text.caller == as_mapping.caller == "a@contoso.com"


def test_a_bag_cut_short_by_the_activity_log_keeps_its_text_for_matching() -> None:
    cut = '{"requestbody": "{\\"properties\\": {\\"principalId\\": \\"0f1e2d3c-4b5a'
    event = activity_row({"TimeGenerated": "2026-11-28T09:00:00Z", "Properties": cut})
    assert event is not None
    assert event.properties == {}
    assert "0f1e2d3c-4b5a" in event.properties_text  # a principal named in a cut body still matches


def test_rows_without_a_readable_time_are_dropped_and_the_rest_come_newest_first() -> None:
    events = activity_rows([
        {"TimeGenerated": "2026-11-28T09:00:00Z", "OperationNameValue": "old"},
        {"TimeGenerated": "not a time", "OperationNameValue": "garbled"},
        {"OperationNameValue": "no time"},
        {"TimeGenerated": "2026-11-28T10:00:00Z", "OperationNameValue": "new"},
    ])
    assert [e.operation for e in events] == ["new", "old"]


def test_change_records_and_the_verdict_read_the_same_caller_and_time() -> None:
    row = {"TimeGenerated": "2026-11-28T09:10:11.1234567", "CategoryValue": "Administrative",
           "OperationNameValue": "Microsoft.App/jobs/stop/action", "ActivityStatusValue": "Succeeded",
           "Caller": " ops@contoso.com ", "ResourceId": JOB_ID, "CorrelationId": "c1", "Properties": "{}"}
    [event] = activity_rows([row])
    [record] = activity_records([row])
    assert (record.time, record.caller) == (event.time, event.caller)
    assert record.operation == "MICROSOFT.APP/JOBS/STOP/ACTION" and event.operation == "Microsoft.App/jobs/stop/action"


_values = st.one_of(st.none(), st.text(max_size=30), st.integers(), st.booleans(),
                    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3), st.datetimes())


@given(st.dictionaries(st.sampled_from(["TimeGenerated", "CategoryValue", "OperationNameValue",
                                        "ActivityStatusValue", "Caller", "ResourceId", "CorrelationId",
                                        "Properties"]), _values))
def test_any_row_is_read_or_skipped_never_an_exception(row: dict[str, Any]) -> None:
    event = activity_row(row)
    if event is not None:
        assert event.time.tzinfo is not None  # always comparable with ARM and Resource Graph times
        assert isinstance(event.properties_text, str)
    assert isinstance(activity_records([row]), list)
