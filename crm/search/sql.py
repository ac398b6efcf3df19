"""The search box on the database, for embedded mode (SQLite) and usable on PostgreSQL: the same
SearchRequest and SearchPage as Elasticsearch, from the tables themselves, so it needs no outbox.

Identifiers, phone endings, partial emails and order numbers are matched in SQL exactly as the index
matches them, so an exact identifier finds the same customers on both backends. Names and phrases
are found by a broad LIKE on a few characters of one token (a superset of what one typo can reach),
then graded in Python by the rules in matching.py. The broad step keeps the CANDIDATES most recently
active rows, and SQL does not fold accents in stored text: ranking and recall on names and phrases
may differ from Elasticsearch, which is what the contract allows.
"""

from __future__ import annotations

import math
from collections import defaultdict

from sqlalchemy import String, cast, exists, func, or_, select

from crm.extensions import db
from crm.profiles.models import Customer, CustomerAttribute, Identifier, Interaction
from crm.search import documents, matching, text
from crm.search.query import Hit, ParsedQuery, SearchPage, SearchRequest
from crm.segments.models import SegmentMember

CANDIDATES = 5000
NAME_KEYS = ("first_name", "last_name", "name")
customers_t, identifiers_t = Customer.__table__, Identifier.__table__
interactions_t, attributes_t = Interaction.__table__, CustomerAttribute.__table__


def _contains(column, fragment: str):
    return column.ilike(f"%{text.like_escape(fragment)}%", escape="\\")


def _order_number_expr():
    raw = interactions_t.c.data["order_number"].as_string()
    return func.upper(func.replace(func.replace(raw, "#", ""), " ", ""))


def search(req: SearchRequest) -> SearchPage:
    notes: list[str] = []
    hits: list[Hit] = []
    totals = {"customer": 0, "interaction": 0}
    if req.wants("customer"):
        found = customer_hits(req, notes)
        totals["customer"] = len(found)
        hits += found
    if req.wants("interaction"):
        found = interaction_hits(req, notes)
        totals["interaction"] = len(found)
        hits += found
    hits.sort(key=sort_key)
    return SearchPage(hits[req.offset : req.offset + req.per_page], totals, "sql", notes)


def sort_key(hit: Hit) -> tuple:
    """Score, then most recent activity, then the document key: the order Elasticsearch sorts in."""
    activity = hit.activity_at.timestamp() if hit.activity_at else -math.inf
    return (-hit.score, -activity, f"{hit.entity}:{hit.id}")


# ---------------------------------------------------------------- customers


def customer_hits(req: SearchRequest, notes: list[str]) -> list[Hit]:
    q = req.query
    tiers: dict[int, float] = {}

    def grade(ids, tier: float) -> None:
        for cid in ids:
            if cid is not None:
                tiers[cid] = max(tiers.get(cid, 0.0), tier)

    grade(
        db.session.scalars(select(identifiers_t.c.customer_id).where(identifiers_t.c.value.in_(q.exact_values))),
        matching.IDENTIFIER,
    )
    grade(_handle_owners(q), matching.IDENTIFIER)
    if q.order_number:
        grade(_order_owners(q.order_number), matching.ORDER_NUMBER)
    if q.phone_suffix:
        grade(_phone_owners(q.phone_suffix), matching.PHONE_SUFFIX)
    if q.email_partial:
        grade(_email_owners(q.email_partial), matching.EMAIL_PARTIAL)
    if q.mode == "text" and q.tokens:
        for cid, tier in _name_tiers(q, notes).items():
            grade([cid], tier)
    if q.mode == "text" and q.words:
        grade(_identifier_word_owners(q), matching.IDENTIFIER_WORDS)
    return _filtered_customers(req, tiers)


def _handle_owners(q: ParsedQuery) -> list[int]:
    if not q.handles:
        return []
    patterns = [func.lower(identifiers_t.c.value).like(f"%:{text.like_escape(h)}", escape="\\") for h in q.handles]
    rows = db.session.execute(
        select(identifiers_t.c.customer_id, identifiers_t.c.value).where(
            identifiers_t.c.kind.in_(("chat", "external")), or_(*patterns)
        )
    )
    return [cid for cid, value in rows if text.fold(text.handle_of(value)) in q.handles]


def _order_owners(order_number: str) -> list[int]:
    return list(
        db.session.scalars(
            select(interactions_t.c.customer_id).where(
                interactions_t.c.type == "purchase", _order_number_expr() == order_number
            )
        )
    )


def _phone_owners(suffix: str) -> list[int]:
    rows = db.session.execute(
        select(identifiers_t.c.customer_id, identifiers_t.c.value).where(
            identifiers_t.c.kind == "phone", identifiers_t.c.value.like(f"%{text.like_escape(suffix)}", escape="\\")
        )
    )
    return [cid for cid, value in rows if text.phone_digits(value).endswith(suffix)]


def _email_owners(partial: str) -> list[int]:
    escaped = text.like_escape(partial)
    value = func.lower(identifiers_t.c.value)
    rows = db.session.execute(
        select(identifiers_t.c.customer_id, identifiers_t.c.value).where(
            identifiers_t.c.kind == "email",
            or_(value.like(f"{escaped}%", escape="\\"), value.like(f"%{escaped}", escape="\\")),
        )
    )
    return [cid for cid, v in rows if text.fold(v).startswith(partial) or text.fold(v).endswith(partial)]


