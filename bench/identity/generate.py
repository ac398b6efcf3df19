"""Deterministic synthetic customers with ground truth, for the identity benchmarks.

Two outputs from one population of true people (bench/identity/population.py):

- `make_interactions`: canonical customer blocks as channels send them (case and spaces in emails,
  plus-tags, phone formats, shared shop identifiers, failed parses), each with the identifier keys it
  truly carries, for measuring automatic merges: blocks that share a true key must merge, no others.
- `make_profiles`: customer profiles as they stand after automatic merging, for measuring duplicate
  suggestions: some people have two or three profiles that share no identifier (another email, a typo,
  a plus-tag, a phone that failed to parse), beside households and namesakes who are different people.

    python -m bench.identity.generate --persons 1000 --seed 7 --out /tmp/identity.json
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import asdict, dataclass

from bench.identity import noise, vocab
from bench.identity.population import Person, World, make_people
from crm.profiles.similarity import PersonRecord

SOURCES = ("mail", "intercom", "twilio", "shopify", "pos", "web")
RECORDS_PER_PERSON = ((1, 0.4), (2, 0.3), (3, 0.2), (4, 0.1))
# How often a profile lacks a field (each independently, so a pair lacks it on one side about twice
# as often): a profile gathered from a few interactions mostly knows an address, less often a birth date.
MISSING = {"address": 0.08, "postcode": 0.08, "line1": 0.15, "city": 0.05, "birth_date": 0.3}


@dataclass
class Interaction:
    person_id: int
    source_slug: str
    customer: dict
    keys: list[tuple[str, str]]  # the identifiers this block truly carries, in canonical form


@dataclass
class Profile:
    person_id: int
    record: PersonRecord


def _weighted(rng: random.Random, pairs: tuple) -> object:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs], k=1)[0]


def _name_for(rng: random.Random, person: Person, noisy: float) -> tuple[str, str]:
    """The person's first and last name as one record gives them: nicknames, typos, lost accents."""
    first, last = person.first, person.last
    if rng.random() < noisy * 1.2:
        first = noise.nickname(rng, first) or first
    if rng.random() < noisy * 0.8:
        if rng.random() < 0.5:
            first = noise.typo(rng, first)
        else:
            last = noise.typo(rng, last)
    return noise.maybe_drop_accents(rng, first), noise.maybe_drop_accents(rng, last)


def _name_fields(rng: random.Random, person: Person, noisy: float) -> dict:
    """first/last, or only a display name ("Jane Doe", "DOE, JANE"), sometimes swapped or partial."""
    first, last = _name_for(rng, person, noisy)
    first, last = noise.display_case(rng, first), noise.display_case(rng, last)
    roll = rng.random()
    if roll < noisy * 0.5:
        first, last = last, first  # a form filled in the wrong order
    if roll > 1 - 0.25:
        name = rng.choice((f"{first} {last}", f"{last}, {first}"))
        return {"name": name}
    if rng.random() < 0.03:
        return {"last_name": last}
    return {"first_name": first, "last_name": last}


# --- (a) interactions -----------------------------------------------------------------------------


def _email_field(rng: random.Random, person: Person, block: dict, keys: list) -> None:
    if rng.random() < 0.02:
        block["email"] = noise.email_case_and_spaces(rng, rng.choice(vocab.SHARED_EMAILS))
        return  # staff typed the shop's own address: shared, never a key
    address = person.emails[0] if len(person.emails) == 1 or rng.random() < 0.75 else person.emails[1]
    if rng.random() < 0.08:
        address = noise.plus_tagged(rng, address)  # a distinct identifier while plus-tags are kept
    block["email"] = noise.email_case_and_spaces(rng, address)
    keys.append(("email", address.lower()))


def _phone_field(rng: random.Random, person: Person, block: dict, keys: list) -> None:
    if not person.phones:
        return
    if rng.random() < 0.02:
        block["phone"] = noise.phone_format(rng, vocab.SHARED_PHONES[0])
        return
    number = person.phones[0] if len(person.phones) == 1 or rng.random() < 0.8 else person.phones[1]
    if rng.random() < 0.05:
        block["phone"], _ = noise.failed_phone(rng, number)  # unreadable: kept, never matched
        return
    block["phone"] = noise.phone_format(rng, number)
    keys.append(("phone", number))


