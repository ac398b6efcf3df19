"""What duplicate scoring sees of each customer, kept in the database beside the customer.

A customer's `PersonRecord` (crm/profiles/similarity.py: names, address, birth date, emails, phones,
phones that failed to parse) is stored in match_profiles; its blocking keys (same postcode, phonetic
surname, birth date, an email one edit away...) and the values whose frequency weighs an agreement
(first name, surname, postcode, city, email domain, country, and the area code of a phone with the
city it is in) are stored hashed in match_keys. Candidates for one customer are then one indexed lookup,
and frequencies a count per value, so suggestions after each processed interaction cost a few queries
instead of a pass over everyone. A kind of key added later needs a migration writing it for the records
already stored (0008: email domain and country), since a record is stored again only when it changes;
`flask identity suggest` also rewrites every key.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from datetime import date

from sqlalchemy import delete, func, insert, select, text, union_all

from crm.extensions import db
from crm.profiles import attributes
from crm.profiles.models import Customer, Interaction, MatchKey, MatchProfile
from crm.profiles.names import fold
from crm.profiles.similarity import (
    BLOCK_CAP,
    Frequencies,
    PersonRecord,
    blocking_keys,
    countries,
    email_domains,
    features,
    phone_city_key,
    phone_places,
    phone_prefixes,
)

FREQUENCY_KINDS = ("first", "last", "postcode", "city", "domain", "country", "phone prefix", "phone prefix city")
LARGE_POPULATION = 100_000
MIN_POPULATION = 1000  # fewer customers than this: frequencies from the population mean nothing yet
# Customers of an area code whose cities are read to find the city it is in (the counts then decide, as
# similarity.Frequencies does): a city with 80% of the area code's customers is among its first 16 unless
# all 16 came from elsewhere (chance 0.2**16 where the order of arrival says nothing of the city); if it
# is not, the area code places nobody (never in a wrong city: the counts themselves are exact).
PHONE_CITY_SAMPLE = 16


def key_hash(key: str) -> int:
    """A stable signed 64-bit hash (the same in every process, unlike hash())."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def frequency_key(kind: str, value: str) -> str:
    return f"fq:{kind}:{value}"


def record_keys(record: PersonRecord) -> tuple[set[int], set[int]]:
    """(blocking key hashes, frequency key hashes) of a record."""
    f = features(record)
    blocking = {key_hash(k) for k in blocking_keys(record)}
    values = [("first", f.first), ("last", f.last), ("postcode", f.postcode), ("city", f.city)]
    values += [("domain", d) for d in email_domains(f)] + [("country", c) for c in countries(f)]
    for prefix in phone_places(f):
        values += [("phone prefix", prefix), ("phone prefix city", phone_city_key(prefix, f.city))]
    frequency = {key_hash(frequency_key(kind, value)) for kind, value in values if value}
    return blocking, frequency


# --- records --------------------------------------------------------------------------------------


def to_json(record: PersonRecord) -> dict:
    return {
        "first_name": record.first_name,
        "last_name": record.last_name,
        "name": record.name,
        "emails": list(record.emails),
        "phones": list(record.phones),
        "invalid_phones": list(record.invalid_phones),
        "birth_date": record.birth_date.isoformat() if record.birth_date else None,
        "city": record.city,
        "postcode": record.postcode,
        "country": record.country,
        "line1": record.line1,
    }


def from_json(customer_id: int, data: dict) -> PersonRecord:
    born = data.get("birth_date")
    return PersonRecord(
        customer_id=customer_id,
        first_name=data.get("first_name"),
        last_name=data.get("last_name"),
        name=data.get("name"),
        emails=tuple(data.get("emails") or ()),
        phones=tuple(data.get("phones") or ()),
        invalid_phones=tuple(data.get("invalid_phones") or ()),
        birth_date=_date(born),
        city=data.get("city"),
        postcode=data.get("postcode"),
        country=data.get("country"),
        line1=data.get("line1"),
    )


