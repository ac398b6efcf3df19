"""Experiments and their assignments: the database side of crm/experiments.

An assignment is unique per experiment and customer (the constraint is what makes two workers
assigning the same customer at once end with one row), and it outlives the customer's membership:
leaving the segment never undoes the variant they were given.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, and_, or_
from sqlalchemy.orm import Mapped, mapped_column

from crm.columns import BigId, Json, UTCDateTime, utcnow
from crm.extensions import db

STATUSES = ("draft", "running", "stopped", "ended")


class Experiment(db.Model):
    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What the split hashes with the customer id: fixed at creation, so renaming changes nothing.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    hypothesis: Mapped[str] = mapped_column(Text)
    # SET NULL: deleting the segment stops new assignments but keeps the experiment and its results.
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"), index=True)
    # [{"name", "share" (percent), "control" (bool), "action" (text for agents or null)}], in split order.
    variants: Mapped[list] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    primary_metric: Mapped[str] = mapped_column(String(32))
    guardrail_metrics: Mapped[list] = mapped_column(Json, default=list)
    window_days: Mapped[int] = mapped_column(Integer, default=30)
    min_sample: Mapped[int] = mapped_column(Integer, default=100)
    # True: members already in the segment at the start are assigned too; False: only those entering after.
    assign_existing: Mapped[bool] = mapped_column(Boolean, default=True)
    # The outbound webhook told of each assignment (a segment webhook on this segment, signed like the others).
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("segment_webhooks.id", ondelete="SET NULL"))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def design(self, base_currency: str = "USD"):
        from crm.experiments.results import Design, VariantSpec

        return Design(
            name=self.name,
            variants=tuple(
                VariantSpec(v["name"], float(v["share"]), bool(v.get("control")), v.get("action"))
                for v in self.variants
            ),
            primary_metric=self.primary_metric,
            guardrail_metrics=tuple(self.guardrail_metrics or ()),
            window_days=self.window_days,
            min_sample=self.min_sample,
            base_currency=base_currency,
        )

    def shares(self) -> list[tuple[str, float]]:
        return [(v["name"], v["share"]) for v in self.variants]

    @classmethod
    def running_now(cls, now: datetime):
        """The SQL twin of is_running: treatments are shown while the experiment runs, and only then."""
        return and_(cls.status == "running", or_(cls.starts_at.is_(None), cls.starts_at <= now), cls.ends_at > now)

    def is_running(self, now: datetime) -> bool:
        """Assigning now: started, not stopped, inside its start and end."""
        if self.status != "running":
            return False
        return (self.starts_at is None or self.starts_at <= now) and now < self.ends_at


class ExperimentAssignment(db.Model):
    __tablename__ = "experiment_assignments"
    __table_args__ = (
        UniqueConstraint("experiment_id", "customer_id"),
        Index("ix_experiment_assignments_experiment_variant", "experiment_id", "variant"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    variant: Mapped[str] = mapped_column(String(64))
    bucket: Mapped[float] = mapped_column(Float)  # the hash's number in [0, 1): lets anyone check the split
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How they came in: realtime (an interaction made them a member) | sweep (the periodic job, a refresh, the start)
    cause: Mapped[str] = mapped_column(String(16))
    interaction_id: Mapped[int | None] = mapped_column(BigId)
