"""Text from jobs, Azure and people reaches Slack escaped and cut without broken markup: no forged link or
ping, no half entity, no unclosed code span, and moments shown in the reader's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from bot.slack.mrkdwn import code_span, cut_line, escape, fit, fit_joined, link, mention, when


def test_escape_turns_a_forged_mention_and_link_into_plain_text() -> None:
    assert escape("<!channel> see <https://evil|docs> & more") == (
        "&lt;!channel&gt; see &lt;https://evil|docs&gt; &amp; more")


def test_fit_keeps_short_text_whole_and_escaped() -> None:
    assert fit("a<b", 10) == "a&lt;b"
    assert fit("a<b", 6) == "a&lt;b"  # exactly the limit: nothing cut, no note


def test_fit_never_cuts_inside_an_entity() -> None:
    # Escaped, "x&&&&&" is 26 characters; cut to 10, a whole "&amp;" fits, a second would not.
    out = fit("x&&&&&", 10)
    assert out == "x&amp;…"
    assert len(out) <= 10


def test_fit_drops_trailing_space_before_the_note_and_respects_a_custom_note() -> None:
    assert fit("word     more words here", 10, note=" [cut]") == "word [cut]"


def test_fit_joined_counts_the_items_that_do_not_fit_instead_of_cutting_one() -> None:
    items = ["`first`", "`second`", "`third`", "`fourth`"]
    assert fit_joined(items, 1000) == "`first` · `second` · `third` · `fourth`"
    out = fit_joined(items, 40)
    assert out == "`first` · `second` · … 2 more notes"
    assert len(out) <= 40
    assert fit_joined(items, 5) == "… 4 more notes"


def test_cut_line_leaves_a_short_line_alone() -> None:
    assert cut_line("short", 10) == "short"


def test_cut_line_never_ends_inside_a_link_token() -> None:
    line = "see <https://portal.azure.com/#blade/x|the job in the portal> now"
    out = cut_line(line, 30)
    assert out == "see…"


def test_cut_line_never_ends_inside_an_entity() -> None:
    out = cut_line("a &lt;tag&gt; b", 6)  # the first 5 characters end in the middle: "a &lt"
    assert out == "a…"
    out = cut_line("abc &amp; def", 8)
    assert out == "abc…"


def test_cut_line_never_leaves_a_code_span_open() -> None:
    out = cut_line("exit `OOMKilled after 3 retries` then", 15)
    assert out == "exit…"
    assert out.count("`") % 2 == 0


def test_code_span_makes_one_line_turns_backticks_into_quotes_and_skips_empty_text() -> None:
    assert code_span("line one\nline `two`", 40) == "`line one line 'two'`"
    assert code_span("", 40) == ""
    assert code_span("x" * 50, 12).startswith("`") and len(code_span("x" * 50, 12)) <= 12


def test_link_without_url_is_plain_escaped_text() -> None:
    assert link(None, "<b> & c") == "&lt;b&gt; &amp; c"
    assert link("", "job") == "job"


def test_link_cannot_be_forged_by_its_label_or_url() -> None:
    out = link("https://portal.azure.com/?a=1&b=<x>|y", "job | <@U123>")
    assert out == "<https://portal.azure.com/?a=1&amp;b=%3Cx%3E%7Cy|job / &lt;@U123&gt;>"
    assert out.count("|") == 1


def test_mention_passes_real_mentions_and_escapes_anything_else() -> None:
    assert mention("  <@U0ONCALL>  ") == "<@U0ONCALL>"
    assert mention("<!subteam^S0TEAM|@oncall>") == "<!subteam^S0TEAM|@oncall>"
    assert mention("<!channel>") == "&lt;!channel&gt;"
    assert mention("team-" + "x" * 300, limit=20).endswith("…")


def test_when_is_a_slack_date_token_with_a_utc_fallback() -> None:
    moment = datetime(2026, 12, 5, 21, 30, tzinfo=UTC)
    stamp = int(moment.timestamp())
    assert when(moment) == f"<!date^{stamp}^{{date_short_pretty}} {{time}}|2026-12-05 21:30 UTC>"
    assert when(moment, time_only=True) == f"<!date^{stamp}^{{time}}|21:30 UTC>"


def test_when_reads_iso_text_other_zones_and_naive_times_as_utc() -> None:
    stamp = int(datetime(2026, 12, 5, 21, 30, tzinfo=UTC).timestamp())
    assert when("2026-12-05T21:30:00Z", time_only=True) == f"<!date^{stamp}^{{time}}|21:30 UTC>"
    plus_two = datetime(2026, 12, 5, 23, 30, tzinfo=timezone(timedelta(hours=2)))
    assert when(plus_two, time_only=True) == f"<!date^{stamp}^{{time}}|21:30 UTC>"
    assert when(datetime(2026, 12, 5, 21, 30), time_only=True) == f"<!date^{stamp}^{{time}}|21:30 UTC>"


def test_when_shows_what_it_cannot_read_escaped_and_nothing_as_a_question_mark() -> None:
    assert when("yesterday <@U1>") == "yesterday &lt;@U1&gt;"
    assert when(None) == "?"
    assert when("") == "?"
    assert when(12345) == "12345"
