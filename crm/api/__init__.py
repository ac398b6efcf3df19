"""The JSON API under /api/v1: resources register themselves on `bp` through `operation` (spec.py)."""

from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
def openapi_document():
    from crm.api.openapi import build_spec

    return jsonify(build_spec())


# Resource modules register their operations on import (after bp exists).
from crm.api import (  # noqa: E402, F401
    cases,
    customers,
    experiments,
    identity,
    metrics,
    personalization,
    privacy,
    search,
    segments,
    sources,
    tokens,
    users,
)
