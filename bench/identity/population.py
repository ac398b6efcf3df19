"""The true people behind the identity benchmark: who they are, where they live, what identifiers they own.

Deterministic for a seed. Besides ordinary people it makes the lookalikes that duplicate scoring must
not confuse: households (one surname, one address, different first names and birth dates, sometimes
twins) and namesakes (the same first and last name, another birth date, often the same city).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

import phonenumbers

from bench.identity import vocab
from crm.profiles.nicknames import are_nicknames

AREA_CODES = {
    "Springfield": ("217",),
    "San Francisco": ("415", "628"),
    "Oakland": ("510",),
    "New York": ("212", "646"),
    "Brooklyn": ("718", "347"),
    "Chicago": ("312", "773"),
    "Boston": ("617",),
    "Seattle": ("206",),
    "Austin": ("512",),
    "Houston": ("713", "832"),
    "Denver": ("303", "720"),
    "Atlanta": ("404", "678"),
    "Portland": ("503",),
    "Miami": ("305", "786"),
}
# Postcodes per city: US ZIPs hold many households, GB postcodes a street or two.
POSTCODES_PER_CITY = {"us": 25, "gb": 250, "fr": 20, "de": 30}
# Flatter than a plain Zipf: a few hundred names stand for the long tail of a real customer base.
ADULT_BY = date(2007, 12, 31)
FIRST_EXPONENT = 0.7
SURNAME_EXPONENT = 0.7


@dataclass
class Person:
    person_id: int
    first: str
    last: str
    gender: str
    birth_date: date
    city: str
    region: str | None
    country: str
    postcode: str
    line1: str
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    loyalty_id: str | None = None
    chat_handle: str | None = None
    shop_id: str | None = None
    household: int | None = None


def zipf_choice(rng: random.Random, items: tuple | list, exponent: float = 0.9):
    """An item, the first ones more often: customer names are far from uniform."""
    weights = _zipf_weights(len(items), exponent)
    return rng.choices(items, cum_weights=weights, k=1)[0]


_WEIGHTS: dict[tuple[int, float], list[float]] = {}


def _zipf_weights(n: int, exponent: float) -> list[float]:
    key = (n, exponent)
    if key not in _WEIGHTS:
        total, cumulative = 0.0, []
        for rank in range(1, n + 1):
            total += 1 / rank**exponent
            cumulative.append(total)
        _WEIGHTS[key] = cumulative
    return _WEIGHTS[key]


def ascii_fold(text: str) -> str:
    extra = str.maketrans({"ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "å": "a"})
    decomposed = unicodedata.normalize("NFKD", text.translate(extra))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class World:
    """Cities with their postcodes and streets, and the registries that keep identifiers unique."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.postcodes = {c[0]: self._postcodes(i, c[3]) for i, c in enumerate(vocab.CITIES)}
        self.used_emails: set[str] = set()
        self.used_phones: set[str] = set(vocab.SHARED_PHONES)

    def _postcodes(self, index: int, kind: str) -> list[str]:
        rng, codes = self.rng, set()
        while len(codes) < POSTCODES_PER_CITY[kind]:
            if kind == "us":
                codes.add(f"{10 + index * 4:03d}{rng.randrange(100):02d}")
            elif kind == "gb":
                area = ("E", "M", "BS", "EH", "SW", "N")[index % 6]
                letters = "".join(rng.choice("ABDEFGHJLNPQRSTUWXYZ") for _ in range(2))
                codes.add(f"{area}{rng.randrange(1, 20)} {rng.randrange(10)}{letters}")
            else:
                codes.add(f"{(index * 7) % 90 + 10:02d}{rng.randrange(1000):03d}")
        return sorted(codes)

    def address(self, city_row: tuple) -> tuple[str, str]:
        street = self.rng.choice(vocab.STREETS).title()
        kind = self.rng.choice(vocab.STREET_TYPES)[0].title()
        return self.rng.choice(self.postcodes[city_row[0]]), f"{self.rng.randrange(1, 400)} {street} {kind}"

    def phone(self, city: str, region: str) -> str:
        rng = self.rng
        while True:
            if region == "US":
                local = f"{rng.choice(AREA_CODES[city])}{rng.randrange(2, 10)}{rng.randrange(100):02d}{rng.randrange(10000):04d}"
                raw = "+1" + local
            elif region == "GB":
                raw = f"+447{rng.randrange(10**9):09d}"
            elif region == "FR":
                raw = f"+33{rng.choice('67')}{rng.randrange(10**8):08d}"
            else:
                raw = f"+49{rng.choice(('151', '160', '170', '176'))}{rng.randrange(10**8):08d}"
            number = phonenumbers.parse(raw)
            if phonenumbers.is_valid_number(number) and raw not in self.used_phones:
                self.used_phones.add(raw)
                return raw

    def email(self, first: str, last: str, domains: list[str] | tuple[str, ...]) -> str:
        rng = self.rng
        f, la = (ascii_fold(x).lower().replace(" ", "").replace("'", "") for x in (first, last))
        patterns = (
            f"{f}.{la}",
            f"{f}{la}",
            f"{f[0]}{la}",
            f"{f}.{la[0]}",
            f"{f}_{la}",
            f"{la}.{f}",
            f"{f}{rng.randrange(100)}",
        )
        local = rng.choice(patterns)
        if rng.random() < 0.02:  # a few keep their accents: unicode local parts exist
            local = f"{first}.{last}".lower().replace(" ", "")
        domain = rng.choice(domains)
        address = f"{local}@{domain}"
        while address in self.used_emails:
            address = f"{local}{rng.randrange(10, 10000)}@{domain}"
        self.used_emails.add(address)
        return address


