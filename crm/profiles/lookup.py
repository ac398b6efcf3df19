"""Normalising an identifier typed by a person (or an API client) the way interactions are normalised."""

from __future__ import annotations

from flask import current_app

from crm.profiles.identifiers import (
    InvalidIdentifier,
    normalise_chat_handle,
    normalise_email,
    normalise_external_id,
    normalise_loyalty_id,
    normalise_phone,
)

KINDS = ("email", "phone", "chat", "loyalty", "external")


def normalise_for_lookup(kind: str, value: str) -> str:
    """chat and external values are given with their namespace: chat:<namespace>:<handle>."""
    cfg = current_app.config
    if kind == "email":
        return normalise_email(value, strip_plus_tags=cfg["EMAIL_STRIP_PLUS_TAGS"])
    if kind == "phone":
        return normalise_phone(value, default_region=cfg["DEFAULT_PHONE_REGION"])
    if kind == "loyalty":
        return normalise_loyalty_id(value)
    if kind in ("chat", "external"):
        namespace, sep, handle = value.strip().partition(":")
        if not sep or not handle.strip():
            raise InvalidIdentifier(kind, value, "expected <namespace>:<value>, the namespace being the source slug")
        if kind == "chat":
            return normalise_chat_handle(handle, namespace=namespace)
        return normalise_external_id(handle, namespace=namespace)
    raise InvalidIdentifier(kind, value, f"unknown identifier kind; one of {', '.join(KINDS)}")