def _interaction(rng: random.Random, person: Person) -> Interaction:
    source = rng.choice(SOURCES)
    block: dict = {}
    keys: list[tuple[str, str]] = []
    attributes: dict = {}
    names = _name_fields(rng, person, noisy=0.1)
    block["name"] = names.get("name") or " ".join(v for v in (names.get("first_name"), names.get("last_name")) if v)
    if source in ("mail", "web", "shopify") or rng.random() < 0.4:
        _email_field(rng, person, block, keys)
    if source in ("twilio", "shopify") or rng.random() < 0.25:
        _phone_field(rng, person, block, keys)
    if source == "intercom":
        block["chat_handle"] = rng.choice(("@", "", " ")) + person.chat_handle.title()
        keys.append(("chat", f"intercom:{person.chat_handle}"))
    if source == "pos" and person.loyalty_id:
        block["loyalty_id"] = rng.choice(
            (person.loyalty_id, f"{person.loyalty_id[:2]}-{person.loyalty_id[2:]}")
        ).lower()
        keys.append(("loyalty", person.loyalty_id))
    if source == "shopify":
        block["external_id"] = person.shop_id
        keys.append(("external", f"shopify:{person.shop_id}"))
        attributes["address"] = {
            "line1": person.line1,
            "city": person.city,
            "postcode": person.postcode,
            "country": person.country,
        }
    if not any(block.get(k) for k in ("email", "phone", "chat_handle", "loyalty_id", "external_id")):
        block["chat_handle"] = person.chat_handle
        keys.append(("chat", f"intercom:{person.chat_handle}"))
        source = "intercom"
    attributes.update({k: v for k, v in names.items() if k != "name"})
    block["attributes"] = attributes
    return Interaction(person.person_id, source, block, keys)


def make_interactions(people: list[Person], seed: int) -> list[Interaction]:
    """1-4 interactions per person, across channels, shuffled as they would arrive."""
    rng = random.Random(seed * 7919 + 1)
    out = []
    for person in people:
        count = _weighted(rng, RECORDS_PER_PERSON)
        out.extend(_interaction(rng, person) for _ in range(count))
    rng.shuffle(out)
    return out


# --- (b) profiles -------------------------------------------------------------------------------


def _address_fields(rng: random.Random, person: Person, world: World, dup: bool) -> dict:
    if rng.random() < MISSING["address"]:
        return {}
    postcode, line1, city, country = person.postcode, person.line1, person.city, person.country
    if dup and rng.random() < 0.1:  # moved since: a new address, mostly in the same city
        row = next(c for c in vocab.CITIES if c[0] == city) if rng.random() < 0.7 else rng.choice(vocab.CITIES)
        postcode, line1 = world.address(row)
        city, country = row[0], row[2]
    if dup and rng.random() < 0.05:
        postcode = noise.transpose_postcode(rng, postcode)
    fields = {
        "postcode": None if rng.random() < MISSING["postcode"] else noise.postcode_format(rng, postcode),
        "line1": None if rng.random() < MISSING["line1"] else noise.line1_variant(rng, line1),
        "city": None
        if rng.random() < MISSING["city"]
        else noise.display_case(rng, noise.maybe_drop_accents(rng, city)),
        "country": country,
    }
    return fields