def _date(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def build_record(
    customer_id: int, values: dict[str, dict], identifiers: Iterable[tuple[str, str]], invalid_phones: Iterable[str]
) -> PersonRecord:
    """A record from a customer's effective attribute values and identifiers."""

    def value(key: str):
        return (values.get(key) or {}).get("value")

    address = value("address") if isinstance(value("address"), dict) else {}
    idents = list(identifiers)
    return PersonRecord(
        customer_id=customer_id,
        first_name=value("first_name"),
        last_name=value("last_name"),
        name=value("name"),
        emails=tuple(sorted(v for k, v in idents if k == "email")),
        phones=tuple(sorted(v for k, v in idents if k == "phone")),
        invalid_phones=tuple(sorted(set(invalid_phones))),
        birth_date=_date(value("birth_date")),
        city=address.get("city"),
        postcode=address.get("postcode"),
        country=address.get("country"),
        line1=address.get("line1"),
    )


def invalid_phones_of(identifiers: list | None) -> set[str]:
    """Phones an interaction carried that failed to parse (blocked ones are shared, not the person's)."""
    return {
        str(i.get("raw"))
        for i in identifiers or []
        if i.get("kind") == "phone" and not i.get("valid") and i.get("value") is None and i.get("raw")
    }


def current_record(customer: Customer, interaction_id: int | None = None) -> PersonRecord:
    """The customer's record now. Failed phones: the stored record's plus the new interaction's, or, with
    no stored record (a new customer, after an undo), a pass over the customer's interactions."""
    stored = db.session.get(MatchProfile, customer.id)
    if stored is not None and interaction_id is not None:
        invalid = set(stored.record.get("invalid_phones") or ())
        item = db.session.get(Interaction, interaction_id)
        invalid |= invalid_phones_of(item.identifiers if item is not None else [])
    else:
        rows = db.session.scalars(select(Interaction.identifiers).where(Interaction.customer_id == customer.id))
        invalid = set().union(*(invalid_phones_of(r) for r in rows))
    idents = [(i.kind, i.value) for i in customer.identifiers]
    return build_record(customer.id, attributes.effective(customer.id), idents, invalid)


def store(record: PersonRecord) -> tuple[set[int], bool]:
    """Save a customer's record and keys (only the keys that changed are written).

    Returns its blocking keys, and whether the record changed (an unchanged record has nothing new to
    compare: a candidate that changed since compared itself with it then).
    """
    blocking, frequency = record_keys(record)
    wanted = blocking | frequency
    row = db.session.get(MatchProfile, record.customer_id)
    if row is None:
        db.session.add(MatchProfile(customer_id=record.customer_id, record=to_json(record)))
    elif row.record == to_json(record):
        return blocking, False
    else:
        row.record = to_json(record)
    have = set(db.session.scalars(select(MatchKey.key_hash).where(MatchKey.customer_id == record.customer_id)))
    gone = have - wanted
    if gone:
        db.session.execute(
            delete(MatchKey).where(MatchKey.customer_id == record.customer_id, MatchKey.key_hash.in_(gone))
        )
    new = wanted - have
    if new:
        db.session.execute(insert(MatchKey), [{"key_hash": h, "customer_id": record.customer_id} for h in new])
    return blocking, True


def forget(customer_id: int) -> None:
    """A customer that is no longer active (merged, erased) is nobody's candidate."""
    db.session.execute(delete(MatchKey).where(MatchKey.customer_id == customer_id))
    db.session.execute(delete(MatchProfile).where(MatchProfile.customer_id == customer_id))


def absorb_failed_phones(survivor_id: int, merged_id: int) -> None:
    """Before a merged customer's record goes, its unreadable phones join the survivor's record."""
    theirs = db.session.get(MatchProfile, merged_id)
    ours = db.session.get(MatchProfile, survivor_id)
    if theirs is None or ours is None:
        return
    extra = set(theirs.record.get("invalid_phones") or ()) - set(ours.record.get("invalid_phones") or ())
    if extra:
        ours.record = {**ours.record, "invalid_phones": sorted(set(ours.record.get("invalid_phones") or ()) | extra)}


# --- lookups --------------------------------------------------------------------------------------


def candidate_ids(customer_id: int, blocking: set[int], block_cap: int = BLOCK_CAP) -> set[int]:
    """Customers sharing a blocking key with this one; keys shared by more than block_cap say nothing."""
    if not blocking:
        return set()
    sizes = db.session.execute(
        select(MatchKey.key_hash, func.count()).where(MatchKey.key_hash.in_(blocking)).group_by(MatchKey.key_hash)
    ).all()
    useful = [h for h, n in sizes if 1 < n <= block_cap]
    if not useful:
        return set()
    return set(
        db.session.scalars(
            select(MatchKey.customer_id)
            .where(MatchKey.key_hash.in_(useful), MatchKey.customer_id != customer_id)
            .distinct()
        )
    )


def records_of(customer_ids: Iterable[int]) -> dict[int, PersonRecord]:
    """Stored records of active customers."""
    ids = list(set(customer_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(MatchProfile.customer_id, MatchProfile.record)
        .join(Customer, Customer.id == MatchProfile.customer_id)
        .where(MatchProfile.customer_id.in_(ids), Customer.status == "active")
    ).all()
    return {cid: from_json(cid, data) for cid, data in rows}


def frequencies_for(records: Iterable[PersonRecord]) -> Frequencies:
    """Population counts for every value these records could be weighed on (names in either role), and
    for their phones' area codes the counts that say which city each is in (as Frequencies.from_records
    counts them: the phone tables only for those area codes, the city table also for the cities found).

    Below MIN_POPULATION customers the counts say nothing yet (in a population of two, every name is
    "common"), so the scorer's general shares stand in for them.
    """
    total = population()
    if total < MIN_POPULATION:
        return Frequencies()
    wanted: dict[int, tuple[str, str]] = {}

    def want(kind: str, value: str) -> None:
        if value:
            wanted[key_hash(frequency_key(kind, value))] = (kind, value)

    prefixes: set[str] = set()
    for record in records:
        f = features(record)
        for value in (f.first, f.last, f.mail_first):  # a first name read from the email is weighed too
            want("first", value)
            want("last", value)
        want("postcode", f.postcode)
        want("city", f.city)
        for domain in email_domains(f):
            want("domain", domain)
        for country in countries(f):
            want("country", country)
        prefixes |= phone_prefixes(f)
    for prefix, cities in _phone_city_candidates(prefixes).items():
        want("phone prefix", prefix)
        for city in cities:
            want("phone prefix city", phone_city_key(prefix, city))
            want("city", city)  # a phone's city is weighed by how common it is, like an address's
    counts: dict[str, dict[str, int]] = {kind: {} for kind in FREQUENCY_KINDS}
    for h, n in _counts(list(wanted), cache=total >= LARGE_POPULATION).items():
        kind, value = wanted[h]
        counts[kind][value] = n
    return Frequencies(total=total, counts=counts)


# Counting a value that many customers share (their country, gmail.com) reads all their index entries,
# after every processed interaction: in a large population such counts are kept a while in the process,
# since a few minutes' growth does not move a weight read from tens of thousands.
HOT_COUNT = 1000
HOT_TTL_S = 600.0
_hot: dict[int, tuple[int, float]] = {}


def _counts(hashes: list[int], *, cache: bool) -> dict[int, int]:
    """key hash -> customers with it (hashes nobody has are left out)."""
    now = time.monotonic()
    out = {h: _hot[h][0] for h in hashes if cache and h in _hot and _hot[h][1] > now}
    asked = [h for h in hashes if h not in out]
    if asked:
        found = db.session.execute(
            select(MatchKey.key_hash, func.count()).where(MatchKey.key_hash.in_(asked)).group_by(MatchKey.key_hash)
        ).all()
        for h, n in found:
            out[h] = n
            if cache and n >= HOT_COUNT:
                _hot[h] = (n, now + HOT_TTL_S)
    return out


def _phone_city_candidates(prefixes: set[str]) -> dict[str, set[str]]:
    """The cities (folded, as features folds them) of the first PHONE_CITY_SAMPLE customers with a city
    and a phone of each area code, in one query: the city an area code is in is one of them, and the
    counts of frequencies_for then say whether it is."""
    if not prefixes:
        return {}
    by_hash = {key_hash(frequency_key("phone prefix", p)): p for p in prefixes}
    if db.engine.dialect.name == "postgresql":
        # A LATERAL join reads PHONE_CITY_SAMPLE index entries per area code and their profiles by key;
        # the UNION below costs PostgreSQL a plan per area code and a scan of every profile.
        rows = db.session.execute(_SAMPLE_CITIES, {"hashes": list(by_hash), "n": PHONE_CITY_SAMPLE}).all()
    else:
        firsts = [
            select(MatchKey.key_hash, MatchKey.customer_id)
            .where(MatchKey.key_hash == h)
            .order_by(MatchKey.customer_id)
            .limit(PHONE_CITY_SAMPLE)
            .subquery()
            .select()  # SQLite takes a LIMIT inside UNION ALL only in a subquery
            for h in by_hash
        ]
        sample = union_all(*firsts).subquery()
        rows = db.session.execute(
            select(sample.c.key_hash, MatchProfile.record["city"].as_string()).join(
                MatchProfile, MatchProfile.customer_id == sample.c.customer_id
            )
        ).all()
    found: dict[str, set[str]] = {p: set() for p in prefixes}
    for h, city in rows:
        if fold(city):
            found[by_hash[h]].add(fold(city))
    return found


_SAMPLE_CITIES = text(
    """
    SELECT h.key_hash, p.record ->> 'city'
    FROM unnest(CAST(:hashes AS bigint[])) AS h(key_hash)
    CROSS JOIN LATERAL (
        SELECT k.customer_id FROM match_keys k WHERE k.key_hash = h.key_hash ORDER BY k.customer_id LIMIT :n
    ) AS sampled
    JOIN match_profiles p ON p.customer_id = sampled.customer_id
    """
)


def population() -> int:
    """How many customers have a record: it only sets the prior, so on a big PostgreSQL table the
    planner's estimate (free) stands in for an exact count (a scan)."""
    if db.engine.dialect.name == "postgresql":
        estimate = db.session.scalar(text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'match_profiles'"))
        if estimate is not None and estimate >= LARGE_POPULATION:
            return int(estimate)
    return db.session.scalar(select(func.count()).select_from(MatchProfile)) or 0
