"""Duplicate scoring, pure: the evidence beyond names, address and birth date that a person reviewing a
suggestion can check — a first name read from the email address, a mistyped email domain, and where the
phone numbers say someone lives."""

from __future__ import annotations

from dataclasses import replace

from crm.profiles.similarity import Frequencies, PersonRecord, blocking_keys, explain_pair, score_pair

HOME = {"line1": "12 Elm Street", "postcode": "94110", "city": "San Francisco", "country": "US"}
# Sixteen cities of 100 customers, each with the area code its phones start with.
AREAS = {
    "San Francisco": "1415",
    "New York": "1212",
    "Boston": "1617",
    "Houston": "1713",
    "Seattle": "1206",
    "Denver": "1303",
    "Miami": "1305",
    "Austin": "1512",
    "Chicago": "1312",
    "Atlanta": "1404",
    "Portland": "1503",
    "Oakland": "1510",
    "Brooklyn": "1718",
    "Springfield": "1217",
    "Phoenix": "1602",
    "Dallas": "1214",
}


def _callers(size: int = 1600) -> list[PersonRecord]:
    """Customers with a city and a phone from its area code; Dana is 1 first name in 60."""
    cities = list(AREAS)
    firsts = ["dana"] + [f"first{i}" for i in range(59)]
    return [
        PersonRecord(
            10_000 + i,
            first_name=firsts[i % 60],
            last_name=f"last{(i // 60) % 40}",
            city=cities[i % 16],
            country="US",
            phones=(f"+{AREAS[cities[i % 16]]}{5550000 + i:07d}",),
        )
        for i in range(size)
    ]


def _germans(size: int = 200) -> list[PersonRecord]:
    return [PersonRecord(20_000 + i, first_name=f"first{i % 60}", last_name=f"last{i % 40}", city="Köln", country="DE")
            for i in range(size)]  # fmt: skip


# --- a first name read from the email address ----------------------------------------------------


def test_surname_only_profile_at_the_same_address_is_suggested_when_its_email_gives_the_first_name():
    harry = PersonRecord(1, first_name="Harry", last_name="Kennedy", **HOME)
    mailbox = PersonRecord(2, last_name="Kennedy", emails=("kennedy.harry@gmail.com",), **HOME)
    s = score_pair(harry, mailbox)
    assert s is not None
    assert "first name Harry read from the email address" in s.reasons
    assert "same street address" in s.reasons
    # Without the email, the surname-only profile might as well be Harry's wife or son.
    assert score_pair(harry, replace(mailbox, emails=())) is None


def test_a_relatives_mailbox_at_the_same_address_is_not_suggested():
    harry = PersonRecord(1, first_name="Harry", last_name="Kennedy", **HOME)
    margaret = PersonRecord(2, last_name="Kennedy", emails=("margaret.kennedy@gmail.com",), **HOME)
    assert score_pair(harry, margaret) is None


def test_an_initial_read_from_the_email_address_says_where_it_came_from():
    harry = PersonRecord(1, first_name="Harry", last_name="Kennedy", **HOME)
    mailbox = PersonRecord(2, last_name="Kennedy", emails=("hkennedy@gmail.com",), **HOME)
    reasons = explain_pair(harry, mailbox)[1]
    assert "first initial H read from the email address" in reasons
    assert not any(r.startswith("first initial H matches") for r in reasons)


def test_a_profile_with_a_first_name_keeps_it_whatever_its_email_says():
    harry = PersonRecord(1, first_name="Harry", last_name="Kennedy", **HOME)
    margaret = PersonRecord(2, first_name="Margaret", last_name="Kennedy", emails=("kennedy.harry@gmail.com",), **HOME)
    reasons = explain_pair(harry, margaret)[1]
    assert score_pair(harry, margaret) is None
    assert not any("read from the email address" in r for r in reasons)