def name_probes(token: str) -> list[str]:
    """LIKE fragments at least one of which survives any single edit of the token (see module docstring).

    An edit touches at most two neighbouring characters, so for five characters or more the first two
    or the last two are intact; for three and four, the first and last characters are.
    """
    if len(token) <= 2:
        return [token]
    probes = [token[:2], token[-2:]]
    if len(token) <= 4:
        probes.append(f"{token[0]}%{token[-1]}")
    return probes


def _name_tiers(q: ParsedQuery, notes: list[str]) -> dict[int, float]:
    token = max(q.tokens, key=len)  # every token must match, so one token bounds the candidates
    probes = name_probes(token)
    attr_match = select(attributes_t.c.customer_id).where(
        attributes_t.c.key.in_(NAME_KEYS), or_(*[cast(attributes_t.c.value, String).ilike(f"%{p}%") for p in probes])
    )
    rows = db.session.execute(
        select(customers_t.c.id, customers_t.c.display_name)
        .where(
            customers_t.c.status == "active",
            or_(*[customers_t.c.display_name.ilike(f"%{p}%") for p in probes], customers_t.c.id.in_(attr_match)),
        )
        .order_by(customers_t.c.last_seen_at.desc().nulls_last(), customers_t.c.id.desc())
        .limit(CANDIDATES)
    ).all()
    if len(rows) == CANDIDATES:
        notes.append(f"name matches were looked for among the {CANDIDATES} most recently active candidates")
    attrs: dict[int, dict] = defaultdict(dict)
    if rows:
        for cid, key, origin, value in db.session.execute(
            select(attributes_t.c.customer_id, attributes_t.c.key, attributes_t.c.origin, attributes_t.c.value).where(
                attributes_t.c.customer_id.in_([r.id for r in rows]), attributes_t.c.key.in_(NAME_KEYS)
            )
        ):
            if origin == "agent" or key not in attrs[cid]:
                attrs[cid][key] = value
    out = {}
    for row in rows:
        tokens = documents.name_fields(row.display_name, attrs.get(row.id, {}))["names"].split()
        tier = matching.name_tier(q.tokens, tokens)
        if tier:
            out[row.id] = tier
    return out


def _identifier_word_owners(q: ParsedQuery) -> list[int]:
    word = max(q.words, key=len)
    owners = list(
        db.session.scalars(
            select(identifiers_t.c.customer_id)
            .where(_contains(identifiers_t.c.value, word))
            .distinct()
            .limit(CANDIDATES)
        )
    )
    if not owners:
        return []
    tokens: dict[int, list[str]] = defaultdict(list)
    for cid, kind, value in db.session.execute(
        select(identifiers_t.c.customer_id, identifiers_t.c.kind, identifiers_t.c.value).where(
            identifiers_t.c.customer_id.in_(owners)
        )
    ):
        tokens[cid] += text.identifier_tokens(kind, value)
    return [cid for cid, words in tokens.items() if matching.words_tier(q.words, words)]


def _filtered_customers(req: SearchRequest, tiers: dict[int, float]) -> list[Hit]:
    if not tiers:
        return []
    c = customers_t
    stmt = select(c.c.id, c.c.last_seen_at, c.c.created_at).where(c.c.id.in_(list(tiers)), c.c.status == "active")
    if req.channels:
        stmt = stmt.where(
            exists().where(interactions_t.c.customer_id == c.c.id, interactions_t.c.channel.in_(req.channels))
        )
    if req.until:
        stmt = stmt.where(c.c.first_seen_at < req.until)
    if req.since:
        stmt = stmt.where(c.c.last_seen_at >= req.since)
    if req.segment_id is not None:
        stmt = stmt.where(
            exists().where(SegmentMember.customer_id == c.c.id, SegmentMember.segment_id == req.segment_id)
        )
    return [Hit("customer", r.id, tiers[r.id], r.last_seen_at or r.created_at) for r in db.session.execute(stmt)]


# ---------------------------------------------------------------- interactions


def _interaction_filters(req: SearchRequest) -> list:
    i = interactions_t
    filters = []
    if req.channels:
        filters.append(i.c.channel.in_(req.channels))
    if req.since:
        filters.append(i.c.occurred_at >= req.since)
    if req.until:
        filters.append(i.c.occurred_at < req.until)
    if req.segment_id is not None:
        filters.append(
            i.c.customer_id.in_(select(SegmentMember.customer_id).where(SegmentMember.segment_id == req.segment_id))
        )
    return filters


def interaction_hits(req: SearchRequest, notes: list[str]) -> list[Hit]:
    q, i = req.query, interactions_t
    filters = _interaction_filters(req)
    found: dict[int, Hit] = {}
    if q.order_number:
        for iid, at in db.session.execute(
            select(i.c.id, i.c.occurred_at).where(_order_number_expr() == q.order_number, *filters)
        ):
            found[iid] = Hit("interaction", iid, matching.INTERACTION_ORDER, at)
    if q.words:
        word = max(q.words, key=len)
        rows = db.session.execute(
            select(i.c.id, i.c.occurred_at, i.c.subject, i.c.text, i.c.data)
            .where(
                or_(_contains(i.c.subject, word), _contains(i.c.text, word), _contains(cast(i.c.data, String), word)),
                *filters,
            )
            .order_by(i.c.occurred_at.desc(), i.c.id.desc())
            .limit(CANDIDATES)
        ).all()
        if len(rows) == CANDIDATES:
            notes.append(f"message matches were looked for among the {CANDIDATES} most recent candidates")
        for row in rows:
            tier = matching.text_tier(q.words, text.words(row.subject), text.words(documents.interaction_body(row)))
            if tier and (row.id not in found or found[row.id].score < tier):
                found[row.id] = Hit("interaction", row.id, tier, row.occurred_at)
    return list(found.values())
