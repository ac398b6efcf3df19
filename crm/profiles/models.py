"""Customers, their identifiers and attributes, interactions, cases, merges and duplicate suggestions.

The database is the source of truth; everything the index holds is derived from these rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.columns import BigId, Json, UTCDateTime, utcnow
from crm.extensions import db

IDENTIFIER_KINDS = ("email", "phone", "chat", "loyalty", "external")
INTERACTION_TYPES = ("message", "call", "visit", "purchase", "survey", "note")
DIRECTIONS = ("inbound", "outbound")


class Customer(db.Model):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # 'active' or 'merged' (kept so that a merge can be undone; merged_into_id names the survivor).
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    display_name: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Bumped on every change: caches (the agent view) are keyed by it.
    version: Mapped[int] = mapped_column(Integer, default=1)

    # Aggregates, recomputed from the interactions (never incremented), so a job run twice counts once.
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_channel: Mapped[str | None] = mapped_column(String(16))
    interaction_count: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict] = mapped_column(Json, default=dict)  # {"channel": {...}, "type": {...}}
    lifetime_value: Mapped[dict] = mapped_column(Json, default=dict)  # {"USD": "123.40"} purchases - refunds
    ltv_amount: Mapped[float] = mapped_column(Numeric(14, 2), default=0)  # in BASE_CURRENCY
    orders_count: Mapped[int] = mapped_column(Integer, default=0)
    last_purchase_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    nps_score: Mapped[int | None] = mapped_column(Integer)
    nps_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    csat_score: Mapped[float | None] = mapped_column(Float)
    csat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ces_score: Mapped[float | None] = mapped_column(Float)
    ces_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    open_cases: Mapped[int] = mapped_column(Integer, default=0)
    sentiment_avg: Mapped[float | None] = mapped_column(Float)
    # Written by personalization after each processed interaction, read by segments and search.
    journey_stage: Mapped[str | None] = mapped_column(String(32))
    churn_risk: Mapped[float | None] = mapped_column(Float)

    identifiers: Mapped[list[Identifier]] = relationship(back_populates="customer", order_by="Identifier.id")
    attributes: Mapped[list[CustomerAttribute]] = relationship(
        back_populates="customer", order_by="CustomerAttribute.key"
    )


class Identifier(db.Model):
    """A normalised identifier owned by one customer: unique across the whole table."""

    __tablename__ = "identifiers"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
    raw: Mapped[str | None] = mapped_column(String(500))  # as first seen, for display
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    interaction_id: Mapped[int | None] = mapped_column(BigId)  # the interaction that first brought it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="identifiers")


class CustomerAttribute(db.Model):
    """One attribute value with its provenance.

    origin 'channel' holds the value of the latest-occurring interaction that carried it; origin
    'agent' is an agent's pinned edit, which wins until cleared (the channel value is kept beneath it).
    """

    __tablename__ = "customer_attributes"
    __table_args__ = (UniqueConstraint("customer_id", "key", "origin"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(100))  # first_name, address, consent.email, custom.tier ...
    origin: Mapped[str] = mapped_column(String(16), default="channel")
    value: Mapped[object] = mapped_column(Json)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    interaction_id: Mapped[int | None] = mapped_column(BigId)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the interaction occurred
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="attributes")


class Interaction(db.Model):
    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id"),
        Index("ix_interactions_customer_time", "customer_id", "occurred_at"),
        Index("ix_interactions_unprocessed", "processed_at", "received_at"),
        Index("ix_interactions_occurred", "occurred_at"),
        Index("ix_interactions_type_occurred", "type", "occurred_at"),  # CX metrics: surveys of a range
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    external_id: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    process_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(Json, default=dict)
    # The customer block as received (identifiers and attributes), so resolution can be replayed.
    customer_in: Mapped[dict] = mapped_column(Json, default=dict)
    # Normalised identifiers: [{"kind", "value", "raw", "valid", "error"}]; invalid ones never match.
    identifiers: Mapped[list] = mapped_column(Json, default=list)
    thread_key: Mapped[str | None] = mapped_column(String(500))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    sentiment: Mapped[float | None] = mapped_column(Float)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )  # agent notes, logged calls

    payload: Mapped[InteractionPayload | None] = relationship(
        back_populates="interaction", cascade="all, delete-orphan", passive_deletes=True, uselist=False
    )


class InteractionPayload(db.Model):
    """The raw body an interaction came from, kept apart so timeline reads never load it."""

    __tablename__ = "interaction_payloads"

    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict] = mapped_column(Json, default=dict)

    interaction: Mapped[Interaction] = relationship(back_populates="payload")


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_customer_thread", "customer_id", "thread_key"),
        Index("ix_cases_opened_at", "opened_at"),  # CX metrics: cases opened in a range
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    thread_key: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # When the current open spell began (opened_at, or the inbound that last reopened it).
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Sum of open spells: time to resolution counts only while the case was open.
    resolution_seconds: Mapped[float | None] = mapped_column(Float)


class Merge(db.Model):
    """One merge of `merged` into `survivor`, with the identifier that linked them and a snapshot to undo it."""

    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    identifier_kind: Mapped[str | None] = mapped_column(String(16))
    identifier_value: Mapped[str | None] = mapped_column(String(320))
    interaction_id: Mapped[int | None] = mapped_column(BigId)
    reason: Mapped[str] = mapped_column(String(32))  # shared_identifier | manual | suggestion
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Which rows moved and both sides' attributes before the merge: what undo restores.
    snapshot: Mapped[dict] = mapped_column(Json, default=dict)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by: Mapped[str | None] = mapped_column(String(100))


class MergeBlock(db.Model):
    """A pair that must not merge automatically again (set by an undo or a dismissed suggestion)."""

    __tablename__ = "merge_blocks"
    __table_args__ = (UniqueConstraint("customer_a_id", "customer_b_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_a_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    customer_b_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DuplicateSuggestion(db.Model):
    """A possible duplicate for a person to confirm (merge) or dismiss; never merged on its own."""

    __tablename__ = "duplicate_suggestions"
    __table_args__ = (
        UniqueConstraint("customer_a_id", "customer_b_id"),
        Index("ix_suggestions_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_a_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    customer_b_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(Json, default=list)
    kind: Mapped[str] = mapped_column(String(32), default="fuzzy")  # fuzzy | over_limit | blocked_pair
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | confirmed | dismissed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merge_id: Mapped[int | None] = mapped_column(BigId)


class MatchProfile(db.Model):
    """What duplicate scoring knows of an active customer (names, address, birth date, identifiers),
    kept beside the customer so suggestions for one customer never rebuild everyone's records."""

    __tablename__ = "match_profiles"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    record: Mapped[dict] = mapped_column(Json, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MatchKey(db.Model):
    """A blocking key (same postcode, phonetic surname, birth date...) or a value whose frequency
    weighs agreement, per customer, hashed to 64 bits: candidates are the customers sharing a key."""

    __tablename__ = "match_keys"

    key_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PrivacyRequest(db.Model):
    """An export or erasure request. After an erasure only the ids and times remain."""

    __tablename__ = "privacy_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # export | erase
    customer_id: Mapped[int] = mapped_column(BigId)  # not a foreign key: it outlives the customer
    requested_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="done")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[dict] = mapped_column(Json, default=dict)  # counts only
