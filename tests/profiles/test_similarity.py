"""Duplicate scoring, pure: plain records in, suggestions with readable reasons (or none) out."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.profiles.nicknames import NICKNAMES, are_nicknames, name_groups
from crm.profiles.similarity import (
    BLOCK_CAP,
    THRESHOLD,
    Frequencies,
    PersonRecord,
    blocking_keys,
    candidate_pairs,
    explain_pair,
    fold,
    name_similarity_baseline,
    score_pair,
    suggest_duplicates,
)

BORN = date(1984, 3, 7)


def person(customer_id: int = 1, **fields) -> PersonRecord:
    base = {
        "first_name": "Robert",
        "last_name": "Hawthorne",
        "birth_date": BORN,
        "line1": "12 Elm Street",
        "postcode": "94110",
        "city": "San Francisco",
        "country": "US",
    }
    base.update(fields)
    return PersonRecord(customer_id=customer_id, **base)


def suggested(a: PersonRecord, b: PersonRecord, **kwargs):
    return score_pair(a, b, **kwargs)


# --- the same person is suggested, with reasons ------------------------------------------------


def test_same_person_with_nothing_changed_is_suggested_with_reasons():
    s = suggested(person(1), person(2))
    assert s is not None
    assert (s.customer_a_id, s.customer_b_id) == (1, 2)
    assert 0.8 <= s.score <= 1.0
    assert "same birth date" in s.reasons
    assert "same name" in s.reasons
    assert "same postcode" in s.reasons
    assert "same street address" in s.reasons


def test_suggestion_orders_customer_ids_whatever_the_argument_order():
    s = suggested(person(9), person(4))
    assert (s.customer_a_id, s.customer_b_id) == (4, 9)


def test_swapped_first_and_last_names_are_suggested():
    s = suggested(person(1), person(2, first_name="Hawthorne", last_name="Robert"))
    assert s is not None
    assert "first and last names swapped" in s.reasons


def test_display_name_in_last_comma_first_form_is_read():
    s = suggested(person(1), person(2, first_name=None, last_name=None, name="HAWTHORNE, Robert"))
    assert s is not None
    assert "same name" in s.reasons


@pytest.mark.parametrize(
    "nickname, formal",
    [
        ("Bob", "Robert"),
        ("Liz", "Elizabeth"),
        ("Bill", "William"),
        ("Kate", "Katherine"),
        ("Jim", "James"),
        ("Mike", "Michael"),
        ("Tom", "Thomas"),
    ],
)
def test_nicknames_are_one_first_name(nickname, formal):
    s = suggested(person(1, first_name=formal), person(2, first_name=nickname))
    assert s is not None
    assert any("nickname" in r for r in s.reasons)


@pytest.mark.parametrize(
    "first, last",
    [
        ("Robret", "Hawthorne"),
        ("Robert", "Hawtohrne"),
        ("Robert", "Hawthrone"),
        ("Roebrt", "Hawthorne"),
        ("Robert", "Hawthornee"),
    ],
)
def test_a_typo_in_a_name_is_still_suggested(first, last):
    s = suggested(person(1), person(2, first_name=first, last_name=last))
    assert s is not None
    assert any(r.startswith("names 0.") and r.endswith("similar") for r in s.reasons)


def test_accents_are_folded_before_comparing():
    assert fold("José  Núñez-García") == "jose nunez garcia"
    assert fold("Łukasz Wiśniewski") == "lukasz wisniewski"
    assert fold("O'Brien") == "obrien"
    s = suggested(person(1, first_name="José", last_name="Núñez"), person(2, first_name="Jose", last_name="NUNEZ"))
    assert s is not None
    assert "same name" in s.reasons


def test_missing_fields_on_one_side_are_neither_for_nor_against():
    full = person(1)
    sparse = person(2, line1=None, city=None, country=None)
    s = suggested(full, sparse)
    assert s is not None
    assert "same street address" not in s.reasons


def test_postcode_digits_transposed_still_count():
    s = suggested(person(1, line1=None), person(2, line1=None, postcode="94101"))
    assert s is not None
    assert "postcode digits transposed" in s.reasons


def test_email_one_edit_away_is_suggested_without_any_address():
    a = PersonRecord(1, first_name="Dana", last_name="Okafor", emails=("dana.okafor@gmail.com",))
    b = PersonRecord(2, first_name="Dana", last_name="Okafor", emails=("dana.okafor@gmial.com",))
    s = suggested(a, b)
    assert s is not None
    assert "emails one edit apart" in s.reasons


def test_misspelt_mailbox_name_is_one_edit_away():
    a = PersonRecord(1, first_name="Robert", last_name="Collins", emails=("collins.roebrt@outlook.com",))
    b = PersonRecord(2, first_name="Robert", last_name="Collins", emails=("collins.robert@outlook.com",))
    assert "emails one edit apart" in score_pair(a, b).reasons


def test_plus_tagged_email_is_one_mailbox():
    a = PersonRecord(1, first_name="Dana", last_name="Okafor", emails=("dana.okafor+shop@example.com",))
    b = PersonRecord(2, first_name="D", last_name="Okafor", emails=("dana.okafor@example.com",))
    s = suggested(a, b)
    assert s is not None
    assert "same email apart from a plus-tag" in s.reasons


def test_same_phone_that_failed_to_parse_is_suggested():
    a = PersonRecord(1, first_name="Dana", last_name="Okafor", phones=("+14155550132",))
    b = PersonRecord(2, first_name="Dana", last_name="Okafor", invalid_phones=("555-0132",))
    s = suggested(a, b)
    assert s is not None
    assert "same phone number in another format" in s.reasons


def test_foreign_number_in_national_form_matches_its_e164():
    a = PersonRecord(1, last_name="Okafor", phones=("+442079460958",))
    b = PersonRecord(2, last_name="Okafor", invalid_phones=("020 7946 0958",))
    assert "same phone number in another format" in explain_pair(a, b)[1]


# --- different people are not suggested -------------------------------------------------------


def test_family_members_at_one_address_are_not_suggested():
    head = person(1, first_name="Robert")
    for other, born in (("Margaret", date(1986, 5, 2)), ("Thomas", date(2010, 1, 30)), ("Alice", None)):
        relative = person(2, first_name=other, birth_date=born)
        assert suggested(head, relative) is None, other


def test_twins_are_not_suggested():
    assert suggested(person(1, first_name="Daniel"), person(2, first_name="Michael")) is None


def test_same_name_with_another_birth_date_is_not_suggested():
    assert suggested(person(1), person(2, birth_date=date(1961, 11, 23))) is None
    elsewhere = person(2, birth_date=date(1961, 11, 23), line1="3 Oak Road", postcode="94607", city="Oakland")
    assert suggested(person(1), elsewhere) is None


def _population(size: int = 5000) -> list[PersonRecord]:
    """First names, surnames and cities drawn independently: John 1 in 25, Smith 1 in 30, Springfield 1 in 5."""
    firsts = ["john"] + [f"first{i}" for i in range(24)]
    lasts = ["smith"] + [f"last{i}" for i in range(29)]
    cities = ["springfield"] + [f"city{i}" for i in range(4)]
    return [
        PersonRecord(1000 + i, first_name=firsts[i % 25], last_name=lasts[(i // 25) % 30], city=cities[(i // 750) % 5])
        for i in range(size)
    ]


def test_common_name_in_the_same_city_is_not_suggested():
    freq = Frequencies.from_records(_population())
    a = PersonRecord(1, first_name="John", last_name="Smith", city="Springfield")
    b = PersonRecord(2, first_name="JOHN", last_name="SMITH", city="Springfield")
    assert suggested(a, b, frequencies=freq) is None


def test_rare_name_in_the_same_city_is_suggested_when_the_population_is_known():
    a = PersonRecord(1, first_name="Zbigniew", last_name="Wojciechowski", city="Springfield")
    b = PersonRecord(2, first_name="Zbigniew", last_name="Wojciechowski", city="Springfield")
    freq = Frequencies.from_records([a, b, *_population()])
    s = suggested(a, b, frequencies=freq)
    assert s is not None
    assert "same city" in s.reasons


def test_numbered_email_addresses_are_different_people():
    a = PersonRecord(1, first_name="J", last_name="Smith", emails=("jsmith1@example.com",))
    b = PersonRecord(2, first_name="J", last_name="Smith", emails=("jsmith2@example.com",))
    assert suggested(a, b) is None


def test_real_other_provider_is_not_a_domain_typo():
    records = [PersonRecord(i, emails=(f"u{i}@{d}",)) for i, d in enumerate(["gmail.com", "mail.com"] * 50)]
    freq = Frequencies.from_records(records)
    a = PersonRecord(1001, first_name="Mary", last_name="Vargas", emails=("mary.v@mail.com",))
    b = PersonRecord(1002, first_name="Mary", last_name="Vargas", emails=("mary.v@gmail.com",))
    assert "emails one edit apart" not in explain_pair(a, b, frequencies=freq)[1]


def test_nothing_in_common_scores_near_zero():
    a = PersonRecord(1, first_name="Ada", last_name="Lovelace", birth_date=date(1815, 12, 10))
    b = PersonRecord(2, first_name="Alan", last_name="Turing", birth_date=date(1912, 6, 23))
    score, reasons = explain_pair(a, b)
    assert score < 0.01
    assert suggested(a, b) is None


def test_empty_records_score_without_error():
    score, reasons = explain_pair(PersonRecord(1), PersonRecord(2))
    assert 0.0 <= score < THRESHOLD
    assert reasons == ()


def test_threshold_is_respected():
    a, b = person(1), person(2, line1=None, postcode=None)
    score, _ = explain_pair(a, b)
    assert score_pair(a, b, threshold=score + 1e-6) is None
    assert score_pair(a, b, threshold=score - 1e-6) is not None


# --- blocking ---------------------------------------------------------------------------------


def test_duplicates_share_a_block_despite_noise():
    base = person(1)
    variants = [
        person(2, first_name="Hawthorne", last_name="Robert"),  # swapped
        person(3, first_name="Bob", postcode=None, birth_date=None),  # nickname, sparse
        person(4, last_name="Hawtohrne", birth_date=None, postcode="94101"),  # typo, transposed postcode
        PersonRecord(5, first_name="R", last_name="Hawthorne"),
    ]
    for other in variants:
        assert blocking_keys(base) & blocking_keys(other), other


def test_emails_one_edit_apart_share_a_block():
    for x, y in [
        ("dana@gmail.com", "dana@gmial.com"),
        ("dana@gmail.com", "dna@gmail.com"),
        ("dana@gmail.com", "danna@gmail.com"),
    ]:
        assert blocking_keys(PersonRecord(1, emails=(x,))) & blocking_keys(PersonRecord(2, emails=(y,)))


def test_candidate_pairs_are_each_pair_once_in_index_order():
    records = [person(1), person(2), person(3), PersonRecord(4, first_name="Ada", last_name="Lovelace")]
    pairs = list(candidate_pairs(records))
    assert len(pairs) == len(set(pairs))
    assert all(i < j for i, j in pairs)
    assert set(pairs) >= {(0, 1), (0, 2), (1, 2)}
    assert not any(3 in p for p in pairs)


def test_over_full_blocks_are_skipped():
    crowd = [PersonRecord(i, postcode="94110") for i in range(BLOCK_CAP + 1)]
    assert list(candidate_pairs(crowd)) == []
    assert len(list(candidate_pairs(crowd[:3]))) == 3


def test_suggest_duplicates_finds_the_pair_and_not_the_relative():
    records = [
        person(1),
        person(2, first_name="Bob", birth_date=None),
        person(3, first_name="Margaret", birth_date=date(1987, 1, 1)),
    ]
    found = suggest_duplicates(records)
    assert [(s.customer_a_id, s.customer_b_id) for s in found] == [(1, 2)]
    assert found[0].reasons


# --- nicknames and the baseline ---------------------------------------------------------------


def test_nickname_table_has_about_sixty_formal_names_and_reads_both_ways():
    assert len(NICKNAMES) >= 60
    assert are_nicknames("bob", "robert") and are_nicknames("robert", "bob")
    assert are_nicknames("bobby", "rob")  # two nicknames of one name
    assert not are_nicknames("robert", "robert")
    assert not are_nicknames("robert", "william")
    assert name_groups("alex") == {"alexander", "alexandra"}
    assert name_groups("zebedee") == {"zebedee"}


def test_baseline_is_plain_name_similarity():
    assert name_similarity_baseline(person(1), person(2)) == 1.0
    assert name_similarity_baseline(person(1), person(2, first_name="Bob")) < 0.9
    assert name_similarity_baseline(person(1), replace(person(2), birth_date=None)) == 1.0


# --- properties -------------------------------------------------------------------------------

NAMES = st.one_of(
    st.none(),
    st.sampled_from(["Robert", "Bob", "ROBERT", "Hawthorne", "Hawtohrne", "José", "Smith", "o'brien", ""]),
    st.text(max_size=12),
)
RECORDS = st.builds(
    PersonRecord,
    customer_id=st.integers(1, 10_000),
    first_name=NAMES,
    last_name=NAMES,
    name=NAMES,
    emails=st.lists(
        st.sampled_from(["dana@gmail.com", "dana@gmial.com", "dana+x@gmail.com", "d@x.org", "@", "x"]), max_size=2
    ).map(tuple),
    phones=st.lists(st.sampled_from(["+14155550132", "+442079460958"]), max_size=2).map(tuple),
    invalid_phones=st.lists(st.sampled_from(["555-0132", "020 7946 0958", "12", "", "abc"]), max_size=2).map(tuple),
    birth_date=st.one_of(st.none(), st.dates(date(1900, 1, 1), date(2010, 12, 31))),
    city=st.one_of(st.none(), st.sampled_from(["San Francisco", "SAN FRANCISCO", "München", "Munchen"])),
    postcode=st.one_of(st.none(), st.sampled_from(["94110", "94101", "SW1A 1AA", "sw1a1aa", "", "  "])),
    country=st.one_of(st.none(), st.sampled_from(["US", "GB", "us"])),
    line1=st.one_of(st.none(), st.sampled_from(["12 Elm Street", "12 ELM ST.", "14 Elm Street", "Flat 2"])),
)


@settings(max_examples=300, deadline=None)
@given(a=RECORDS, b=RECORDS)
def test_scores_are_symmetric_bounded_and_never_raise(a, b):
    ab, ba = explain_pair(a, b), explain_pair(b, a)
    assert 0.0 <= ab[0] <= 1.0
    assert ab[0] == pytest.approx(ba[0], abs=1e-9)
    assert set(ab[1]) == set(ba[1]) or ab[0] < 0.01
    s = score_pair(a, b)
    assert s is None or s.reasons


def test_frequencies_count_a_name_in_both_roles():
    freq = Frequencies(total=100, counts={"first": {"smith": 2}, "last": {"smith": 30, "jones": 5}})
    assert freq.count("first", "smith") == freq.count("last", "smith") == 32
    assert freq.count("postcode", "94110") is None  # no table: the default share is used
    built = Frequencies.from_records(
        [PersonRecord(1, first_name="Smith", last_name="Jones"), PersonRecord(2, last_name="Smith")]
    )
    assert built.count("last", "smith") == 2
    assert built.total == 2
