"""The OpenAPI 3.1 document, generated from the registered operations and their marshmallow schemas."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from crm.api.spec import OPERATIONS

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "description": "field: [messages], nested as the input is"},
    },
    "required": ["title", "status"],
}
ERROR_TEXT = {
    400: "Malformed request",
    401: "Not authenticated, or a bad signature",
    403: "The role may not do this",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed; `errors` names each field",
}


def _decimal_as_string(self, field, **kwargs) -> dict:
    """Decimals sent and answered as strings ("12.50") are strings in the document, not numbers."""
    if isinstance(field, fields.Decimal) and field.as_string:
        return {"type": ["string", "null"] if field.allow_none else "string", "format": "decimal"}
    return {}


def _path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def _schema_ref(spec: APISpec, schema) -> dict:
    return {"schema": schema}


def build_spec(extra_paths: dict | None = None) -> dict:
    spec = APISpec(
        title="crm API",
        version="1",
        openapi_version="3.1.0",
        plugins=[plugin := MarshmallowPlugin()],
        info={
            "description": "The JSON API of crm, an omnichannel customer 360. Authenticate with "
            "`Authorization: Bearer <token>` (`flask users token EMAIL`) or a logged-in session."
        },
        servers=[{"url": "/api/v1"}],
    )
    plugin.converter.add_attribute_function(_decimal_as_string)
    spec.components.schema("Problem", PROBLEM)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        item: dict = {
            "summary": op.summary,
            "description": op.description,
            "tags": [op.tag],
            "operationId": op.endpoint,
            "responses": {},
        }
        if op.permission:
            item["security"] = [{"bearer": []}]
            item["description"] += f"\n\nPermission: `{op.permission}`."
        params = [
            {"in": "path", "name": name, "required": True, "schema": {"type": "integer" if kind == "int" else "string"}}
            for kind, name in re.findall(r"<(?:([a-z]+):)?([a-z_]+)>", op.rule)
        ]
        if op.query is not None:
            params.append({"in": "query", "schema": op.query})
        if params:
            item["parameters"] = params
        if op.body is not None:
            item["requestBody"] = {"required": op.body_required, "content": {"application/json": {"schema": op.body}}}
        ok = {"description": "OK"}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": op.response}}
        item["responses"][str(op.status)] = ok
        for code in sorted(
            {
                *op.errors,
                *((401, 403) if op.permission else ()),
                *((422,) if op.query or op.body or "<int:" in op.rule else ()),  # an id out of range is a 422
                *((400,) if op.body else ()),  # a body that is not JSON at all
                *((404,) if "<" in op.rule else ()),
            }
        ):
            item["responses"][str(code)] = {
                "description": ERROR_TEXT.get(code, "Error"),
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        paths.setdefault(_path(op.rule), {})[op.method] = item
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    from crm.channels.webhooks import document_webhook  # outside /api/v1, but the same contract

    document_webhook(spec)
    for path, operations in (extra_paths or {}).items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
