"""`flask sources` with each provider's settings, and the webhook in the OpenAPI document."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.channels.cli import source_settings
from crm.channels.models import Source
from crm.errors import InvalidPayload
from crm.extensions import db


def _source(slug: str) -> Source:
    db.session.expire_all()
    return db.session.scalar(select(Source).where(Source.slug == slug))


def _add(app, *args: str):
    return app.test_cli_runner().invoke(args=["sources", "add", *args, "--secret", "0123456789abcdef0123"])


def test_an_email_source_takes_its_own_addresses_and_domains(app):
    result = _add(
        app, "support", "--channel", "email", "--provider", "mailgun",
        "--own-address", "Support@Shop.example", "--own-domain", "@shop.example", "--own-domain", "shop.co.uk",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _source("support").settings == {
        "own_addresses": ["support@shop.example"],
        "own_domains": ["shop.example", "shop.co.uk"],
    }


def test_a_twilio_source_takes_its_own_numbers_and_the_voicemail_setting(app):
    args = ["calls", "--channel", "phone", "--provider", "twilio", "--own-number", "+1 (415) 555-0100"]
    result = _add(app, *args, "--voicemail-when-recorded")
    assert result.exit_code == 0, result.output
    assert _source("calls").settings == {"own_numbers": ["+1 (415) 555-0100"], "voicemail_when_recorded": True}


def test_a_shopify_source_names_its_pos_locations(app):
    result = _add(app, "shop", "--channel", "store", "--provider", "shopify", "--location", "48752903=Soho flagship")
    assert result.exit_code == 0, result.output
    assert _source("shop").settings == {"locations": {"48752903": "Soho flagship"}}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--channel", "store", "--provider", "shopify", "--own-number", "+14155550100"], "for twilio sources"),
        (["--channel", "chat", "--provider", "generic", "--own-domain", "shop.example"], "for email sources"),
        (["--channel", "phone", "--provider", "twilio", "--own-number", "call me"], "is not a phone number"),
        (["--channel", "store", "--provider", "shopify", "--location", "Soho"], "expected ID=NAME"),
        (["--channel", "email", "--provider", "generic", "--own-domain", "not a domain"], "not a domain name"),
        (["--channel", "email", "--provider", "shopify"], "does not serve the email channel (it serves store)"),
    ],
)
def test_settings_that_do_not_fit_the_source_are_refused_with_a_clear_message(app, args, message):
    result = _add(app, "x", *args)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert _source("x") is None


def test_configure_replaces_the_settings_of_an_existing_source(app):
    assert _add(app, "calls", "--channel", "phone", "--provider", "twilio").exit_code == 0
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sources", "configure", "calls", "--own-number", "+442079460000"])
    assert result.exit_code == 0, result.output
    assert _source("calls").settings == {"own_numbers": ["+442079460000"]}
    listed = runner.invoke(args=["sources", "list"]).output
    assert "calls\tphone\ttwilio\tyes\tnever\t{'own_numbers': ['+442079460000']}" in listed
    assert runner.invoke(args=["sources", "configure", "nope"]).exit_code != 0


def test_source_settings_are_checked_without_an_app():
    assert source_settings("generic", "email", own_domains=("Shop.Example",)) == {"own_domains": ["shop.example"]}
    with pytest.raises(InvalidPayload, match="for shopify sources"):
        source_settings("twilio", "phone", locations=("1=A",))


def test_the_openapi_document_describes_the_webhook_with_the_canonical_interaction(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").json
    validate(spec)
    webhook = spec["paths"]["/webhooks/{slug}"]["post"]
    assert webhook["servers"] == [{"url": "/"}], "served at the root, not under /api/v1"
    body = webhook["requestBody"]["content"]
    assert body["application/json"]["schema"]["oneOf"] == [
        {"$ref": "#/components/schemas/InteractionIn"},
        {"$ref": "#/components/schemas/BatchIn"},
    ]
    assert {"message/rfc822", "application/x-www-form-urlencoded", "multipart/form-data"} <= set(body)
    assert {"200", "202", "400", "401", "404", "406", "413", "415", "422"} <= set(webhook["responses"])
    schemas = spec["components"]["schemas"]
    assert set(schemas["InteractionIn"]["required"]) == {"external_id", "occurred_at", "type", "direction", "customer"}
    data = schemas["Data"]["properties"]
    assert {"from", "to", "cc", "attachments", "duration_s", "items", "messages", "thread_id"} <= set(data)
    attributes = schemas["Attributes"]["properties"]
    assert {"first_name", "last_name", "birth_date", "address", "locale", "consent", "custom"} <= set(attributes)
    assert "X-CRM-Signature" in str(spec["components"]["securitySchemes"])
