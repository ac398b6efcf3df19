"""Schemathesis against the app's own OpenAPI document: every operation, fed generated requests (valid
and invalid) with an admin's token, through the real app (WSGI, no socket) on the real services, never
answers a 5xx, and answers only the statuses, media types and shapes the document gives.

The document is the one GET /api/v1/openapi.json serves (built from the same operations at import, so
pytest gets one test per operation). Examples per operation are bounded (FUZZ_API_EXAMPLES, 10 by
default) so the run takes a minute or two in CI; set it higher for a deeper run. A few rows exist
first, so small ids reach real objects.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import crm.api  # noqa: F401  (every operation registered)
from crm.api.openapi import build_spec
from tests.factories import auth, interaction, make_source, make_user

EXAMPLES = int(os.environ.get("FUZZ_API_EXAMPLES", "10"))
# Never a 5xx; and what is answered is what the document says: a documented status, media type and shape.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
schema = schemathesis.openapi.from_dict(build_spec())
pytestmark = pytest.mark.services  # the real PostgreSQL: its integer ranges are what the ids meet


@pytest.fixture
def admin_token(app) -> str:
    """An admin's token, with a customer, interactions and a case in place for small ids to find."""
    from crm.channels.intake import Received, store_canonical
    from crm.pipeline import process_interactions

    source = make_source(channel="email")
    items = [interaction(f"fuzz-{n}", customer={"email": f"fuzz{n}@example.com"}, text="Where is my order?")
             for n in range(2)]  # fmt: skip
    outcome = store_canonical(source, items, Received(b"{}", {}, "http://localhost/", "application/json"))
    process_interactions(outcome.accepted)  # in this process: the ids must exist, the queue is not the subject
    return make_user("admin")[1]


def test_the_served_document_is_the_one_fuzzed(client):
    assert client.get("/api/v1/openapi.json").json == build_spec()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_api_operation_answers_a_server_error(case, app, admin_token):
    response = case.call(app=app, headers=auth(admin_token))
    case.validate_response(response, checks=CHECKS)
