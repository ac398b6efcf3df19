"""Domain errors and the one handler that turns them into RFC 9457 problem responses.

Every error the API or a webhook answers goes through here, so no request ends in a bare 500 page
or a traceback: a clear status, a title, the detail, and for validation failures each field.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from marshmallow import ValidationError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: dict | None = None, status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        if status is not None:
            self.status = status


class InvalidSignature(DomainError):
    status = 401
    title = "Invalid signature"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class UnknownSource(NotFound):
    title = "Unknown source"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"


class MalformedPayload(DomainError):
    status = 400
    title = "Malformed payload"


class InvalidPayload(DomainError):
    status = 422
    title = "Invalid payload"


def problem(status: int, title: str, detail: str | None = None, errors: dict | None = None, **extra):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _wants_json() -> bool:
    path = request.path
    if path.startswith(("/api/", "/webhooks/", "/healthz")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return problem(exc.status, exc.title, exc.detail, exc.errors)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return problem(422, "Invalid input", "the request did not pass validation; see errors", messages)

    @app.errorhandler(DataError)
    def _out_of_range(exc: DataError):
        # A value the database cannot hold (an id past its integer range, ...): the request's fault, never a 500.
        from crm.extensions import db

        db.session.rollback()
        reason = str(exc.orig).splitlines()[0] if exc.orig else "a value the database cannot store"
        return problem(422, "Invalid input", f"a value in the request is out of range: {reason}")

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_unavailable(exc: Exception):
        # The database restarting or out of reach: nothing was stored, and the same request will do once it is back.
        from crm.extensions import db

        try:
            db.session.rollback()
        except Exception:
            pass
        log.warning("database unavailable on %s %s: %s", request.method, request.path, str(exc).splitlines()[0])
        response = problem(503, "Database unavailable", "the database is not answering; nothing was stored, retry")
        response.headers["Retry-After"] = "2"
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if not _wants_json():
            return exc
        return problem(exc.code or 500, exc.name, exc.description)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")