def _one_name(a: str, b: str) -> bool:
    a, b = ascii_fold(a), ascii_fold(b)
    return a == b or are_nicknames(a, b) or a.startswith(b) or b.startswith(a)


def _first_name(rng: random.Random, gender: str) -> str:
    return zipf_choice(rng, vocab.FEMALE_FIRST if gender == "f" else vocab.MALE_FIRST, FIRST_EXPONENT)


def _namesake(world: World, names: set[tuple[str, str, str]]) -> tuple[str, str, str] | None:
    """A (gender, first, last) someone already has, drawn as names are drawn: namesakes are far more
    often John Smith than Zbigniew Wojciechowski."""
    for _ in range(200):
        gender = world.rng.choice("fm")
        drawn = (gender, _first_name(world.rng, gender), zipf_choice(world.rng, vocab.SURNAMES, SURNAME_EXPONENT))
        if drawn in names:
            return drawn
    return None


def _birth_date(rng: random.Random, earliest: int = 1940, latest: int = 2005) -> date:
    start = date(earliest, 1, 1)
    return start + timedelta(days=rng.randrange((date(latest, 12, 31) - start).days))


def _give_identifiers(world: World, person: Person, phone_region: str) -> None:
    rng = world.rng
    person.emails.append(world.email(person.first, person.last, vocab.EMAIL_DOMAINS))
    if rng.random() < 0.3:
        person.emails.append(world.email(person.first, person.last, vocab.WORK_DOMAINS + vocab.EMAIL_DOMAINS))
    if rng.random() < 0.92:
        person.phones.append(world.phone(person.city, phone_region))
    if rng.random() < 0.2:
        person.phones.append(world.phone(person.city, phone_region))
    if rng.random() < 0.45:
        person.loyalty_id = f"LC{person.person_id:07d}"
    person.chat_handle = f"{ascii_fold(person.first).lower()}{person.person_id}"
    person.shop_id = f"cus_{person.person_id:08x}"


def _new_person(world: World, pid: int, **fixed) -> Person:
    rng = world.rng
    gender = fixed.pop("gender", rng.choice("fm"))
    city_row = fixed.pop("city_row", None) or zipf_choice(rng, vocab.CITIES, 0.5)
    postcode, line1 = fixed.pop("address", None) or world.address(city_row)
    first = fixed.pop("first", None) or _first_name(rng, gender)
    person = Person(
        person_id=pid,
        first=first,
        last=fixed.pop("last", None) or zipf_choice(rng, vocab.SURNAMES, SURNAME_EXPONENT),
        gender=gender,
        birth_date=fixed.pop("birth_date", None) or _birth_date(rng),
        city=city_row[0],
        region=city_row[1],
        country=city_row[2],
        postcode=postcode,
        line1=line1,
        household=fixed.pop("household", None),
    )
    _give_identifiers(world, person, city_row[4])
    return person


def _household(world: World, head: Person, next_id: int) -> list[Person]:
    """Relatives at the head's address: a spouse, children, now and then twins."""
    rng = world.rng
    city_row = next(c for c in vocab.CITIES if c[0] == head.city)
    shared = {
        "last": head.last,
        "city_row": city_row,
        "address": (head.postcode, head.line1),
        "household": head.person_id,
    }
    members: list[Person] = []
    taken = {head.first}

    def relative(gender: str, born: date) -> None:
        # Families do not give two members one name in two spellings (Robert and Bobby, Paul and
        # Paula); one name twice (John Sr. and Jr.) is not modelled either.
        name = _first_name(rng, gender)
        while any(_one_name(name, other) for other in taken):
            name = _first_name(rng, gender)
        taken.add(name)
        members.append(_new_person(world, next_id + len(members), gender=gender, first=name, birth_date=born, **shared))

    if rng.random() < 0.7:
        spouse_born = head.birth_date + timedelta(days=rng.randrange(-2500, 2500))
        relative("m" if head.gender == "f" else "f", min(spouse_born, ADULT_BY - timedelta(days=rng.randrange(2000))))
    # Grown-up children only: every customer is an adult.
    kids = rng.choice((0, 1, 1, 2, 3)) if head.birth_date.year < 1975 else 0
    twins = kids >= 2 and rng.random() < 0.15
    born = head.birth_date + timedelta(days=rng.randrange(7000, 13000))
    for _ in range(kids):
        if born > ADULT_BY:
            break
        relative(rng.choice("fm"), born)
        if not twins:
            born = born + timedelta(days=rng.randrange(400, 2500))
    head.household = head.person_id
    return members


def make_people(n_persons: int, seed: int) -> list[Person]:
    """`n_persons` people with their households and namesakes, ids 0..n-1."""
    rng = random.Random(seed)
    world = World(rng)
    people: list[Person] = []
    names: set[tuple[str, str, str]] = set()
    cities: dict[tuple[str, str, str], str] = {}
    while len(people) < n_persons:
        pid = len(people)
        roll = rng.random()
        drawn = _namesake(world, names) if people and roll < 0.06 else None
        if drawn:
            # A namesake: someone else's first and last name, their own birth date, often their city.
            same_city = rng.random() < 0.6
            city_row = next(c for c in vocab.CITIES if c[0] == cities[drawn]) if same_city else None
            new = [_new_person(world, pid, gender=drawn[0], first=drawn[1], last=drawn[2], city_row=city_row)]
        else:
            head = _new_person(world, pid)
            new = [head, *(_household(world, head, pid + 1) if roll < 0.18 else ())]
        for person in new:
            names.add((person.gender, person.first, person.last))
            cities.setdefault((person.gender, person.first, person.last), person.city)
        people.extend(new)
    return people[:n_persons]
