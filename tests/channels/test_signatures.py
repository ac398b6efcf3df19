"""Signature checks per provider scheme: valid deliveries pass, tampered, stale and unsigned ones do not."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.channels.signatures import (
    read_form,
    sign_generic,
    sign_mailgun,
    sign_shopify,
    sign_twilio,
    verify_generic,
    verify_mailgun,
    verify_shopify,
    verify_twilio,
)
from crm.errors import InvalidSignature, MalformedPayload, UnsupportedMediaType

NOW = datetime(2024, 3, 5, 12, 0, 0, tzinfo=UTC)
T = int(NOW.timestamp())
BODY = b'{"external_id":"m-1","type":"message"}'
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def multipart(fields: dict[str, str], files: dict[str, tuple[str, str, bytes]] | None = None) -> tuple[bytes, str]:
    boundary = "----crm-test-boundary-7d1f"
    chunks = []
    for name, value in fields.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content_type, data) in (files or {}).items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        chunks.append(head.encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def generic(secrets, body=BODY, header=None, now=NOW, tolerance_s=300):
    headers = {"X-CRM-Signature": header if header is not None else sign_generic("s3cret", body, T)}
    verify_generic(secrets, body=body, headers=headers, url="", form=None, now=now, tolerance_s=tolerance_s)


# --- generic ---------------------------------------------------------------------------------------


def test_generic_signature_verifies():
    generic(["s3cret"])


def test_generic_signature_header_is_case_insensitive():
    headers = {"x-crm-signature": sign_generic("s3cret", BODY, T)}
    verify_generic(["s3cret"], body=BODY, headers=headers, now=NOW)


def test_generic_previous_secret_still_verifies_during_rotation():
    generic(["new-secret", "s3cret"])


def test_generic_accepts_several_v1_values_one_of_them_valid():
    valid = sign_generic("s3cret", BODY, T).split(",v1=")[1]
    generic(["s3cret"], header=f"t={T},v1={'0' * 64},v1={valid},v0=legacy")


def test_generic_signature_with_wrong_secret_is_refused():
    with pytest.raises(InvalidSignature, match="does not match"):
        generic(["other"])


def test_generic_tampered_body_is_refused():
    with pytest.raises(InvalidSignature, match="does not match"):
        generic(["s3cret"], body=BODY + b" ", header=sign_generic("s3cret", BODY, T))


def test_generic_missing_header_is_refused():
    with pytest.raises(InvalidSignature, match="missing X-CRM-Signature"):
        verify_generic(["s3cret"], body=BODY, headers={}, now=NOW)


@pytest.mark.parametrize(
    "value",
    ["garbage", f"v1={'a' * 64}", f"t=abc,v1={'a' * 64}", f"t={T}", f"t={T},v2=abc", "t=-5,v1=00", "t=١٢٣,v1=00"],
)
def test_generic_malformed_header_is_refused_with_a_reason(value):
    with pytest.raises(InvalidSignature, match="malformed"):
        generic(["s3cret"], header=value)


@pytest.mark.parametrize("skew", [301, -301, 86_400])
def test_generic_stale_or_future_timestamp_is_refused(skew):
    with pytest.raises(InvalidSignature, match="tolerance 300 s"):
        generic(["s3cret"], now=NOW + timedelta(seconds=skew))


@pytest.mark.parametrize("skew", [300, -300, 0])
def test_generic_timestamp_at_the_edge_of_the_tolerance_passes(skew):
    generic(["s3cret"], now=NOW + timedelta(seconds=skew))


def test_a_source_without_a_secret_refuses_everything():
    with pytest.raises(InvalidSignature, match="no signing secret"):
        generic([])


@settings(max_examples=150, deadline=None)
@given(secret=st.text(min_size=1, max_size=64), body=st.binary(max_size=2048), t=st.integers(0, 2**33))
def test_generic_valid_signatures_always_verify(secret, body, t):
    now = datetime.fromtimestamp(t, UTC)
    verify_generic([secret], body=body, headers={"X-CRM-Signature": sign_generic(secret, body, t)}, now=now)


@settings(max_examples=150, deadline=None)
@given(body=st.binary(min_size=1, max_size=2048), data=st.data())
def test_generic_any_single_byte_tamper_fails(body, data):
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    with pytest.raises(InvalidSignature):
        verify_generic(["k"], body=tampered, headers={"X-CRM-Signature": sign_generic("k", body, T)}, now=NOW)


# --- mailgun ---------------------------------------------------------------------------------------


def mailgun_post(key="mg-key", timestamp=T, token="a" * 50, **extra) -> bytes:
    fields = {"timestamp": str(timestamp), "token": token, "signature": sign_mailgun(key, timestamp, token), **extra}
    return urllib.parse.urlencode(fields).encode()


def test_mailgun_signature_matches_the_documented_hmac_of_timestamp_and_token():
    # hex HMAC-SHA256(signing key, timestamp + token), as Mailgun's "Securing webhooks" describes
    import hashlib
    import hmac

    expected = hmac.new(b"key-123", b"1529006854" + b"tok", hashlib.sha256).hexdigest()
    assert sign_mailgun("key-123", 1529006854, "tok") == expected


def test_mailgun_form_post_verifies():
    verify_mailgun(["mg-key"], body=mailgun_post(subject="Hi"), headers=FORM, now=NOW)


def test_mailgun_multipart_post_verifies():
    fields = {"timestamp": str(T), "token": "t" * 50, "signature": sign_mailgun("mg-key", T, "t" * 50)}
    body, content_type = multipart(fields, {"attachment-1": ("a.txt", "text/plain", b"hello")})
    verify_mailgun(["mg-key"], body=body, headers={"Content-Type": content_type}, now=NOW)


def test_mailgun_verifies_from_a_form_already_parsed_by_the_web_layer():
    form = {"timestamp": [str(T)], "token": ["x" * 50], "signature": [sign_mailgun("mg-key", T, "x" * 50)]}
    verify_mailgun(["mg-key"], body=b"", headers=FORM, form=form, now=NOW)


def test_mailgun_previous_signing_key_still_verifies():
    verify_mailgun(["rotated", "mg-key"], body=mailgun_post(), headers=FORM, now=NOW)


def test_mailgun_wrong_key_is_refused():
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_mailgun(["other"], body=mailgun_post(), headers=FORM, now=NOW)


def test_mailgun_stale_timestamp_is_refused():
    with pytest.raises(InvalidSignature, match="old"):
        verify_mailgun(["mg-key"], body=mailgun_post(timestamp=T - 10 * 3600), headers=FORM, now=NOW)


def test_mailgun_retry_hours_later_with_its_original_signature_still_verifies():
    # Mailgun's route retries (10 min ... 4 h apart, 8 h in all) resend the first attempt's signature.
    verify_mailgun(["mg-key"], body=mailgun_post(timestamp=T - 8 * 3600), headers=FORM, now=NOW, tolerance_s=300)


def test_mailgun_timestamp_from_the_future_gets_only_the_clock_skew_tolerance():
    with pytest.raises(InvalidSignature, match="in the future"):
        verify_mailgun(["mg-key"], body=mailgun_post(timestamp=T + 301), headers=FORM, now=NOW, tolerance_s=300)


def test_mailgun_replayed_token_with_another_timestamp_is_refused():
    body = urllib.parse.urlencode(
        {"timestamp": str(T + 1), "token": "a" * 50, "signature": sign_mailgun("mg-key", T, "a" * 50)}
    ).encode()
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_mailgun(["mg-key"], body=body, headers=FORM, now=NOW)


@pytest.mark.parametrize("missing", ["timestamp", "token", "signature"])
def test_mailgun_missing_field_is_refused_by_name(missing):
    fields = dict(urllib.parse.parse_qsl(mailgun_post().decode()))
    del fields[missing]
    with pytest.raises(InvalidSignature, match=missing):
        verify_mailgun(["mg-key"], body=urllib.parse.urlencode(fields).encode(), headers=FORM, now=NOW)


def test_mailgun_non_numeric_timestamp_is_refused():
    body = urllib.parse.urlencode({"timestamp": "yesterday", "token": "t", "signature": "00"}).encode()
    with pytest.raises(InvalidSignature, match="malformed"):
        verify_mailgun(["mg-key"], body=body, headers=FORM, now=NOW)


# --- twilio ----------------------------------------------------------------------------------------

# Twilio's published example (TwilioDevEd api-snippets, "Validate signature"): auth token 12345.
TWILIO_DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}
TWILIO_DOCS_SIGNATURE = "GvWf1cFY/Q7PnoempGyD5oXAezc="


def test_twilio_signature_matches_twilio_docs_example():
    assert sign_twilio("12345", TWILIO_DOCS_URL, TWILIO_DOCS_PARAMS) == TWILIO_DOCS_SIGNATURE
    body = urllib.parse.urlencode(TWILIO_DOCS_PARAMS).encode()
    headers = {**FORM, "X-Twilio-Signature": TWILIO_DOCS_SIGNATURE}
    verify_twilio(["12345"], body=body, headers=headers, url=TWILIO_DOCS_URL, now=NOW)


def test_twilio_docs_example_with_the_form_parsed_by_the_web_layer():
    form = {k: [v] for k, v in TWILIO_DOCS_PARAMS.items()}
    headers = {**FORM, "X-Twilio-Signature": TWILIO_DOCS_SIGNATURE}
    verify_twilio(["12345"], body=b"", headers=headers, url=TWILIO_DOCS_URL, form=form, now=NOW)


def test_twilio_signature_covers_the_query_string_as_given():
    body = urllib.parse.urlencode(TWILIO_DOCS_PARAMS).encode()
    headers = {**FORM, "X-Twilio-Signature": TWILIO_DOCS_SIGNATURE}
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_twilio(["12345"], body=body, headers=headers, url="https://mycompany.com/myapp.php?bar=2&foo=1", now=NOW)


def test_twilio_tampered_parameter_is_refused():
    params = {**TWILIO_DOCS_PARAMS, "Digits": "1235"}
    headers = {**FORM, "X-Twilio-Signature": TWILIO_DOCS_SIGNATURE}
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_twilio(
            ["12345"], body=urllib.parse.urlencode(params).encode(), headers=headers, url=TWILIO_DOCS_URL, now=NOW
        )


def test_twilio_repeated_parameters_are_signed_in_sorted_order():
    pairs = [("To", "+18005551212"), ("Media", "b"), ("Media", "a")]
    expected = sign_twilio("tok", "https://x.test/hook", {"To": "+18005551212", "Media": ["a", "b"]})
    # name+value pairs in sorted order: Media a, Media b, To ...
    import base64
    import hashlib
    import hmac

    signed = "https://x.test/hook" + "Mediaa" + "Mediab" + "To+18005551212"
    assert expected == base64.b64encode(hmac.new(b"tok", signed.encode(), hashlib.sha1).digest()).decode()
    headers = {**FORM, "X-Twilio-Signature": expected}
    verify_twilio(
        ["tok"], body=urllib.parse.urlencode(pairs).encode(), headers=headers, url="https://x.test/hook", now=NOW
    )


@pytest.mark.parametrize(
    ("signed_url", "request_url"),
    [("https://x.test/hook", "https://x.test:443/hook"), ("https://x.test:443/hook", "https://x.test/hook")],
)
def test_twilio_signature_with_or_without_the_default_port_verifies(signed_url, request_url):
    headers = {**FORM, "X-Twilio-Signature": sign_twilio("tok", signed_url, {"CallSid": "CA1"})}
    verify_twilio(["tok"], body=b"CallSid=CA1", headers=headers, url=request_url, now=NOW)


def test_twilio_json_body_is_verified_through_body_sha256():
    import hashlib

    body = b'{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}'
    url = f"https://example.com/myapp?bodySHA256={hashlib.sha256(body).hexdigest()}"
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": sign_twilio("tok", url)}
    verify_twilio(["tok"], body=body, headers=headers, url=url, now=NOW)
    with pytest.raises(InvalidSignature, match="bodySHA256"):
        verify_twilio(["tok"], body=body + b" ", headers=headers, url=url, now=NOW)


def test_twilio_non_ascii_body_sha256_is_refused_not_a_crash():
    url = "https://example.com/myapp?bodySHA256=%C3%A9t%C3%A9"
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": sign_twilio("tok", url)}
    with pytest.raises(InvalidSignature, match="bodySHA256"):
        verify_twilio(["tok"], body=b"{}", headers=headers, url=url, now=NOW)


def test_twilio_missing_header_is_refused():
    with pytest.raises(InvalidSignature, match="missing X-Twilio-Signature"):
        verify_twilio(["tok"], body=b"CallSid=CA1", headers=FORM, url="https://x.test/hook", now=NOW)


def test_twilio_previous_auth_token_still_verifies():
    headers = {**FORM, "X-Twilio-Signature": sign_twilio("old", "https://x.test/h", {"CallSid": "CA1"})}
    verify_twilio(["new", "old"], body=b"CallSid=CA1", headers=headers, url="https://x.test/h", now=NOW)


@settings(max_examples=100, deadline=None)
@given(
    params=st.dictionaries(
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
        st.lists(st.text(st.characters(codec="utf-8"), max_size=20), min_size=1, max_size=3),
        max_size=8,
    ),
    token=st.text(min_size=1, max_size=40),
)
def test_twilio_valid_signatures_always_verify(params, token):
    url = "https://crm.example/webhooks/calls?src=1"
    body = urllib.parse.urlencode([(k, v) for k, vs in params.items() for v in vs]).encode()
    headers = {**FORM, "X-Twilio-Signature": sign_twilio(token, url, params)}
    verify_twilio([token], body=body, headers=headers, url=url, now=NOW)


# --- shopify ---------------------------------------------------------------------------------------


def test_shopify_signature_verifies():
    headers = {"X-Shopify-Hmac-Sha256": sign_shopify("shpss_1", BODY)}
    verify_shopify(["shpss_1"], body=BODY, headers=headers, now=NOW)


def test_shopify_tampered_body_is_refused():
    headers = {"X-Shopify-Hmac-Sha256": sign_shopify("shpss_1", BODY)}
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_shopify(["shpss_1"], body=BODY.replace(b"m-1", b"m-2"), headers=headers, now=NOW)


def test_shopify_missing_header_is_refused():
    with pytest.raises(InvalidSignature, match="missing X-Shopify-Hmac-Sha256"):
        verify_shopify(["shpss_1"], body=BODY, headers={}, now=NOW)


def test_shopify_hex_instead_of_base64_is_refused():
    import hashlib
    import hmac

    hex_digest = hmac.new(b"shpss_1", BODY, hashlib.sha256).hexdigest()
    with pytest.raises(InvalidSignature):
        verify_shopify(["shpss_1"], body=BODY, headers={"X-Shopify-Hmac-Sha256": hex_digest}, now=NOW)


@settings(max_examples=150, deadline=None)
@given(body=st.binary(min_size=1, max_size=2048), data=st.data())
def test_shopify_valid_signatures_verify_and_any_single_byte_tamper_fails(body, data):
    headers = {"X-Shopify-Hmac-Sha256": sign_shopify("k", body)}
    verify_shopify(["k"], body=body, headers=headers, now=NOW)
    index = data.draw(st.integers(0, len(body) - 1))
    tampered = body[:index] + bytes([body[index] ^ data.draw(st.integers(1, 255))]) + body[index + 1 :]
    with pytest.raises(InvalidSignature):
        verify_shopify(["k"], body=tampered, headers=headers, now=NOW)


# --- reading forms -----------------------------------------------------------------------------------


def test_read_form_describes_multipart_files_without_keeping_them():
    body, content_type = multipart({"subject": "Héllo"}, {"attachment-1": ("r.pdf", "application/pdf", b"%PDF" * 10)})
    form = read_form(body, {"Content-Type": content_type})
    assert form.fields == {"subject": ["Héllo"]}
    assert [(f.field, f.filename, f.content_type, f.size) for f in form.files] == [
        ("attachment-1", "r.pdf", "application/pdf", 40)
    ]


@pytest.mark.parametrize("body", [b"a&b", b"\xff\xfe=1", b"a=1&b"])
def test_read_form_refuses_a_body_that_is_not_form_encoded(body):
    with pytest.raises(MalformedPayload):
        read_form(body, FORM)


def test_read_form_refuses_a_multipart_body_without_its_boundary():
    with pytest.raises(MalformedPayload, match="multipart"):
        read_form(b"--nope\r\n\r\nx", {"Content-Type": "multipart/form-data"})


def test_read_form_refuses_a_multipart_body_nested_beyond_reason():
    boundary = "outer"
    nested = "".join(f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n" for i in range(1500))
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=x\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
    )
    with pytest.raises(MalformedPayload):
        read_form((body + nested).encode(), {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def test_read_form_refuses_json():
    with pytest.raises(UnsupportedMediaType):
        read_form(b"{}", {"Content-Type": "application/json"})
