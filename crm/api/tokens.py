"""API tokens of the caller: list, create (the value is in the answer once), revoke."""

from __future__ import annotations

from flask import Response
from flask_login import current_user
from marshmallow import Schema, fields, validate

from crm.api import bp
from crm.api.spec import operation
from crm.auth import admin
from crm.extensions import db


class TokenOut(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String(metadata={"description": "the first characters, to tell tokens apart"})
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class NewTokenOut(TokenOut):
    token = fields.String(metadata={"description": "the token itself: shown in this answer only"})


class TokenList(Schema):
    items = fields.List(fields.Nested(TokenOut))


class TokenIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


@operation(bp, "/tokens", summary="Your API tokens", tag="account", permission="account", response=TokenList)
def list_tokens():
    """Revoked tokens are listed with the time they were revoked."""
    return {"items": TokenOut(many=True).dump(admin.tokens_of(current_user))}


@operation(
    bp,
    "/tokens",
    "POST",
    summary="Create an API token",
    tag="account",
    permission="account",
    body=TokenIn,
    response=NewTokenOut,
    status=201,
)
def create_token(payload):
    """The token is in this answer and nowhere else: only its hash is stored."""
    row, value = admin.create_token(current_user, payload["name"])
    db.session.commit()
    body = TokenOut().dump(row)
    body["token"] = value
    return body


@operation(
    bp,
    "/tokens/<int:token_id>",
    "DELETE",
    summary="Revoke an API token",
    tag="account",
    permission="account",
    status=204,
    errors=(404, 409),
)
def revoke_token(token_id: int):
    """A revoked token stops authenticating at once."""
    admin.revoke_token(current_user, token_id)
    db.session.commit()
    return Response(status=204)