def _duplicate_identifiers(rng: random.Random, person: Person, world: World) -> dict:
    """Emails and phones of a second profile of the person that share nothing with the first."""
    main = person.emails[0]
    local, _, domain = main.partition("@")
    kind = _weighted(rng, (("new", 0.3), ("typo", 0.15), ("plus", 0.15), ("domain", 0.15), ("none", 0.25)))
    emails: tuple[str, ...] = ()
    if kind == "new":
        emails = (world.email(person.first, person.last, vocab.EMAIL_DOMAINS + vocab.WORK_DOMAINS),)
    elif kind == "typo":
        emails = (noise.email_typo(rng, main),)
    elif kind == "plus":
        emails = (noise.plus_tagged(rng, main),)
    elif kind == "domain":
        other = f"{local}@{rng.choice([d for d in vocab.EMAIL_DOMAINS if d != domain])}"
        emails = (other,) if other not in world.used_emails else ()
    if emails and emails[0] in world.used_emails and kind != "new":
        emails = ()  # another profile already has it: the two would have merged
    world.used_emails.update(emails)
    phones: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()
    phone_kind = _weighted(rng, (("none", 0.45), ("other", 0.3), ("failed", 0.25)))
    if phone_kind == "other":
        phones = (world.phone(person.city, person.country),)
    elif phone_kind == "failed" and person.phones:
        invalid = (noise.failed_phone(rng, person.phones[0])[0],)
    return {"emails": emails, "phones": phones, "invalid_phones": invalid}


def _profile(rng: random.Random, person: Person, world: World, cid: int, identifiers: dict, dup: bool) -> PersonRecord:
    names = _name_fields(rng, person, noisy=0.12 if dup else 0.05)
    address = _address_fields(rng, person, world, dup)
    born = None if rng.random() < MISSING["birth_date"] else person.birth_date
    if born and dup and rng.random() < 0.03:
        born = noise.birth_date_typo(rng, born)
    return PersonRecord(
        customer_id=cid,
        first_name=names.get("first_name"),
        last_name=names.get("last_name"),
        name=names.get("name"),
        birth_date=born,
        city=address.get("city"),
        postcode=address.get("postcode"),
        country=address.get("country"),
        line1=address.get("line1"),
        **identifiers,
    )


def make_profiles(people: list[Person], seed: int) -> list[Profile]:
    """One profile per person; for 30% a second (and for 5% a third) that shares no identifier."""
    world = World(random.Random(seed))  # the population's postcodes, so movers land on real ones
    rng = world.rng = random.Random(seed * 104729 + 3)
    world.used_emails = {e for p in people for e in p.emails}
    world.used_phones = {n for p in people for n in p.phones} | set(vocab.SHARED_PHONES)
    out: list[Profile] = []
    for person in people:
        main_ids = {
            "emails": tuple(person.emails[:1]) if rng.random() < 0.9 else (),
            "phones": tuple(person.phones[:1]) if rng.random() < 0.8 else (),
            "invalid_phones": (),
        }
        duplicates = 0 if rng.random() > 0.3 else (2 if rng.random() < 0.17 else 1)
        dup_ids = [_duplicate_identifiers(rng, person, world) for _ in range(duplicates)]
        if dup_ids and dup_ids[0]["invalid_phones"] and rng.random() < 0.5:
            # The unreadable phone is as often on the older profile, beside no readable one.
            main_ids["invalid_phones"], main_ids["phones"] = dup_ids[0]["invalid_phones"], ()
            dup_ids[0]["invalid_phones"], dup_ids[0]["phones"] = (), tuple(person.phones[:1])
        for ids in [main_ids, *dup_ids]:
            record = _profile(rng, person, world, len(out) + 1, ids, dup=ids is not main_ids)
            out.append(Profile(person.person_id, record))
    rng.shuffle(out)
    return out


def generate(n_persons: int, seed: int) -> tuple[list[Person], list[Interaction], list[Profile]]:
    people = make_people(n_persons, seed)
    return people, make_interactions(people, seed), make_profiles(people, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="-")
    args = parser.parse_args()
    people, interactions, profiles = generate(args.persons, args.seed)
    doc = {
        "seed": args.seed,
        "persons": len(people),
        "interactions": [asdict(i) for i in interactions],
        "profiles": [{"person_id": p.person_id, **asdict(p.record)} for p in profiles],
    }
    text = json.dumps(doc, default=str, ensure_ascii=False, indent=1)
    if args.out == "-":
        print(text)
    else:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
