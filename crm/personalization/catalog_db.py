"""The product model: what was bought, by how many customers, and which products go together.

Derived from purchase interactions (data.items [{sku, name, category, ...}], refunds left out) and
rebuilt whole by `build_product_model` — a periodic job, and `flask personalization products`:

    product_counts    sku -> name, category, customers who bought it, order lines
    product_pairs     (sku a, sku b) -> customers who bought both (pairs of at least MIN_SUPPORT)
    segment_products  (segment, sku) -> its members who bought it
    product_builds    one row per build: when, customers with purchases, products, pairs

Recomputing co-occurrence per request would scan every purchase; the model makes the agent view's
recommendations three indexed reads. It is derived data like the search index: dropped and rebuilt at
any time, and a build is one transaction, so readers see the old model or the new one, never half.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Float, ForeignKey, Index, Integer, String, delete, func, select, text
from sqlalchemy.orm import Mapped, mapped_column

from crm.columns import BigId, UTCDateTime, utcnow
from crm.extensions import db
from crm.personalization.actions import Catalogue
from crm.personalization.recommend import MIN_SUPPORT


class ProductCount(db.Model):
    __tablename__ = "product_counts"

    sku: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(200))
    customers: Mapped[int] = mapped_column(Integer)
    lines: Mapped[int] = mapped_column(Integer)


class ProductPair(db.Model):
    __tablename__ = "product_pairs"

    sku_a: Mapped[str] = mapped_column(String(200), primary_key=True)
    sku_b: Mapped[str] = mapped_column(String(200), primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)


class SegmentProduct(db.Model):
    __tablename__ = "segment_products"
    __table_args__ = (Index("ix_segment_products_rank", "segment_id", "customers"),)

    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(200), primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)


class ProductBuild(db.Model):
    __tablename__ = "product_builds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    customers: Mapped[int] = mapped_column(Integer)  # customers with at least one purchase
    products: Mapped[int] = mapped_column(Integer)
    pairs: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)


REFRESH_AFTER = timedelta(hours=1)
_TEMP = "tmp_customer_skus"


def _purchase_lines_sql(dialect: str) -> str:
    """SELECT customer_id, sku, name, category: one row per item line of every non-refund purchase."""
    if dialect == "postgresql":
        return """
            SELECT i.customer_id, e.item->>'sku' AS sku, e.item->>'name' AS name, e.item->>'category' AS category
            FROM interactions i
            JOIN customers c ON c.id = i.customer_id AND c.status = 'active'
            CROSS JOIN LATERAL jsonb_array_elements(
                CASE WHEN jsonb_typeof(i.data->'items') = 'array' THEN i.data->'items' ELSE '[]'::jsonb END
            ) AS e(item)
            WHERE i.type = 'purchase' AND coalesce(i.data->>'refund', 'false') IN ('false', '0', '')
              AND jsonb_typeof(e.item) = 'object' AND coalesce(e.item->>'sku', '') <> ''
        """
    # SQLite: json_each over the items array; a non-object element has no sku to read.
    return """
        SELECT i.customer_id,
               CAST(json_extract(e.value, '$.sku') AS TEXT) AS sku,
               json_extract(e.value, '$.name') AS name,
               json_extract(e.value, '$.category') AS category
        FROM interactions i
        JOIN customers c ON c.id = i.customer_id AND c.status = 'active'
        JOIN json_each(CASE WHEN json_type(i.data, '$.items') = 'array' THEN json_extract(i.data, '$.items')
                            ELSE '[]' END) AS e
        WHERE i.type = 'purchase' AND coalesce(json_extract(i.data, '$.refund'), 0) IN (0, '', 'false')
          AND e.type = 'object' AND coalesce(CAST(json_extract(e.value, '$.sku') AS TEXT), '') <> ''
    """


def build_product_model(min_support: int = MIN_SUPPORT) -> ProductBuild | None:
    """Rebuild the whole model in one transaction; None when another build holds the lock (PostgreSQL)."""
    started = time.perf_counter()
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        got = db.session.execute(text("SELECT pg_try_advisory_xact_lock(hashtextextended('product_model', 0))"))
        if not got.scalar():
            db.session.rollback()
            return None
    session = db.session
    session.execute(text(f"DROP TABLE IF EXISTS {_TEMP}"))
    session.execute(text(f"CREATE TEMPORARY TABLE {_TEMP} AS {_purchase_lines_sql(dialect)}"))
    for table in (SegmentProduct, ProductPair, ProductCount):
        session.execute(delete(table))
    session.execute(
        text(f"""
        INSERT INTO product_counts (sku, name, category, customers, lines)
        SELECT sku, max(name), max(category), count(DISTINCT customer_id), count(*) FROM {_TEMP} GROUP BY sku
    """)
    )
    distinct = f"(SELECT DISTINCT customer_id, sku FROM {_TEMP})"
    session.execute(
        text(f"""
        INSERT INTO product_pairs (sku_a, sku_b, customers)
        SELECT a.sku, b.sku, count(*) FROM {distinct} a JOIN {distinct} b
          ON a.customer_id = b.customer_id AND a.sku <> b.sku
        GROUP BY a.sku, b.sku HAVING count(*) >= :support
    """),
        {"support": min_support},
    )
    session.execute(
        text(f"""
        INSERT INTO segment_products (segment_id, sku, customers)
        SELECT m.segment_id, d.sku, count(*) FROM segment_members m JOIN {distinct} d ON d.customer_id = m.customer_id
        GROUP BY m.segment_id, d.sku
    """)
    )
    customers = session.execute(text(f"SELECT count(DISTINCT customer_id) FROM {_TEMP}")).scalar() or 0
    products = session.execute(text("SELECT count(*) FROM product_counts")).scalar() or 0
    pairs = session.execute(text("SELECT count(*) FROM product_pairs")).scalar() or 0
    session.execute(text(f"DROP TABLE IF EXISTS {_TEMP}"))
    build = ProductBuild(
        customers=customers, products=products, pairs=pairs, seconds=round(time.perf_counter() - started, 3)
    )
    session.add(build)
    session.commit()
    _latest_seen.clear()
    session.refresh(build)  # loaded, so callers may read it after the session closes
    return build


def latest_build() -> tuple[int, int, datetime] | None:
    """(build id, customers with purchases, built at) of the newest model, or None before the first."""
    row = db.session.execute(
        select(ProductBuild.id, ProductBuild.customers, ProductBuild.built_at).order_by(ProductBuild.id.desc()).limit(1)
    ).first()
    return tuple(row) if row else None


def refresh_if_stale(max_age: timedelta = REFRESH_AFTER) -> bool:
    """The periodic job: rebuild when the model is older than max_age (or missing). True when rebuilt."""
    latest = latest_build()
    if latest is not None and utcnow() - latest[2] < max_age:
        return False
    return build_product_model() is not None


class ProductTable:
    """Every product of one build: counts, names, the overall popularity order, the Catalogue matcher."""

    def __init__(self, build_id: int | None, customers: int, rows: list[tuple[str, str | None, str | None, int]]):
        self.build_id, self.customers = build_id, customers
        self.counter = Counter({sku: count for sku, _, _, count in rows})
        self.names = {sku: name or sku for sku, name, _, _ in rows}
        self.categories = {sku: category for sku, _, category, _ in rows}
        self.popular = [sku for sku, *_ in sorted(rows, key=lambda r: (-r[3], r[0]))]
        self.catalogue = Catalogue(self.names)


@lru_cache(maxsize=4)
def _table_for(build_id: int, customers: int, _built_at: datetime, _database: str) -> ProductTable:
    # Keyed by the build (id and time, so a rebuilt database never reuses an old key): a new build is a
    # new key, so every web process switches to it on its next request.
    rows = db.session.execute(
        select(ProductCount.sku, ProductCount.name, ProductCount.category, ProductCount.customers)
    ).all()
    return ProductTable(build_id, customers, [tuple(r) for r in rows])


_latest_seen: dict[str, tuple[float, tuple | None]] = {}
LATEST_CHECK_S = 10.0


def _latest_cached() -> tuple[int, int, datetime] | None:
    # Read at most every LATEST_CHECK_S per process: a model rebuilt hourly may reach a view 10 s late,
    # and every agent view saves a round trip. No build yet is never cached, so the first one shows at once.
    key, now = str(db.engine.url), time.monotonic()
    seen = _latest_seen.get(key)
    if seen is not None and seen[1] is not None and now - seen[0] < LATEST_CHECK_S:
        return seen[1]
    latest = latest_build()
    _latest_seen[key] = (now, latest)
    return latest


def product_table() -> ProductTable:
    """The products of the newest build (an empty table before the first build)."""
    latest = _latest_cached()
    if latest is None:
        return ProductTable(None, 0, [])
    return _table_for(latest[0], latest[1], latest[2], str(db.engine.url))


def segment_popular(segment_ids: list[int], limit: int = 20) -> dict[int, list[str]]:
    """segment id -> its members' most bought skus, most popular first (from the newest build), in one query."""
    if not segment_ids:
        return {}
    order = (SegmentProduct.customers.desc(), SegmentProduct.sku)
    rank = func.row_number().over(partition_by=SegmentProduct.segment_id, order_by=order).label("rank")
    ranked = (
        select(SegmentProduct.segment_id, SegmentProduct.sku, SegmentProduct.customers, rank)
        .where(SegmentProduct.segment_id.in_(segment_ids))
        .subquery()
    )
    stmt = (
        select(ranked.c.segment_id, ranked.c.sku)
        .where(ranked.c.rank <= limit)
        .order_by(ranked.c.segment_id, ranked.c.rank)
    )
    out: dict[int, list[str]] = {segment_id: [] for segment_id in segment_ids}
    for segment_id, sku in db.session.execute(stmt):
        out[segment_id].append(sku)
    return out
