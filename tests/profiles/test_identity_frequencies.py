"""How common an email domain and a country are, in the database: counted after each processed interaction
as the pure scorer counts them over everyone, so gmail.com against mail.com (two providers, each with
many customers) is not read as a typo, while gmail.com against gmial.com (one customer) is."""

from __future__ import annotations

from sqlalchemy import insert, select

from crm.extensions import db
from crm.profiles import matching
from crm.profiles.models import Customer, DuplicateSuggestion, MatchKey
from crm.profiles.similarity import Frequencies, score_pair
from crm.profiles.suggestions import load_records
from tests.factories import make_source
from tests.profiles.identity_helpers import customer_of, deliver, item, store_population

DANA = {"first_name": "Dana", "last_name": "Okafor"}
DOMAINS = ("gmail.com", "mail.com")
COUNTRIES = ("US", "GB", "US", "FR")


def _population(size: int = 1200) -> list:
    """Customers with an email at gmail.com or mail.com (600 each) and an address in one of three countries,
    stored as `flask identity suggest` stores them."""
    ids = db.session.scalars(insert(Customer).returning(Customer.id), [{"status": "active"}] * size).all()
    emails, values = [], {}
    for i, cid in enumerate(ids):
        email = f"person{i}@{DOMAINS[i % 2]}"
        emails.append({"customer_id": cid, "kind": "email", "value": email, "raw": email})
        values[cid] = {"first_name": f"First{i % 60}", "last_name": f"Last{(i // 60) % 40}"}
        values[cid]["address"] = {"city": f"Town{i % 30}", "country": COUNTRIES[i % 4]}
    return store_population(emails, values)


def test_the_database_counts_email_domains_and_countries_as_the_pure_scorer_does(app):
    records = _population()
    stored = matching.frequencies_for(records[:4])
    pure = Frequencies.from_records(records)
    for domain in DOMAINS:
        assert stored.count("domain", domain) == pure.count("domain", domain) == 600
    assert stored.count("country", "US") == pure.count("country", "US") == 600
    assert stored.count("country", "GB") == pure.count("country", "GB") == 300


def _suggestion_between(a: int, b: int) -> DuplicateSuggestion | None:
    db.session.expire_all()
    pair = (min(a, b), max(a, b))
    return db.session.scalar(
        select(DuplicateSuggestion).where(
            DuplicateSuggestion.customer_a_id == pair[0], DuplicateSuggestion.customer_b_id == pair[1]
        )
    )


def test_a_mistyped_domain_is_one_slip_but_another_provider_is_not(app, client, run_jobs):
    _population()
    source = make_source(channel="email")
    ids = {}
    for domain in ("gmail.com", "mail.com", "gmial.com"):
        block = {"email": f"dana.okafor@{domain}", "attributes": DANA}
        ids[domain] = customer_of(deliver(client, run_jobs, source, item(domain, 0, block))[0]).id
    records = {r.customer_id: r for r in load_records()}
    everyone = Frequencies.from_records(records.values())

    typo = _suggestion_between(ids["gmail.com"], ids["gmial.com"])
    assert typo is not None and "emails one edit apart" in typo.reasons
    pure = score_pair(records[ids["gmail.com"]], records[ids["gmial.com"]], frequencies=everyone)
    assert (typo.score, typo.reasons) == (pure.score, list(pure.reasons))
    other_provider = _suggestion_between(ids["gmail.com"], ids["mail.com"])
    assert other_provider is None or "emails one edit apart" not in other_provider.reasons
    pure = score_pair(records[ids["gmail.com"]], records[ids["mail.com"]], frequencies=everyone)
    assert pure is None or "emails one edit apart" not in pure.reasons


def test_customers_stored_before_the_domain_and_country_keys_get_them_from_the_migration(app):
    from flask_migrate import downgrade, upgrade

    _population(size=40)
    domain_key = matching.key_hash(matching.frequency_key("domain", "gmail.com"))
    country_key = matching.key_hash(matching.frequency_key("country", "US"))

    def holders(key: int) -> int:
        db.session.commit()  # a fresh snapshot, and no transaction left open beside the migration's
        return len(db.session.scalars(select(MatchKey.customer_id).where(MatchKey.key_hash == key)).all())

    assert (holders(domain_key), holders(country_key)) == (20, 20)
    downgrade(revision="0007")  # as a database stored before this version holds them: no such keys
    assert (holders(domain_key), holders(country_key)) == (0, 0)
    upgrade(revision="0008")
    assert (holders(domain_key), holders(country_key)) == (20, 20)
