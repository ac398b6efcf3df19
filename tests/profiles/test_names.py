"""Names for duplicate scoring, pure: display names split, first names read from mailbox names."""

from __future__ import annotations

import pytest

from crm.profiles.names import first_from_mailboxes, split_name


@pytest.mark.parametrize(
    "mailbox, first",
    [
        ("jane.doe", "jane"),
        ("doe.jane", "jane"),
        ("jane_doe", "jane"),
        ("janedoe", "jane"),
        ("jdoe", "j"),
        ("jane.d", "jane"),
        ("jane42", "jane"),
        ("Jane.Doe1984", "jane"),
    ],
)
def test_the_ways_people_make_a_mailbox_from_their_name_give_the_first_name(mailbox, first):
    assert first_from_mailboxes("doe", (mailbox,)) == first


@pytest.mark.parametrize("mailbox", ["doe", "doe42", "sunshine", "x.y.z", "the.cat"])
def test_a_mailbox_that_does_not_spell_a_first_name_gives_none(mailbox):
    assert first_from_mailboxes("doe", (mailbox,)) == ""


def test_the_first_mailbox_that_says_wins_and_no_surname_reads_nothing():
    assert first_from_mailboxes("doe", ("sunshine", "mary.doe", "jane.doe")) == "mary"
    assert first_from_mailboxes("", ("jane.doe",)) == ""


def test_display_names_split_into_first_name_and_surname():
    assert split_name(None, None, "DOE, Jane") == ("jane", "doe")
    assert split_name(None, None, "Dr Jane van der Berg") == ("jane", "vanderberg")
    assert split_name("Jane", "Doe", "ignored when the fields are there") == ("jane", "doe")
    assert split_name(None, None, "Jane") == ("jane", "")
