"""Where the phones say someone lives, in the database: the city of an area code as the stored customers
give it, found after each processed interaction and by `flask identity suggest` as the pure scorer finds
it from the same records."""

from __future__ import annotations

from sqlalchemy import insert, select

from crm.extensions import db
from crm.profiles import matching
from crm.profiles.models import Customer, DuplicateSuggestion
from crm.profiles.similarity import Frequencies, PersonRecord, score_pair
from crm.profiles.suggestions import load_records
from tests.factories import auth, make_source, make_user
from tests.profiles.identity_helpers import customer_of, deliver, item, store_population

AREAS = {"San Francisco": "1415", "New York": "1212", "Boston": "1617", "Houston": "1713", "Seattle": "1206"}
DANA = {"first_name": "Dana", "last_name": "Okafor"}
SAN_FRANCISCO = {"city": "San Francisco", "country": "US"}


def _population(size: int = 1200) -> list[PersonRecord]:
    """Customers in five cities, each with a phone from its city's area code (one in six also has a
    toll-free number, which every city shares, so it places nobody), and their match records as
    `flask identity suggest` writes them. Dana is 1 first name in 60."""
    ids = db.session.scalars(insert(Customer).returning(Customer.id), [{"status": "active"}] * size).all()
    cities = list(AREAS)
    phones, values = [], {}
    for i, cid in enumerate(ids):
        city = cities[i % 5]
        numbers = [f"+{AREAS[city]}{5550000 + i:07d}"] + ([f"+1800{5550000 + i:07d}"] if i % 6 == 0 else [])
        phones += [{"customer_id": cid, "kind": "phone", "value": n, "raw": n} for n in numbers]
        values[cid] = {"first_name": "Dana" if i % 60 == 0 else f"First{i % 60}", "last_name": f"Last{(i // 60) % 40}"}
        values[cid]["address"] = {"city": city, "country": "US"}
    return store_population(phones, values)


def _deliver(client, run_jobs, source, external_id: str, block: dict) -> int:
    return customer_of(deliver(client, run_jobs, source, item(external_id, 0, block))[0]).id


def test_the_database_places_an_area_code_in_the_city_the_pure_scorer_does(app):
    records = _population()
    stored = matching.frequencies_for(records[:5])  # a customer of each city, one with a toll-free number
    pure = Frequencies.from_records(records)
    assert stored.phone_city("14155550132") == pure.phone_city("14155550132") == "san francisco"
    assert stored.phone_city("18005550132") is pure.phone_city("18005550132") is None
    for prefix in AREAS.values():
        assert stored.count("phone prefix", prefix) == pure.count("phone prefix", prefix) == 240
    assert stored.count("phone prefix", "1800") == pure.count("phone prefix", "1800") == 200
    # The phone's city is weighed by how common it is, as an address's city is.
    assert stored.count("city", "san francisco") == pure.count("city", "san francisco") == 240


def test_a_phone_from_the_other_profiles_city_is_suggested_after_the_interaction(app, client, run_jobs):
    _, token = make_user("agent")
    _population()
    source = make_source(channel="email")
    by_phone = _deliver(client, run_jobs, source, "call", {"phone": "+1 (415) 555-0132", "attributes": DANA})
    new_yorker = _deliver(client, run_jobs, source, "ny", {"phone": "+1 212 555 0177", "attributes": DANA})
    living = {"email": "dana.okafor@example.com", "attributes": DANA | {"address": SAN_FRANCISCO}}
    in_town = _deliver(client, run_jobs, source, "mail", living)

    response = client.get("/api/v1/duplicate-suggestions", headers=auth(token))
    assert response.status_code == 200, response.json
    (suggestion,) = response.json["items"]  # not the Dana Okafor with a New York number
    assert (suggestion["customer_a_id"], suggestion["customer_b_id"]) == (by_phone, in_town)
    assert "phone number from the same city" in suggestion["reasons"]
    # What the pure scorer says of the same records, with frequencies counted from all of them.
    records = {r.customer_id: r for r in load_records()}
    everyone = Frequencies.from_records(records.values())
    pure = score_pair(records[by_phone], records[in_town], frequencies=everyone)
    assert (suggestion["score"], suggestion["reasons"]) == (pure.score, list(pure.reasons))
    assert score_pair(records[new_yorker], records[in_town], frequencies=everyone) is None

    result = app.test_cli_runner().invoke(args=["identity", "suggest"])
    assert result.exit_code == 0, result.output
    assert "0 suggestions opened, 1 refreshed, 0 dropped" in result.output
    db.session.expire_all()
    (row,) = db.session.scalars(select(DuplicateSuggestion))
    assert (row.customer_a_id, row.customer_b_id, row.score) == (by_phone, in_town, pure.score)
