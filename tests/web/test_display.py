"""How values read on the pages: pure formatting, no app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm.web.display import ago, duration, money, money_map, nps_category, number, split_quoted, when


def test_dates_read_in_utc_and_relative_times_in_words():
    at = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)
    assert when(at) == "30 Nov 2026, 14:05 UTC"
    assert when("2026-11-30T15:05:00+01:00") == "30 Nov 2026, 14:05 UTC"
    assert when(None) == "—"
    assert ago(at - timedelta(days=3), now=at) == "3 days ago"
    assert ago(at - timedelta(minutes=1), now=at) == "1 minute ago"
    assert ago(at + timedelta(hours=2), now=at) == "in 2 hours"
    assert ago(at, now=at) == "just now"


def test_money_scores_and_durations_read_as_people_write_them():
    assert money("1234.5", "USD") == "USD 1,234.50"
    assert money_map({"USD": "12", "EUR": "3.5"}) == "EUR 3.50 · USD 12.00"
    assert money_map({}) == "—"
    assert number(9.0) == "9" and number(2.5) == "2.5" and number("x") == "x"
    assert (
        duration(245) == "4 min 05 s" and duration(7800) == "2 h 10 min" and duration(3 * 86400 + 4 * 3600) == "3 d 4 h"
    )
    assert [nps_category(s) for s in (10, 9, 8, 7, 6, 0)] == ["promoter"] * 2 + ["passive"] * 2 + ["detractor"] * 2


def test_an_emails_quoted_history_is_split_from_its_own_words():
    text = "Thanks, that works.\n\nOn Mon, 30 Nov 2026 Ann wrote:\n> Can you ship Friday?\n> Ann"
    own, quoted = split_quoted(text)
    assert own == "Thanks, that works."
    assert quoted.startswith("On Mon, 30 Nov 2026 Ann wrote:") and "> Can you ship Friday?" in quoted
    assert split_quoted("> only a quote") == ("> only a quote", "")
    assert split_quoted("No quote here.\nSecond line.") == ("No quote here.\nSecond line.", "")
    assert split_quoted(None) == ("", "")
