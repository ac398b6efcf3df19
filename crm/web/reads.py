"""Read models for pages whose owning package has no function for them: small, read-only queries.

Kept here, out of the views and templates, so each page still does one call; when the owning package
grows the function, the page calls that instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, select

from crm.channels.models import Delivery, Source
from crm.columns import utcnow
from crm.errors import NotFound
from crm.extensions import db
from crm.profiles.identifiers import InvalidIdentifier
from crm.profiles.lookup import normalise_for_lookup
from crm.profiles.models import Customer, Identifier


@dataclass
class SourceSummary:
    source: Source
    last: Delivery | None
    failures_24h: int
    deliveries_24h: int


def sources_overview() -> list[SourceSummary]:
    """Every source with its last delivery and the last day's deliveries and failures."""
    since = utcnow() - timedelta(hours=24)
    counts = {
        sid: (total, failed or 0)
        for sid, total, failed in db.session.execute(
            select(
                Delivery.source_id,
                func.count(),
                func.sum(case((Delivery.status_code >= 400, 1), else_=0)),
            )
            .where(Delivery.received_at >= since)
            .group_by(Delivery.source_id)
        )
    }
    out = []
    for source in db.session.scalars(select(Source).order_by(Source.slug)):
        last = db.session.scalar(
            select(Delivery).where(Delivery.source_id == source.id).order_by(Delivery.id.desc()).limit(1)
        )
        total, failed = counts.get(source.id, (0, 0))
        out.append(SourceSummary(source, last, failed, total))
    return out


def source_by_slug(slug: str) -> Source:
    source = db.session.scalar(select(Source).where(Source.slug == slug))
    if source is None:
        raise NotFound(f"no source {slug}")
    return source


def deliveries_page(source: Source, *, failures_only: bool, page: int, per_page: int = 25):
    stmt = select(Delivery).where(Delivery.source_id == source.id)
    if failures_only:
        stmt = stmt.where(Delivery.status_code >= 400)
    return db.paginate(stmt.order_by(Delivery.id.desc()), page=page, per_page=per_page, error_out=False)


def find_customer(text: str) -> Customer:
    """A customer by id ('42' or '#42'), or by any identifier as written (email, phone, loyalty id...)."""
    text = text.strip()
    if text.lstrip("#").isdigit():
        customer = db.session.get(Customer, int(text.lstrip("#")))
        if customer is not None:
            return customer
    for kind in _kinds_for(text):
        try:
            value = normalise_for_lookup(kind, text)
        except InvalidIdentifier:
            continue
        ident = db.session.scalar(select(Identifier).where(Identifier.kind == kind, Identifier.value == value))
        if ident is not None:
            return ident.customer
    raise NotFound(f"no customer matches {text!r}")


def _kinds_for(text: str) -> tuple[str, ...]:
    if "@" in text and not text.startswith("@"):
        return ("email",)
    return ("phone", "loyalty", "chat", "external")


def privacy_requests_page(page: int, per_page: int = 20):
    """Exports and erasures, newest first: ids, who, when and counts (an erasure leaves nothing else)."""
    from crm.profiles.models import PrivacyRequest

    stmt = select(PrivacyRequest).order_by(PrivacyRequest.id.desc())
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)
