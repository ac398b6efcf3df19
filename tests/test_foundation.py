"""The foundation: health, the real services, the CLI, API authentication and the OpenAPI document."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import select, text

from crm.extensions import db
from crm.profiles.models import Customer, Interaction
from tests.conftest import MODE, IsolatedClient, wait_for
from tests.factories import auth, interaction, make_source, make_user, post_generic


def test_healthz_reports_mode_and_every_service_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "ok"
    if MODE == "full":
        assert body["mode"] == "full"
        assert body["checks"]["database"] == {"state": "up", "backend": "postgresql"}
        assert body["checks"]["queue"]["state"] == "up"
        assert body["checks"]["search"]["state"] == "up"
    else:
        assert body["mode"] == "embedded"
        assert body["checks"]["database"]["backend"] == "sqlite"
        assert body["checks"]["queue"] == {"state": "inline"}
        assert body["checks"]["search"]["state"] == "sql"


@pytest.mark.services
def test_postgres_stores_and_reads_back_a_customer(app):
    customer = Customer(display_name="Zoë Ünal")
    db.session.add(customer)
    db.session.commit()
    db.session.expire_all()
    assert db.engine.dialect.name == "postgresql"
    assert db.session.get(Customer, customer.id).display_name == "Zoë Ünal"
    assert db.session.execute(text("SELECT count(*) FROM customers")).scalar() == 1


@pytest.mark.services
def test_a_real_worker_process_runs_the_job_from_redis(app, client, worker_process):
    source = make_source(channel="chat")
    response = post_generic(
        client, source, interaction("chat-1", customer={"email": "Ann@Example.com"}, text="Hi there")
    )
    assert response.status_code == 202
    (interaction_id,) = response.json["accepted"]
    worker_process()

    def processed():
        db.session.expire_all()
        row = db.session.get(Interaction, interaction_id)
        return row.processed_at is not None and row

    row = wait_for(processed, message="the worker to process the interaction")
    assert db.session.get(Customer, row.customer_id).identifiers[0].value == "ann@example.com"


@pytest.mark.services
def test_a_processed_customer_is_indexed_in_and_found_in_elasticsearch(app, client, run_jobs):
    from crm.search.elastic import alias
    from crm.search.elastic import client as es

    source = make_source(channel="email")
    response = post_generic(
        client, source, interaction("m-1", customer={"email": "zed@example.com", "name": "Zed Quill"})
    )
    assert response.status_code == 202
    run_jobs()
    customer_id = db.session.scalar(select(Interaction.customer_id))
    es().indices.refresh(index=alias("customer"))
    found = es().search(index=alias("customer"), query={"match": {"names": "quill"}})
    assert [hit["_id"] for hit in found["hits"]["hits"]] == [str(customer_id)]


def test_cli_creates_a_user_whose_token_opens_the_api(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "ops@example.com", "--role", "admin", "--password", "longenough"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "token", "ops@example.com"])
    token = result.output.strip()
    assert token.startswith("crm_")
    app.test_client_class = IsolatedClient
    response = app.test_client().get("/api/v1/sources", headers=auth(token))
    assert response.status_code == 200
    assert response.json == {"items": []}


def test_cli_refuses_a_duplicate_user_with_a_clear_message(app):
    runner = app.test_cli_runner()
    args = ["users", "create", "dup@example.com", "--role", "agent", "--password", "longenough"]
    assert runner.invoke(args=args).exit_code == 0
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert "exists already" in result.output
    assert "Traceback" not in result.output


def test_cli_adds_a_source_and_lists_it(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "sources",
            "add",
            "shop-1",
            "--channel",
            "store",
            "--provider",
            "shopify",
            "--secret",
            "0123456789abcdef0123",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "POST /webhooks/shop-1" in result.output
    listed = runner.invoke(args=["sources", "list"]).output
    assert "shop-1\tstore\tshopify\tyes\tnever" in listed
    bad = runner.invoke(
        args=["sources", "add", "x", "--channel", "email", "--provider", "twilio", "--secret", "0123456789abcdef"]
    )
    assert bad.exit_code != 0 and "does not serve the email channel" in bad.output


def test_api_needs_a_token_and_the_right_role(app, client):
    assert client.get("/api/v1/sources").status_code == 401
    assert client.get("/api/v1/sources").mimetype == "application/problem+json"
    _, agent_token = make_user("agent")
    response = client.get("/api/v1/sources", headers=auth(agent_token))
    assert response.status_code == 403
    assert "agent role" in response.json["detail"]
    assert client.get("/api/v1/sources", headers=auth("crm_not-a-real-token")).status_code == 401


def test_openapi_document_is_valid_and_describes_the_customer_schema(client):
    from openapi_spec_validator import validate

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    validate(spec)
    assert "/customers/{customer_id}/timeline" in spec["paths"]
    assert "CustomerOut" in spec["components"]["schemas"] or "Customer" in str(spec["components"]["schemas"].keys())


@pytest.mark.services
def test_unreachable_search_and_queue_give_503_and_webhooks_are_still_accepted(app, client, caplog):
    app.config.update(ELASTICSEARCH_URL="http://127.0.0.1:1", REDIS_URL="redis://127.0.0.1:1/0")
    app.extensions.pop("crm.es", None)
    app.extensions.pop("crm.redis", None)
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert set(response.json["down"]) == {"queue", "search"}
        source = make_source(channel="chat")
        with caplog.at_level(logging.WARNING, logger="crm"):
            for n in range(3):
                accepted = post_generic(client, source, interaction(f"down-{n}"))
                assert accepted.status_code == 202
        assert db.session.scalar(select(db.func.count()).select_from(Interaction)) == 3
        warnings = [r for r in caplog.records if "queue unavailable" in r.getMessage()]
        assert len(warnings) <= 1  # one line, not one per request
        assert all(r.exc_info is None for r in caplog.records)
    finally:
        app.config.update(
            ELASTICSEARCH_URL=__import__("os").environ["ELASTICSEARCH_URL"],
            REDIS_URL=__import__("os").environ["REDIS_URL"],
        )
        app.extensions.pop("crm.es", None)
        app.extensions.pop("crm.redis", None)
    time.sleep(0)
