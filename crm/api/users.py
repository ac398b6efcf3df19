"""Users and their roles, for admins: list, create, change role or disable."""

from __future__ import annotations

from flask_login import current_user
from marshmallow import Schema, fields, validate

from crm.api import bp
from crm.api.spec import operation
from crm.auth import admin
from crm.auth.models import ROLES
from crm.extensions import db


class UserOut(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String(allow_none=True)
    role = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(allow_none=True)


class UserPage(Schema):
    items = fields.List(fields.Nested(UserOut))
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()


class UsersQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    q = fields.String(load_default=None, metadata={"description": "part of an email or name"})


class UserIn(Schema):
    email = fields.Email(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=200))
    name = fields.String(load_default=None, validate=validate.Length(max=200))


class UserPatch(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    name = fields.String(validate=validate.Length(max=200))


@operation(
    bp, "/users", summary="Users and their roles", tag="admin", permission="admin", query=UsersQuery, response=UserPage
)
def list_users(args):
    """Ordered by email; `q` filters by part of the email or name."""
    found = admin.users_page(args["page"], args["per_page"], args["q"])
    return {
        "items": UserOut(many=True).dump(found.items),
        "page": found.page,
        "pages": found.pages,
        "total": found.total,
    }


@operation(
    bp,
    "/users",
    "POST",
    summary="Create a user",
    tag="admin",
    permission="admin",
    body=UserIn,
    response=UserOut,
    status=201,
    errors=(409,),
)
def create_user(payload):
    """The password is hashed; it is never returned."""
    user = admin.add_user(payload["email"], payload["role"], payload["password"], payload["name"], current_user.email)
    db.session.commit()
    return UserOut().dump(user)


@operation(
    bp,
    "/users/<int:user_id>",
    "PATCH",
    summary="Change a user's role, name or active flag",
    tag="admin",
    permission="admin",
    body=UserPatch,
    response=UserOut,
    errors=(404, 409),
)
def update_user(user_id: int, payload):
    """A disabled user can no longer log in and their tokens stop working. The last active admin stays one."""
    user = admin.update_user(admin.get_user(user_id), actor=current_user.email, **payload)
    db.session.commit()
    return UserOut().dump(user)
