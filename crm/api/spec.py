"""One decorator for every API operation: authenticate, check the permission, parse the input through
marshmallow, and record the operation so the OpenAPI document is generated from the same schemas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import Blueprint, Response, jsonify, request
from flask_login import current_user
from marshmallow import Schema

from crm.auth.roles import can
from crm.errors import Forbidden, MalformedPayload, Unauthorized


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    tag: str
    permission: str | None
    query: type[Schema] | None
    body: type[Schema] | None
    response: type[Schema] | Schema | None
    status: int
    errors: tuple[int, ...] = field(default_factory=tuple)
    body_required: bool = True


OPERATIONS: list[Operation] = []


def require(permission: str | None):
    if permission is None:
        return None
    if not current_user.is_authenticated:
        raise Unauthorized("authenticate with `Authorization: Bearer <token>` or a logged-in session")
    if not can(current_user.role, permission):
        raise Forbidden(f"the {current_user.role} role may not do this (needs {permission})")
    return current_user


def json_body() -> object:
    if not request.data:
        raise MalformedPayload("the request body is empty; send JSON")
    data = request.get_json(silent=True)
    if data is None:
        raise MalformedPayload("the request body is not valid JSON (Content-Type: application/json)")
    return data


def operation(
    bp: Blueprint,
    rule: str,
    method: str = "GET",
    *,
    summary: str,
    tag: str,
    permission: str | None,
    query: type[Schema] | None = None,
    body: type[Schema] | None = None,
    response: type[Schema] | Schema | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    body_required: bool = True,
) -> Callable:
    """Register fn as an API operation. fn receives path args plus `args=` (query) and/or `payload=` (body)."""

    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def view(**kwargs):
            require(permission)
            if query is not None:
                kwargs["args"] = query().load(request.args.to_dict(flat=True))
            if body is not None:
                # An optional body (a note on an action) may be left out: it loads as {}.
                kwargs["payload"] = body().load(json_body() if body_required or request.data else {})
            result = fn(**kwargs)
            if isinstance(result, Response) or (isinstance(result, tuple) and isinstance(result[0], Response)):
                return result
            if isinstance(result, tuple):
                result, code = result
            else:
                code = status
            return jsonify(result), code

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        OPERATIONS.append(
            Operation(
                rule=rule,
                method=method.lower(),
                endpoint=fn.__name__,
                summary=summary,
                description=(fn.__doc__ or "").strip(),
                tag=tag,
                permission=permission,
                query=query,
                body=body,
                response=response,
                status=status,
                errors=errors,
                body_required=body_required,
            )
        )
        return view

    return decorator