def test_a_surname_only_profile_meets_the_full_name_in_blocking_through_its_email():
    # The surname field holds the first name (a form filled in the wrong order); the mailbox holds both.
    swapped = PersonRecord(1, last_name="Robert", emails=("stephens.robert@aol.com",))
    robert = PersonRecord(2, first_name="Robert", last_name="Stephens", postcode="98101")
    assert blocking_keys(swapped) & blocking_keys(robert)
    assert "first and last names swapped" in explain_pair(swapped, robert)[1]


# --- a mistyped email domain ------------------------------------------------------------------------


def test_a_rare_misspelling_of_a_big_provider_is_one_edit_apart():
    domains = ["gmail.com"] * 1000 + ["gmial.com"] * 40 + ["mail.com"] * 300
    freq = Frequencies.from_records(PersonRecord(i, emails=(f"u{i}@{d}",)) for i, d in enumerate(domains))
    a = PersonRecord(5001, first_name="Mary", last_name="Vargas", emails=("vargas.mary@gmail.com",))
    typo = PersonRecord(5002, first_name="Mary", last_name="Vargas", emails=("vargas.mary@gmial.com",))
    other = PersonRecord(5003, first_name="Mary", last_name="Vargas", emails=("vargas.mary@mail.com",))
    assert "emails one edit apart" in explain_pair(a, typo, frequencies=freq)[1]
    assert "emails one edit apart" not in explain_pair(a, other, frequencies=freq)[1]


# --- where the phones say someone lives -------------------------------------------------------------


def test_a_phone_from_the_other_profiles_city_is_suggested_without_an_address():
    a = PersonRecord(1, first_name="Dana", last_name="Okafor", phones=("+14155550132",))
    b = PersonRecord(2, first_name="Dana", last_name="Okafor", city="San Francisco", country="US")
    freq = Frequencies.from_records([a, b, *_callers()])
    s = score_pair(a, b, frequencies=freq)
    assert s is not None
    assert "phone number from the same city" in s.reasons
    # A New York number: more likely the other Dana Okafor, who lives there.
    elsewhere = replace(a, phones=("+12125550132",))
    assert score_pair(elsewhere, b, frequencies=freq) is None


def test_an_area_code_nobody_has_says_no_more_than_the_country_everyone_shares():
    a = PersonRecord(1, first_name="Dana", last_name="Okafor", phones=("+19075550132",))  # Alaska: nobody here
    b = PersonRecord(2, first_name="Dana", last_name="Okafor", city="San Francisco", country="US")
    freq = Frequencies.from_records([a, b, *_callers()])
    assert explain_pair(a, b, frequencies=freq)[0] == explain_pair(replace(a, phones=()), b, frequencies=freq)[0]


def test_a_profile_that_moved_and_kept_its_phone_number_is_suggested():
    boston = PersonRecord(1, first_name="Dana", last_name="Okafor", city="Boston", country="US")
    moved = PersonRecord(
        2, first_name="Dana", last_name="Okafor", city="Houston", country="US", phones=("+16175550199",)
    )
    freq = Frequencies.from_records([boston, moved, *_callers()])
    s = score_pair(boston, moved, frequencies=freq)
    assert s is not None
    assert "a phone number from the other profile's city" in s.reasons
    houston_phone = replace(moved, phones=("+17135550199",))
    assert score_pair(boston, houston_phone, frequencies=freq) is None


def test_a_phone_from_the_same_country_counts_where_one_profile_has_no_address():
    a = PersonRecord(1, first_name="Dana", last_name="Okafor", phones=("+4915112345678",))
    b = PersonRecord(2, first_name="Dana", last_name="Okafor", city="Köln", country="DE")
    freq = Frequencies.from_records([a, b, *_callers(), *_germans()])
    s = score_pair(a, b, frequencies=freq)
    assert s is not None
    assert "phone number from the same country" in s.reasons
    american = replace(a, phones=("+14155550132",))
    assert score_pair(american, b, frequencies=freq) is None
