"""Mailgun inbound-route posts, shaped like Mailgun's "Receiving messages via HTTP" fields."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from crm.channels.adapters import ADAPTERS, SourceInfo
from crm.channels.canonical import load_interactions
from crm.channels.signatures import sign_mailgun
from crm.errors import InvalidPayload, MalformedPayload, UnsupportedMediaType

RECEIVED = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
SOURCE = SourceInfo("mailgun-in", "email", "mailgun", {"own_domains": ["shop.example"]})
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TIMESTAMP = "1709630062"
TOKEN = "6c1f3b2a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c"

MESSAGE_HEADERS = [
    ["Received", "by mx.example.com with SMTP id 1a2b3c; Tue, 05 Mar 2024 09:14:22 +0100"],
    ["Mime-Version", "1.0"],
    ["From", "Maria Gonzalez <maria.gonzalez@example.com>"],
    ["Date", "Tue, 05 Mar 2024 09:14:22 +0100"],
    ["Message-Id", "<CAB1042.maria@mail.example.com>"],
    ["Subject", "Broken mug in order #1042"],
    ["To", "Support <support@shop.example>"],
    ["Content-Type", 'multipart/alternative; boundary="000000000000a1b2c3"'],
]


def route_post(**overrides: str | None) -> dict[str, str]:
    """A form-encoded route post as Mailgun documents it (fields plus the signing triple)."""
    fields = {
        "recipient": "support@shop.example",
        "sender": "maria.gonzalez@example.com",
        "from": "Maria Gonzalez <maria.gonzalez@example.com>",
        "subject": "Broken mug in order #1042",
        "body-plain": "Hi,\n\nMy mug arrived broken.\n\nOn Mon, Support wrote:\n> Your order has shipped\n",
        "stripped-text": "Hi,\n\nMy mug arrived broken.",
        "stripped-signature": "",
        "body-html": "<div>Hi,</div><div>My mug arrived broken.</div>",
        "stripped-html": "<div>Hi,</div><div>My mug arrived broken.</div>",
        "attachment-count": "0",
        "timestamp": TIMESTAMP,
        "token": TOKEN,
        "signature": sign_mailgun("key-mg", TIMESTAMP, TOKEN),
        "message-headers": json.dumps(MESSAGE_HEADERS),
        "Message-Id": "<CAB1042.maria@mail.example.com>",
        "Date": "Tue, 05 Mar 2024 09:14:22 +0100",
        "To": "Support <support@shop.example>",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def parse(fields: dict[str, str], source: SourceInfo = SOURCE) -> list[dict]:
    return ADAPTERS["mailgun"].parse(urllib.parse.urlencode(fields).encode(), FORM, source=source, received_at=RECEIVED)


def multipart(fields: dict[str, str], files: dict[str, tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = "mg-boundary-42"
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, (filename, content_type, data) in files.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        chunks.append(f"{head}Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def test_route_post_becomes_an_inbound_message_from_the_sender():
    [item] = parse(route_post())
    [loaded] = load_interactions([item])
    assert loaded["external_id"] == "<CAB1042.maria@mail.example.com>"
    assert loaded["direction"] == "inbound" and loaded["type"] == "message"
    assert item["occurred_at"] == "2024-03-05T09:14:22+01:00"
    assert item["customer"] == {
        "email": "maria.gonzalez@example.com",
        "name": "Maria Gonzalez",
        "attributes": {"first_name": "Maria", "last_name": "Gonzalez"},
    }
    assert item["subject"] == "Broken mug in order #1042"
    assert item["data"]["recipient"] == "support@shop.example"
    assert item["data"]["to"] == [{"email": "support@shop.example", "name": "Support"}]


def test_the_text_is_mailguns_stripped_reply_without_the_quoted_thread():
    [item] = parse(route_post())
    assert item["text"] == "Hi,\n\nMy mug arrived broken."
    assert item["data"]["quoted_text_stripped"] is True


def test_without_stripped_text_the_full_plain_body_is_kept():
    [item] = parse(route_post(**{"stripped-text": ""}))
    assert item["text"].startswith("Hi,\n\nMy mug arrived broken.\n\nOn Mon, Support wrote:")
    assert "quoted_text_stripped" not in item["data"]


def test_an_html_only_post_is_read_as_text():
    [item] = parse(route_post(**{"stripped-text": None, "body-plain": None}))
    assert item["text"] == "Hi,\nMy mug arrived broken." and item["data"]["body_format"] == "html"


def test_headers_missing_as_fields_are_taken_from_message_headers():
    [item] = parse(route_post(**{"Message-Id": None, "Date": None, "To": None}))
    assert item["external_id"] == "<CAB1042.maria@mail.example.com>"
    assert item["occurred_at"] == "2024-03-05T09:14:22+01:00"
    assert item["data"]["to"] == [{"email": "support@shop.example", "name": "Support"}]


def test_a_reply_carries_its_thread():
    post = route_post(
        **{
            "Message-Id": "<reply2@mail.example.com>",
            "In-Reply-To": "<reply1.1042@shop.example>",
            "References": "<CAB1042.maria@mail.example.com> <reply1.1042@shop.example>",
        }
    )
    [item] = parse(post)
    assert item["data"]["thread_id"] == "<CAB1042.maria@mail.example.com>"
    assert item["data"]["in_reply_to"] == "<reply1.1042@shop.example>"


def test_without_a_date_the_mailgun_timestamp_is_the_time():
    headers = [h for h in MESSAGE_HEADERS if h[0] != "Date"]
    [item] = parse(route_post(Date=None, **{"message-headers": json.dumps(headers)}))
    assert item["occurred_at"] == datetime.fromtimestamp(int(TIMESTAMP), UTC).isoformat()


def test_without_a_message_id_retries_of_the_same_message_share_one_external_id():
    headers = [h for h in MESSAGE_HEADERS if h[0] != "Message-Id"]
    first = route_post(**{"Message-Id": None, "message-headers": json.dumps(headers)})
    retry = {**first, "token": "another-token", "timestamp": "1709630999", "signature": "ab" * 32}
    [a], [b] = parse(first), parse(retry)
    assert a["external_id"].startswith("sha256:") and a["external_id"] == b["external_id"]


def test_multipart_post_lists_attachments_and_marks_inline_ones():
    fields = route_post(**{"attachment-count": "2", "content-id-map": json.dumps({"<logo@x>": "attachment-2"})})
    files = {
        "attachment-1": ("receipt.pdf", "application/pdf", b"%PDF-1.4 ..." * 10),
        "attachment-2": ("logo.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"0" * 92),
    }
    body, content_type = multipart(fields, files)
    [item] = ADAPTERS["mailgun"].parse(body, {"Content-Type": content_type}, source=SOURCE, received_at=RECEIVED)
    assert item["data"]["attachments"] == [
        {"filename": "receipt.pdf", "content_type": "application/pdf", "size": 120},
        {"filename": "logo.png", "content_type": "image/png", "size": 100, "inline": True, "content_id": "<logo@x>"},
    ]
    load_interactions([item])


def test_fields_parsed_by_the_web_layer_are_used_as_given():
    form = {k: [v] for k, v in route_post().items()}
    [item] = ADAPTERS["mailgun"].parse(b"", FORM, source=SOURCE, received_at=RECEIVED, form=form)
    assert item["external_id"] == "<CAB1042.maria@mail.example.com>"


def test_a_message_sent_from_the_business_is_outbound_to_the_customer():
    post = route_post(
        sender="support@shop.example",
        **{"from": "Shop Support <support@shop.example>", "To": "Maria <maria.gonzalez@example.com>"},
        recipient="maria.gonzalez@example.com",
    )
    [item] = parse(post)
    assert item["direction"] == "outbound" and item["customer"]["email"] == "maria.gonzalez@example.com"


def test_encoded_words_left_in_a_from_field_are_decoded():
    [item] = parse(route_post(**{"from": "=?utf-8?q?Fran=C3=A7ois_L=C3=A9ger?= <fl@example.fr>"}))
    assert item["customer"]["name"] == "François Léger"


def test_a_post_without_any_sender_is_an_invalid_payload():
    with pytest.raises(InvalidPayload) as caught:
        parse(route_post(**{"from": None, "sender": None, "message-headers": "[]"}))
    assert "from" in caught.value.errors


def test_message_headers_that_are_not_json_pairs_are_named():
    with pytest.raises(InvalidPayload) as caught:
        parse(route_post(**{"message-headers": '{"From": "x"}'}))
    assert "message-headers" in caught.value.errors


def test_json_is_not_a_route_post():
    with pytest.raises(UnsupportedMediaType):
        ADAPTERS["mailgun"].parse(b"{}", {"Content-Type": "application/json"}, source=SOURCE, received_at=RECEIVED)


def test_a_broken_form_body_is_malformed():
    with pytest.raises(MalformedPayload):
        ADAPTERS["mailgun"].parse(b"\xff\xfe&&", FORM, source=SOURCE, received_at=RECEIVED)


form_text = st.text(st.characters(codec="utf-8"), max_size=40)
mailgun_values = st.sampled_from(
    ["", "[]", '[["From", "a@b.c"]]', "not json", "<a@b>", "a@b.c", "1709630062", "=?utf-8?b?////?="]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(list(route_post()) + ["Cc", "References", "In-Reply-To", "content-id-map"]) | form_text,
        st.lists(form_text | mailgun_values, min_size=1, max_size=2),
        max_size=12,
    )
)
def test_arbitrary_forms_raise_only_payload_errors(form):
    try:
        items = ADAPTERS["mailgun"].parse(b"", FORM, source=SOURCE, received_at=RECEIVED, form=form)
    except (MalformedPayload, InvalidPayload):
        return
    try:
        load_interactions(items)
    except ValidationError as exc:
        assert isinstance(exc.messages, dict)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([FORM, {"Content-Type": "multipart/form-data; boundary=x"}, {}]))
def test_arbitrary_bodies_raise_only_payload_errors(body, headers):
    try:
        ADAPTERS["mailgun"].parse(body, headers, source=SOURCE, received_at=RECEIVED)
    except (MalformedPayload, InvalidPayload):
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dropped=st.sets(st.sampled_from(list(route_post()))),
    replaced=st.dictionaries(st.sampled_from(list(route_post())), form_text | mailgun_values, max_size=6),
)
def test_a_valid_post_with_fields_dropped_or_garbled_is_refused_by_name_or_valid(dropped, replaced):
    form = {k: [replaced.get(k, v)] for k, v in route_post().items() if k not in dropped}
    try:
        items = ADAPTERS["mailgun"].parse(b"", FORM, source=SOURCE, received_at=RECEIVED, form=form)
    except (MalformedPayload, InvalidPayload):
        return
    load_interactions(items)  # what the adapter returns for a real delivery always passes the schema


def test_crlf_line_endings_in_form_fields_become_newlines():
    [item] = parse(route_post(**{"stripped-text": "Line one\r\nLine two\r\n"}))
    assert item["text"] == "Line one\nLine two"
