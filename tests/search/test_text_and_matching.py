"""Pure pieces of search: folding, tokens, phone digits, order numbers, the query parser, match tiers, highlights."""

from __future__ import annotations

import pytest

from crm.search import highlight, matching, text
from crm.search.query import parse
from crm.search.sql import name_probes


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Zoë Ünal", "zoe unal"),
        ("Straße", "strasse"),
        ("Łukasz Øster", "lukasz oster"),
        ("ÉLODIE", "elodie"),
        ("plain ascii", "plain ascii"),
        ("", ""),
        (None, ""),
    ],
)
def test_folding_removes_accents_and_case(raw, folded):
    assert text.fold(raw) == folded


def test_names_are_tokens_with_and_without_their_apostrophes_and_hyphens():
    assert text.name_tokens("Bob O'Brien-Smith") == [
        "bob",
        "o",
        "brien",
        "smith",
        "obrien",
        "briensmith",
        "obriensmith",
    ]
    assert text.name_tokens("Zoë  Ünal") == ["zoe", "unal"]


@pytest.mark.parametrize(
    "written", ["+1 (415) 555-0132", "415.555.0132", "001 415 555 0132", "1-415-555-0132", "4155550132"]
)
def test_a_phone_in_any_format_ends_in_the_same_digits(written):
    assert "14155550132".endswith(text.phone_digits(written))
    assert text.looks_like_phone(written)


def test_short_digit_runs_and_words_are_not_phones():
    assert not text.looks_like_phone("12345")
    assert not text.looks_like_phone("call me 4155550132")


def test_order_numbers_ignore_the_hash_spaces_and_case():
    assert text.normalise_order_number("#10023") == text.normalise_order_number(" 10023 ") == "10023"
    assert text.normalise_order_number("so-77") == "SO-77"
    assert text.looks_like_order_number("#10023") and not text.looks_like_order_number("refund")


def test_identifier_words_include_the_parts_of_an_email_and_a_handle_without_namespace():
    words = text.identifier_tokens("email", "Ann.Lee@Example.com")
    assert {"ann.lee@example.com", "ann.lee", "example.com", "ann", "lee", "example", "com"} <= set(words)
    assert "cus_abc1" in text.identifier_tokens("external", "shop:cus_AbC1")


@pytest.mark.parametrize(
    ("a", "b", "close"),
    [
        ("unal", "unal", True),
        ("unal", "unla", True),  # transposition
        ("unal", "ural", True),  # substitution
        ("unal", "unl", True),  # deletion
        ("unal", "unall", True),  # insertion
        ("unal", "lanu", False),
        ("unal", "un", False),
    ],
)
def test_one_edit_counts_a_transposition_as_one(a, b, close):
    assert matching.within_one_edit(a, b) is close


def test_name_tiers_rank_exact_over_prefix_over_one_typo():
    doc = ["zoe", "unal"]
    assert matching.name_tier(["zoe", "unal"], doc) == matching.NAME_EXACT
    assert matching.name_tier(["zoe", "un"], doc) == matching.NAME_PREFIX
    assert matching.name_tier(["zeo", "unal"], doc) == matching.NAME_FUZZY
    assert matching.name_tier(["zoe", "unla"], doc) == matching.NAME_FUZZY
    assert matching.name_tier(["zoe", "smith"], doc) is None
    assert matching.name_tier(["zo"], doc) == matching.NAME_PREFIX
    # Two-letter tokens get no fuzziness, as fuzziness AUTO:3 gives them none.
    assert matching.name_tier(["zx"], ["zo"]) is None


def test_text_tier_prefers_the_phrase_over_its_words_in_any_order():
    subject, body = text.words("Refund"), text.words("My refund has not been received yet")
    assert matching.text_tier(text.words("refund has not been"), subject, body) == matching.PHRASE
    assert matching.text_tier(text.words("received refund"), subject, body) == matching.ALL_WORDS
    assert matching.text_tier(text.words("parcel"), subject, body) is None


def test_every_single_edit_of_a_token_keeps_one_of_its_probes():
    import re

    token = "unal"
    variants = ["unla", "nual", "ural", "unl", "xunal", "unalx", "uanl"]
    for variant in variants:
        assert matching.within_one_edit(token, variant)
        patterns = [re.compile(".*".join(map(re.escape, p.split("%")))) for p in name_probes(token)]
        assert any(p.search(variant) for p in patterns), variant


def test_an_email_is_read_as_an_identifier_not_as_name_words():
    q = parse("Ann.Lee@Example.com")
    assert q.mode == "email"
    assert "ann.lee@example.com" in q.exact_values
    assert q.email_partial == "ann.lee@example.com"


def test_a_phone_is_read_in_the_default_region_and_by_its_last_digits():
    q = parse("(415) 555-0132", default_region="US")
    assert q.mode == "phone"
    assert "+14155550132" in q.exact_values
    assert q.phone_suffix == "4155550132"
    uk = parse("020 7946 0958", default_region="GB")
    assert "+442079460958" in uk.exact_values


def test_a_loyalty_id_and_a_handle_are_read_from_one_token():
    q = parse("l-1234")
    assert "L1234" in q.exact_values
    assert parse("@AnnLee").handles == ("annlee",)


def test_a_name_is_read_as_folded_tokens_and_words():
    q = parse("  Zoë   Ünal ")
    assert q.mode == "text"
    assert q.tokens == ("zoe", "unal")
    assert q.raw == "Zoë Ünal"
    assert q.order_number is None and q.email_partial is None


def test_name_highlight_marks_the_original_words_with_their_accents():
    q = parse("zoe unla")
    assert highlight.highlight_name("Zoë Ünal", q) == "<em>Zoë</em> <em>Ünal</em>"
    assert highlight.highlight_name("Ann Lee", q) is None


def test_text_highlight_marks_the_phrase_and_escapes_the_rest():
    q = parse("refund not received")
    fragments = highlight.highlight_text("<b>Hi</b> — my refund not received, order #1", q)
    assert fragments == ["&lt;b&gt;Hi&lt;/b&gt; — my <em>refund not received</em>, order #1"]


def test_text_highlight_falls_back_to_the_words_and_cuts_long_text_into_fragments():
    q = parse("parcel lost")
    body = "x " * 200 + "my parcel was lost " + "y " * 200
    (fragment,) = highlight.highlight_text(body, q)
    assert "<em>parcel</em>" in fragment and "<em>lost</em>" in fragment
    assert fragment.startswith("…") and fragment.endswith("…")
    assert len(fragment) < 260


def test_identifier_highlight_for_an_email_start_and_a_phone_end():
    assert highlight.highlight_identifier("email", "ann.lee@example.org", parse("ann.lee@"))
    assert highlight.highlight_identifier("phone", "+14155550132", parse("555-0132"))
    assert highlight.highlight_identifier("phone", "+14155550199", parse("555-0132")) is None
