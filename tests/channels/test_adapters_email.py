"""Raw MIME email into interactions: the hand-written corpus, charsets, threading, direction, and fuzzing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from crm.channels.adapters import SourceInfo, email_mime
from crm.channels.adapters.htmltext import html_to_text
from crm.channels.adapters.mail import split_name
from crm.channels.adapters.shape import decode_text
from crm.channels.canonical import load_interactions
from crm.errors import InvalidPayload, MalformedPayload

CORPUS = Path(__file__).parent / "corpus"
RECEIVED = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
SOURCE = SourceInfo("support-mail", "email", "generic", {"own_domains": ["shop.example"]})
MIME = {"Content-Type": "message/rfc822"}


def parse_file(name: str, source: SourceInfo = SOURCE) -> dict:
    [item] = email_mime.parse((CORPUS / name).read_bytes(), MIME, source=source, received_at=RECEIVED)
    return item


def parse_bytes(raw: bytes, source: SourceInfo = SOURCE) -> list[dict]:
    return email_mime.parse(raw, MIME, source=source, received_at=RECEIVED)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.name)
def test_every_corpus_message_parses_into_a_valid_interaction(path):
    items = email_mime.parse(path.read_bytes(), MIME, source=SOURCE, received_at=RECEIVED)
    [loaded] = load_interactions(items)
    assert loaded["type"] == "message" and loaded["customer"]["email"]
    assert loaded["text"], "every corpus message has a readable body"
    assert loaded["data"]["thread_id"]


def test_corpus_has_at_least_twelve_messages():
    assert len(list(CORPUS.glob("*.eml"))) >= 12


def test_multipart_alternative_takes_the_plain_part():
    item = parse_file("01_multipart_alternative.eml")
    assert item["subject"] == "Broken mug in order #1042"
    assert item["text"].startswith("Hi,\n\nMy order #1042 arrived damaged \u2014 the mug handle is broken.")
    assert "<b>" not in item["text"] and item["data"]["body_format"] == "plain"
    assert item["occurred_at"] == "2024-03-05T09:14:22+01:00"
    assert item["customer"] == {
        "email": "maria.gonzalez@example.com",
        "name": "Maria Gonzalez",
        "attributes": {"first_name": "Maria", "last_name": "Gonzalez"},
    }
    assert item["data"]["to"] == [{"email": "support@shop.example", "name": "Support"}]


def test_quoted_printable_latin1_with_encoded_words_in_subject_and_name():
    item = parse_file("02_quoted_printable_latin1.eml")
    assert item["subject"] == "Commande non reçue"
    assert "Je n'ai pas reçu ma commande passée il y a déjà deux semaines." in item["text"]
    assert item["customer"]["name"] == "François Léger"
    assert item["customer"]["attributes"] == {"first_name": "François", "last_name": "Léger"}


def test_base64_utf8_body_with_an_emoji_subject_and_crlf_lines():
    item = parse_file("03_base64_utf8.eml")
    assert item["subject"] == "Loyalty points \U0001f381 question"
    assert item["text"].startswith("Hello team \U0001f44b") and "do points expire?" in item["text"]


def test_html_only_message_becomes_text_without_styles_scripts_or_tags():
    item = parse_file("04_html_only_windows1252.eml")
    assert item["data"]["body_format"] == "html"
    assert "I\u2019d like to \u201creturn\u201d the jacket & the scarf." in item["text"]
    assert "here (https://track.example.net/ZX91)" in item["text"]
    assert "color" not in item["text"] and "var x" not in item["text"] and "ignored" not in item["text"]
    assert item["customer"]["name"] == "Otto Müller"  # raw 8-bit header, decoded


def test_attachment_is_listed_by_name_type_and_size_not_stored():
    item = parse_file("05_attachment_pdf.eml")
    assert item["data"]["attachments"] == [
        {"filename": "invoice-INV-2024-031.pdf", "content_type": "application/pdf", "size": 77}
    ]
    assert "%PDF" not in item["text"]


def test_nested_multipart_lists_the_inline_image_and_the_rfc2231_named_csv():
    item = parse_file("06_nested_inline_image.eml")
    assert item["subject"] == "Pedido mayorista \u2013 fotos"
    assert item["text"] == "Hola, adjunto la foto del expositor y la lista de artículos."
    assert item["data"]["attachments"] == [
        {"content_type": "image/png", "size": 70, "inline": True, "content_id": "<expositor@ana>"},
        {"filename": "artículos pedido.csv", "content_type": "text/csv", "size": 26},
    ]


def test_missing_date_falls_back_to_the_receipt_time():
    assert parse_file("07_no_date.eml")["occurred_at"] == RECEIVED.isoformat()


def test_unparseable_date_falls_back_to_the_receipt_time():
    item = parse_file("17_html_base64_bad_date.eml")
    assert item["occurred_at"] == RECEIVED.isoformat()
    assert item["subject"] == "Re: Offres €" and item["text"].startswith("Merci pour la newsletter € !")


def test_missing_message_id_uses_a_hash_of_the_raw_bytes_as_external_id():
    raw = (CORPUS / "08_no_message_id.eml").read_bytes()
    item = parse_file("08_no_message_id.eml")
    assert item["external_id"] == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert item["data"]["thread_id"] == item["external_id"]
    assert item["customer"] == {"email": "kim@example.kr"}


def test_shift_jis_body_subject_and_family_name_first():
    item = parse_file("09_shift_jis.eml")
    assert item["subject"] == "サイズ変更のお願い"
    assert "注文したセーターのサイズを変更できますか。" in item["text"]
    assert item["customer"]["name"] == "山田 太郎"
    assert item["customer"]["attributes"] == {"first_name": "太郎", "last_name": "山田"}


def test_koi8_r_base64_body_and_encoded_words():
    item = parse_file("10_koi8r.eml")
    assert item["subject"] == "Отписка от рассылки"
    assert item["text"] == "Здравствуйте!\nПрошу отменить подписку на рассылку."
    assert item["customer"]["attributes"] == {"first_name": "Иван", "last_name": "Петров"}


def test_utf8_mislabelled_as_us_ascii_is_read_as_utf8():
    item = parse_file("11_wrong_charset_declared.eml")
    assert item["subject"] == "Größe stimmt nicht"
    assert item["text"] == "Die Größe der Schuhe stimmt nicht, bitte um Umtausch. Grüße, Jürgen"
    assert item["customer"]["name"] == "Jürgen Weiß"


def test_unknown_charset_label_does_not_crash_and_reads_latin1_bytes():
    item = parse_file("15_unknown_charset.eml")
    assert item["text"] == "O meu pedido está atrasado há uma semana. Obrigado, João"
    assert item["customer"]["name"] == "João Silva"


def test_a_reply_is_threaded_to_the_first_message_of_its_references():
    item = parse_file("12_reply_in_thread.eml")
    assert item["data"]["message_id"] == "<CAB1042-reply2.maria@mail.example.com>"
    assert item["data"]["in_reply_to"] == "<reply1.1042@shop.example>"
    assert item["data"]["references"] == ["<CAB1042.maria@mail.example.com>", "<reply1.1042@shop.example>"]
    assert item["data"]["thread_id"] == "<CAB1042.maria@mail.example.com>"
    assert item["data"]["thread_id"] == parse_file("01_multipart_alternative.eml")["data"]["thread_id"]


def test_message_from_an_own_address_is_outbound_to_the_first_outside_recipient():
    item = parse_file("13_outbound_from_own_address.eml")
    assert item["direction"] == "outbound"
    assert item["customer"]["email"] == "maria.gonzalez@example.com"
    assert item["customer"]["name"] == "Maria Gonzalez"  # "Gonzalez, Maria" said the usual way round
    assert item["customer"]["attributes"] == {"first_name": "Maria", "last_name": "Gonzalez"}
    assert item["data"]["from"] == {"email": "support@shop.example", "name": "Shop Support"}
    assert item["data"]["thread_id"] == "<CAB1042.maria@mail.example.com>"


def test_own_addresses_are_matched_exactly_and_own_domains_with_subdomains():
    raw = (CORPUS / "13_outbound_from_own_address.eml").read_bytes()
    by_address = SourceInfo("m", "email", "generic", {"own_addresses": ["Support@Shop.Example"]})
    by_parent_domain = SourceInfo("m", "email", "generic", {"own_domains": ["example"]})
    both_sides_own = SourceInfo("m", "email", "generic", {"own_domains": ["shop.example", "example.com"]})
    no_settings = SourceInfo("m", "email", "generic", {})
    assert parse_bytes(raw, by_address)[0]["direction"] == "outbound"
    assert parse_bytes(raw, by_parent_domain)[0]["direction"] == "outbound"  # shop.example is under example
    with pytest.raises(InvalidPayload, match="business to the business"):
        parse_bytes(raw, both_sides_own)
    assert parse_bytes(raw, no_settings)[0]["direction"] == "inbound"


def test_message_with_only_a_cc_keeps_the_sender_as_customer_and_lists_the_cc():
    item = parse_file("14_cc_only.eml")
    assert item["direction"] == "inbound" and item["customer"]["email"] == "tom.becker@example.org"
    assert "to" not in item["data"]
    assert item["data"]["cc"] == [
        {"email": "support@shop.example"},
        {"email": "lisa.becker@example.org", "name": "Lisa Becker"},
    ]


def test_outbound_message_with_only_a_cc_to_the_customer():
    raw = b"From: help@shop.example\nCc: Ana Ruiz <ana@example.es>\nSubject: Your refund\n\nDone.\n"
    [item] = parse_bytes(raw)
    assert item["direction"] == "outbound" and item["customer"]["email"] == "ana@example.es"


def test_a_forwarded_message_is_an_attachment_not_the_body():
    item = parse_file("16_forwarded_rfc822.eml")
    assert item["text"] == "The confirmation below shows the wrong delivery address."
    [attached] = item["data"]["attachments"]
    assert attached["content_type"] == "message/rfc822" and attached["filename"] == "order-confirmation.eml"
    assert attached["size"] > 100


def test_message_without_from_is_an_invalid_payload_naming_from():
    with pytest.raises(InvalidPayload) as caught:
        parse_bytes(b"To: help@shop.example\nSubject: ?\n\nhello\n")
    assert "from" in caught.value.errors


@pytest.mark.parametrize("raw", [b"", b"   \n", b"just some words, no headers\n", b"\x00\x01\x02"])
def test_a_body_that_is_not_an_email_is_malformed(raw):
    with pytest.raises(MalformedPayload):
        parse_bytes(raw)


def _nested(depth: int) -> bytes:
    opening = b"".join(f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n".encode() for i in range(depth))
    closing = b"".join(f"--b{i}--\n".encode() for i in reversed(range(depth)))
    return b"From: a@example.org\nTo: help@shop.example\n" + opening + b"Content-Type: text/plain\n\nhi\n" + closing


def test_mime_nested_beyond_reason_is_malformed_not_a_crash():
    with pytest.raises(MalformedPayload, match="too deeply"):
        parse_bytes(_nested(1500))


def test_mime_nested_deeply_but_parseable_still_gives_its_text():
    [item] = parse_bytes(_nested(120))
    assert item["text"] == "hi"
    load_interactions([item])


def test_a_very_long_message_id_becomes_a_stable_hashed_external_id():
    long_id = "<" + "x" * 400 + "@example.org>"
    raw = f"From: a@example.org\nTo: help@shop.example\nMessage-ID: {long_id}\n\nhi\n".encode()
    [item] = parse_bytes(raw)
    assert item["external_id"] == "sha256:" + hashlib.sha256(long_id.encode()).hexdigest()
    assert item["data"]["message_id"] == long_id
    load_interactions([item])


def test_a_huge_body_is_clipped_to_the_schema_limit_and_marked():
    raw = b"From: a@example.org\nTo: help@shop.example\n\n" + b"word " * 250_000
    [item] = parse_bytes(raw)
    assert len(item["text"]) == 1_000_000 and item["data"]["text_truncated"] is True
    load_interactions([item])


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        ("Ana María López", ("Ana", "María López")),
        ("López, Ana", ("Ana", "López")),
        ("Dr. Jane Doe", ("Jane", "Doe")),
        ("Jane Doe, PhD", ("Jane", "Doe")),
        ("Cher", ("Cher", None)),
        ("山田 太郎", ("太郎", "山田")),
        ("山田太郎", (None, None)),
        ("ana@example.es", (None, None)),
        ("", (None, None)),
    ],
)
def test_display_names_split_into_first_and_last(display, expected):
    assert split_name(display) == expected


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        ("café".encode("cp1252"), "windows-1252", "café"),
        ("café".encode(), "iso-8859-1", "café"),  # mislabelled UTF-8
        ("Привет".encode("koi8-r"), "koi8-r", "Привет"),
        ("日本".encode("shift_jis"), "shift_jis", "日本"),
        ("café".encode("latin-1"), "utf-8", "café"),  # wrong label, falls back
        ("café".encode("latin-1"), "no-such-charset", "café"),
        (b"\x81\x8d", None, "\x81\x8d"),  # bytes undefined in windows-1252 still decode
    ],
)
def test_text_decodes_whatever_the_label_says(data, declared, expected):
    assert decode_text(data, declared) == expected


def test_html_to_text_keeps_paragraphs_lists_and_link_targets():
    html = "<p>Hi&nbsp;there</p><ul><li>one</li><li>two</li></ul><p><a href='https://x.test/a'>track</a></p>"
    assert html_to_text(html) == "Hi there\n\none\ntwo\n\ntrack (https://x.test/a)"


HEADER_NAMES = ["From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "Content-Type"]
CHARSETS = ["utf-8", "iso-8859-1", "shift_jis", "koi8-r", "x-bogus", "utf-7", "idna", "rot13", ""]


@st.composite
def mime_like(draw) -> bytes:
    """Messages that look like email: real header names with hostile values, declared charsets, bodies."""
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        name = draw(st.sampled_from(HEADER_NAMES) | st.text(st.characters(codec="ascii"), min_size=1, max_size=10))
        value = draw(st.text(max_size=60) | st.sampled_from(["=?utf-8?b?////?=", "=?x?q?=FF?=", "<a@b> <", "a@b, ,@"]))
        lines.append(f"{name}: {value}".encode("utf-8", "surrogateescape"))
    charset = draw(st.sampled_from(CHARSETS))
    cte = draw(st.sampled_from(["base64", "quoted-printable", "8bit", "x-uuencode", ""]))
    kind = draw(st.sampled_from(["text/plain", "text/html", "multipart/mixed; boundary=b", "message/rfc822"]))
    lines.append(f"Content-Type: {kind}; charset={charset}".encode())
    lines.append(f"Content-Transfer-Encoding: {cte}".encode())
    return b"\n".join(lines) + b"\n\n" + draw(st.binary(max_size=300))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600) | mime_like())
def test_arbitrary_bytes_raise_only_payload_errors_and_results_validate(raw):
    try:
        items = parse_bytes(raw)
    except (MalformedPayload, InvalidPayload):
        return
    try:
        load_interactions(items)
    except ValidationError as exc:
        pytest.fail(f"the adapter produced an interaction the schema refuses: {exc.messages}")
    for item in items:
        (item.get("text") or "").encode("utf-8")
        assert "\x00" not in (item.get("text") or "") + (item.get("subject") or "")
