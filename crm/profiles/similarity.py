"""Duplicate suggestions: which customers that share no identifier are probably one person, and why.

Pure scoring on plain data. `candidate_pairs` blocks records on cheap keys (postcode, phonetic surname,
birth date, email, phone digits) so the work stays near-linear; `score_pair` weighs the evidence the
Fellegi-Sunter way, as log-odds per field, with agreement on a common value (John, Smith, a big
postcode) worth less than on a rare one when `Frequencies` of the population are given. Names are
weighed in crm/profiles/names.py; phones place a customer in a city (by the area code, as the
population's own records place it) or a country. Its result is only ever a suggestion for a person to
confirm, with the reasons a person can read.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import jellyfish
import phonenumbers
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from crm.profiles.names import Person, agreement, compare_names, first_from_mailboxes, fold, one_slip, split_name
from crm.profiles.nicknames import name_groups

# Suggest when one person is clearly more likely than two. 0.5 gave 2 points more recall in the pure
# benchmark (seed 2: precision 0.982, recall 0.937), but after each interaction, where the population's
# frequencies are only partly known, its precision fell to 0.972, under the 0.98 the issue asks for
# (bench/identity, 2026-12-02); 0.8 keeps 0.994 / 0.913 in the pure benchmark.
THRESHOLD = 0.8
BLOCK_CAP = 200  # a block this big (a shared ZIP, "Smith J") is too common to say anything
# Log-odds of "same person" before any evidence: about one duplicate per ten customers.
DUPLICATE_RATE = 0.1
HOUSEHOLD_CAP = 9.5  # surname and address together say "same household" at most: relatives share both
PHONE_PREFIX = 4  # +1 415...: the country code and area code of a North American number
# An area code is a city's when at least this many records with a city have it, and this share of them
# say the same city; a mobile prefix spread over a country is nobody's city.
PHONE_CITY_MIN = 5
PHONE_CITY_SHARE = 0.8
PLACE_KEPT = 0.9  # a duplicate's phone still places it where its other profile lives
KINDS = ("first", "last", "postcode", "city", "domain", "country", "phone prefix", "phone prefix city")
MEMO_LIMIT = 500_000
HOUSEHOLD_FIRST_NAME = 5.0
_SEPARATORS = re.compile(r"[._-]")
_STREET_WORDS = {"street": "st", "road": "rd", "avenue": "ave", "lane": "ln", "drive": "dr", "boulevard": "blvd"}
DEFAULT_SHARES = {"first": 0.01, "last": 0.004, "postcode": 0.002, "city": 0.05, "country": 0.3}  # without Frequencies


@dataclass(frozen=True)
class PersonRecord:
    """What duplicate scoring knows of a customer; every field may be missing."""

    customer_id: int
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # E.164
    invalid_phones: tuple[str, ...] = ()  # raw strings that failed to parse
    birth_date: date | None = None
    city: str | None = None
    postcode: str | None = None
    country: str | None = None
    line1: str | None = None


@dataclass(frozen=True)
class Suggestion:
    customer_a_id: int
    customer_b_id: int
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Frequencies:
    """How many of `total` records carry each value, the u-probabilities of the scoring.

    `counts` maps each of KINDS to {value: records}, the values folded as `features` folds them:
    "first", "last", "postcode", "city", "domain" (of emails), "country" (of the address, or else of
    the phones), and for records with a city "phone prefix" (+1 415 as "1415") and "phone prefix
    city" ("1415 san francisco"), from which the city of an area code is learnt. A table left out
    falls back to DEFAULT_SHARES (a missing "domain" table reads every one-letter domain difference as
    a typo; missing phone tables place no phone in a city).
    """

    total: int = 10_000
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # Name comparisons by (kind, a, b): the same few thousand names meet again and again.
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def compared(self, kind: str, a: str, b: str, compare):
        key = (kind, a, b) if a <= b else (kind, b, a)
        found = self.memo.get(key)
        if found is None:
            if len(self.memo) > MEMO_LIMIT:
                self.memo.clear()
            found = self.memo[key] = compare(key[1], key[2], self)
        return found

    @classmethod
    def from_records(cls, records: Iterable[PersonRecord]) -> Frequencies:
        counts: dict[str, Counter] = {k: Counter() for k in KINDS}
        total = 0
        for record in records:
            total += 1
            f = features(record)
            for key, value in (("first", f.first), ("last", f.last), ("postcode", f.postcode), ("city", f.city)):
                if value:
                    counts[key][value] += 1
            counts["domain"].update(email_domains(f))
            counts["country"].update(countries(f))
            for prefix in phone_places(f):
                counts["phone prefix"][prefix] += 1
                counts["phone prefix city"][phone_city_key(prefix, f.city)] += 1
        return cls(total=max(total, 2), counts=counts)

    def count(self, kind: str, value: str) -> int | None:
        """Records carrying `value`; None when there is no table for it. A name is counted in both
        roles, so a swapped record (first name "Smith") weighs Smith as common as it is."""
        if kind in ("first", "last"):
            tables = [self.counts[k] for k in ("first", "last") if k in self.counts]
            return sum(t.get(value, 0) for t in tables) if tables else None
        table = self.counts.get(kind)
        return None if table is None else table.get(value, 0)

    def phone_city(self, digits: str) -> str | None:
        """The city of a phone number's area code (+1 415: San Francisco) where the population's own
        records with both nearly all give one; None for a mobile prefix spread over a country, or
        without the "phone prefix" tables."""
        cities = self.memo.get("phone cities")
        if cities is None:
            cities = self.memo["phone cities"] = self._phone_cities()
        return cities.get(digits[:PHONE_PREFIX])

    def _phone_cities(self) -> dict[str, str]:
        with_city = self.counts.get("phone prefix", {})
        found: dict[str, str] = {}
        for key, n in self.counts.get("phone prefix city", {}).items():
            prefix, _, city = key.partition(" ")
            if with_city.get(prefix, 0) >= PHONE_CITY_MIN and n >= PHONE_CITY_SHARE * with_city[prefix]:
                found[prefix] = city
        return found

    def share(self, kind: str, value: str) -> float:
        """The chance a record of someone else carries `value`; the pair itself is left out."""
        n = self.count(kind, value)
        if n is None:
            return DEFAULT_SHARES[kind]
        return max(n - 1, 1) / (self.total - 1)

    def prior(self) -> float:
        return math.log(DUPLICATE_RATE / self.total)


NO_FREQUENCIES = Frequencies()


def _line1(text: str | None) -> tuple[str, str]:
    words = [_STREET_WORDS.get(w, w) for w in fold(text).split()]
    house = next((w for w in words if w[:1].isdigit()), "")
    return " ".join(words), house


def _local(email: str) -> str:
    return email.rpartition("@")[0].split("+", 1)[0]


@dataclass(frozen=True, slots=True)
class Features:
    first: str
    last: str
    postcode: str
    city: str
    country: str
    line1: str
    house: str
    emails: tuple[str, ...]
    phone_digits: tuple[str, ...]
    invalid_digits: tuple[str, ...]
    birth_date: date | None
    mail_first: str  # a first name read from the email address, when the record has a surname only
    phone_countries: frozenset[str]
    person: Person  # the name as crm/profiles/names.py compares it


@lru_cache(maxsize=1 << 16)
def features(record: PersonRecord) -> Features:
    """The folded, comparable form of a record, computed once per record."""
    first, last = split_name(record.first_name, record.last_name, record.name)
    line1, house = _line1(record.line1)
    emails = tuple(e.strip().lower() for e in record.emails if e and "@" in e)
    mail_first = "" if first else first_from_mailboxes(last, tuple(_local(e) for e in emails))
    return Features(
        first=first,
        last=last,
        postcode=fold(record.postcode).replace(" ", "").upper(),
        city=fold(record.city),
        country=(record.country or "").strip().upper(),
        line1=line1,
        house=house,
        emails=emails,
        phone_digits=tuple(re.sub(r"\D", "", p) for p in record.phones if p),
        invalid_digits=tuple(
            d for d in (re.sub(r"\D", "", p).lstrip("0") for p in record.invalid_phones if p) if len(d) >= 7
        ),
        birth_date=record.birth_date,
        mail_first=mail_first,
        phone_countries=frozenset(filter(None, (_phone_country(p) for p in record.phones if p))),
        person=Person(first or mail_first, last, first_from_mail=bool(mail_first)),
    )


def phone_prefixes(f: Features) -> set[str]:
    """The area codes (+1 415 as "1415") of a record's phones."""
    return {d[:PHONE_PREFIX] for d in f.phone_digits}


def email_domains(f: Features) -> set[str]:
    return {e.rpartition("@")[2] for e in f.emails}


def countries(f: Features) -> set[str]:
    """Where someone lives by country: the address's, or else their phones'."""
    return {f.country} if f.country else set(f.phone_countries)


def phone_places(f: Features) -> set[str]:
    """The area codes a record places in its city (none without a city): what a city's area codes are
    learnt from, here and in the database's frequencies (crm/profiles/matching.py)."""
    return phone_prefixes(f) if f.city else set()


def phone_city_key(prefix: str, city: str) -> str:
    """The "phone prefix city" value of an area code and a folded city: "1415 san francisco"."""
    return f"{prefix} {city}"


def _phone_country(e164: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None


# --- blocking -----------------------------------------------------------------------------------


def blocking_keys(record: PersonRecord) -> set[str]:
    """Cheap keys that any plausible duplicate shares with this record in at least one place."""
    f = features(record)
    keys: set[str] = set()
    if f.postcode:
        keys.add(f"pc:{f.postcode}")
        keys.add(f"pc~:{''.join(sorted(f.postcode))}")  # transposed digits land in the same block
    if f.birth_date:
        keys.add(f"bd:{f.birth_date.isoformat()}")
    keys.update(_name_keys(f.first or f.mail_first, f.last))
    for email in f.emails:
        keys.add(f"el:{_local(email)}")
        # One-deletion neighbourhood: two addresses one edit apart always share one of these.
        keys.add(f"ed:{email}")
        keys.update(f"ed:{email[:i]}{email[i + 1 :]}" for i in range(len(email)))
    for digits in f.phone_digits + f.invalid_digits:
        keys.add(f"p7:{digits[-7:]}")
        if len(digits) >= 9:
            keys.add(f"p^:{digits[:7]}")  # a digit lost near the end still shares the beginning
    return keys


def _name_keys(first: str, last: str) -> set[str]:
    keys = set()
    firsts = {first} | set(name_groups(first)) if first else set()
    if last:
        code = jellyfish.metaphone(last)
        keys.update(f"nm:{code}:{n[0]}" for n in firsts) if firsts else keys.add(f"nm:{code}:")
    if first and last:
        # The other orientation catches swapped names and a typo that changes the surname's sound.
        keys.update(f"nm:{jellyfish.metaphone(n)}:{last[0]}" for n in firsts)
    return keys


def candidate_pairs(records: Sequence[PersonRecord], *, block_cap: int = BLOCK_CAP) -> Iterator[tuple[int, int]]:
    """Index pairs (i < j) of records sharing a block, each pair once; over-full blocks are skipped."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        for key in blocking_keys(record):
            blocks[key].append(index)
    seen: set[int] = set()
    n = len(records)
    for members in blocks.values():
        if len(members) < 2 or len(members) > block_cap:
            continue
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                code = i * n + j
                if code not in seen:
                    seen.add(code)
                    yield i, j


# --- scoring ------------------------------------------------------------------------------------


@dataclass
class _Evidence:
    household: float = 0.0  # surname and address: shared by relatives, capped together
    name: float = 0.0
    person: float = 0.0  # first name, birth date, emails, phones: the individual's own
    reasons: list[tuple[float, str]] = field(default_factory=list)

    def add(self, part: str, weight: float, reason: str | None = None) -> None:
        setattr(self, part, getattr(self, part) + weight)
        if reason and weight > 0:
            self.reasons.append((weight, reason))


def _names(fa: Features, fb: Features, freq: Frequencies, ev: _Evidence) -> tuple[str | None, str | None]:
    """Name evidence (crm/profiles/names.py); returns the (first, last) relations."""
    found = compare_names(fa.person, fb.person, freq)
    ev.add("name", found.first)
    ev.add("household", found.last)
    if found.similarity is not None:
        text = "same name" if found.similarity >= 0.999 else f"names {found.similarity:.2f} similar"
        ev.reasons.append((max(found.first + found.last, 0.1), text))
    ev.reasons.extend((1.0, r) for r in found.reasons)
    return found.relations


def _address(fa: Features, fb: Features, freq: Frequencies, ev: _Evidence) -> bool:
    """Address evidence; returns whether the two share an address (postcode or street), as relatives do."""
    if fa.country and fb.country and fa.country != fb.country:
        ev.add("household", -3.0)
        return False
    postcode_agrees = False
    cities_differ = bool(fa.city and fb.city and fa.city != fb.city)
    if fa.postcode and fb.postcode:
        share = max(freq.share("postcode", fa.postcode), freq.share("postcode", fb.postcode))
        if fa.postcode == fb.postcode:
            postcode_agrees = True
            ev.add("household", agreement(share), "same postcode")
        elif (
            OSA.distance(fa.postcode, fb.postcode) == 1
            and sorted(fa.postcode) == sorted(fb.postcode)
            and not cities_differ
        ):
            postcode_agrees = True
            ev.add("household", agreement(share) - 2.0, "postcode digits transposed")
        else:
            ev.add("household", -2.0)
    if fa.city and fb.city and not postcode_agrees:
        if _same_city(fa.city, fb.city):
            ev.add("household", agreement(max(freq.share("city", fa.city), freq.share("city", fb.city))), "same city")
        elif not (fa.postcode and fb.postcode):
            ev.add("household", -2.0)
    if not (fa.line1 and fb.line1):
        return postcode_agrees
    if fa.house == fb.house and fuzz.ratio(fa.line1, fb.line1) >= 85:
        ev.add("household", 3.0 if postcode_agrees else 5.0, "same street address")
        return True
    if postcode_agrees or not (fa.postcode and fb.postcode):
        # Another street: another household in the postcode (after a postcode that differs, a moved
        # customer's street differs too, so it says nothing more).
        ev.add("household", -1.5)
    return False


def _phone_places(fa: Features, fb: Features, freq: Frequencies, ev: _Evidence) -> None:
    """Where someone lives, as their phones say it: the city of an area code, or else the country.
    They stand in for an address the other profile lacks; and where the two cities differ, a phone
    from the other profile's city says its owner moved and kept the number."""
    pa, pb = _phone_cities(fa, freq), _phone_cities(fb, freq)
    if fa.city and fb.city:
        if not _same_city(fa.city, fb.city):
            kept = (pa & ({fb.city} | pb)) | (pb & {fa.city})
            if kept:
                share = min(freq.share("city", c) for c in kept)
                ev.add("household", agreement(share), "a phone number from the other profile's city")
        return
    if fa.postcode and fb.postcode:
        return  # the postcodes have said where
    cities = ({fa.city} if fa.city else pa), ({fb.city} if fb.city else pb)
    if _places(*cities, "city", freq, ev, "phone number from the same city"):
        return
    if not (fa.country and fb.country):  # two address countries: _address has weighed them
        _places(countries(fa), countries(fb), "country", freq, ev, "phone number from the same country")


def _phone_cities(f: Features, freq: Frequencies) -> set[str]:
    return {c for c in map(freq.phone_city, f.phone_digits) if c}


def _same_city(a: str, b: str) -> bool:
    return a == b or JaroWinkler.similarity(a, b) >= 0.95


def _places(ours: set[str], theirs: set[str], kind: str, freq: Frequencies, ev: _Evidence, reason: str) -> bool:
    """Weigh two sets of places (cities or countries) where someone lives; False if either is empty."""
    if not (ours and theirs):
        return False
    common = ours & theirs
    if common:
        # Never against: in a population nearly all from one country, agreeing on it says nothing.
        weight = max(agreement(min(freq.share(kind, c) for c in common), PLACE_KEPT), 0.0)
        ev.add("household", weight, reason if weight >= 1.0 else None)
    else:
        share = max(freq.share(kind, c) for c in ours | theirs)
        ev.add("household", math.log((1.0 - PLACE_KEPT) / max(1.0 - share, 1.0 - PLACE_KEPT)))
    return True


def _birth_dates(a: date | None, b: date | None, ev: _Evidence) -> None:
    if not a or not b:
        return
    if a == b:
        ev.add("person", 10.0, "same birth date")
    elif (a.year == b.year and (a.month, a.day) == (b.day, b.month)) or (
        a.year == b.year and a.month == b.month and abs(a.day - b.day) == 1
    ):
        ev.add("person", 2.0, "birth dates one typo apart")
    else:
        ev.add("person", -6.0)


def _emails(fa: Features, fb: Features, freq: Frequencies, ev: _Evidence) -> None:
    if not (fa.emails and fb.emails):
        return
    best, reason = 0.0, None
    names = _name_spellings(fa) | _name_spellings(fb)
    for x in fa.emails:
        for y in fb.emails:
            weight, why = _email_pair(x, y, names, freq)
            if weight > best:
                best, reason = weight, why
    if best:
        ev.add("person", best, reason)


def _name_spellings(f: Features) -> set[str]:
    """Mailbox names people make from their name (janedoe, jdoe, doe.jane): shared by namesakes too."""
    if not f.first or not f.last:
        return {f.first or f.last} - {""}
    a, b = f.first, f.last
    return {a + b, b + a, a[0] + b, a + b[0], b + a[0], a, b}


def _changed(a: str, b: str) -> str:
    """The characters of `a` and `b` between their common beginning and their common end."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return a[start : len(a) - end] + b[start : len(b) - end]


def _email_pair(x: str, y: str, names: set[str], freq: Frequencies) -> tuple[float, str | None]:
    lx, _, dx = x.rpartition("@")
    ly, _, dy = y.rpartition("@")
    base_x, base_y = lx.split("+", 1)[0], ly.split("+", 1)[0]
    if x == y:
        return 0.0, None
    if dx == dy and base_x == base_y:
        return 12.0, "same email apart from a plus-tag"  # one mailbox
    like_x, like_y = _SEPARATORS.sub("", base_x) in names, _SEPARATORS.sub("", base_y) in names
    name_like = like_x or like_y
    # One edit, counting a swap of neighbouring letters as one: "gmial" is a single slip.
    if lx == ly and OSA.distance(dx, dy) <= 1 and _domain_typo(dx, dy, freq):
        return 8.0, "emails one edit apart"  # gmial.com, but not mail.com against gmail.com
    if lx != ly and dx == dy and OSA.distance(lx, ly) <= 1:
        changed = _changed(lx, ly)
        if any(c.isdigit() for c in changed):
            return 1.0, None  # jsmith1 / jsmith2: numbered addresses of different people
        if _SEPARATORS.sub("", lx) == _SEPARATORS.sub("", ly):
            # mary.smith / marysmith: namesakes spell their name this way too
            return (1.5 if name_like else 4.0), "emails differ only in punctuation"
        if like_x and like_y:
            return 3.0, "emails one edit apart"  # mary.smith / mary.smyth: each a name of its own
        return (8.0 if len(lx) >= 8 else 6.0 if len(lx) >= 6 else 3.0), "emails one edit apart"
    if base_x == base_y:
        if name_like:
            # jane.doe: made from the name, which is already counted; a namesake picks the same
            # mailbox name about one time in five (first.last, firstlast, flast, first_last, ...).
            return 1.5, "same email name at another domain"
        return (7.0 if len(base_x) >= 6 else 3.0), "same email name at another domain"
    return 0.0, None


def _domain_typo(a: str, b: str, freq: Frequencies) -> bool:
    """One slip apart, and the rarer domain a small fraction of the commoner: gmial.com is gmail.com
    mistyped, while mail.com, a third of gmail.com's size, is a provider of its own."""
    if not one_slip(a, b):
        return False
    ca, cb = freq.count("domain", a), freq.count("domain", b)
    if ca is None or cb is None:
        return True
    rare, common = sorted((ca, cb))
    return rare <= 2 or rare * 20 <= common


def _phones(fa: Features, fb: Features, ev: _Evidence) -> None:
    best = (0.0, "")
    for bad, others in ((fa.invalid_digits, fb.phone_digits + fb.invalid_digits), (fb.invalid_digits, fa.phone_digits)):
        for x in bad:
            for y in others:
                if _digits_match(x, y):
                    # Seven or more digits in the same order: chance agreement is about 1 in 10 million.
                    best = max(best, (9.0 if len(x) >= 9 else 8.0, "same phone number in another format"))
                elif len(x) >= 9 and Levenshtein.distance(x, y[-len(x) - 1 :]) <= 1:
                    best = max(best, (5.0, "phone numbers one digit apart"))
    if best[0]:
        ev.add("person", *best)


def _digits_match(invalid: str, other: str) -> bool:
    short, long = sorted((invalid, other.lstrip("0")), key=len)
    return len(short) >= 7 and long.endswith(short)


def score_pair(
    a: PersonRecord, b: PersonRecord, *, frequencies: Frequencies | None = None, threshold: float = THRESHOLD
) -> Suggestion | None:
    """A suggestion that `a` and `b` are one person, or None below `threshold` (0-1)."""
    score, reasons = explain_pair(a, b, frequencies=frequencies)
    if score < threshold:
        return None
    low, high = sorted((a.customer_id, b.customer_id))
    return Suggestion(low, high, round(score, 3), reasons)


def explain_pair(
    a: PersonRecord, b: PersonRecord, *, frequencies: Frequencies | None = None
) -> tuple[float, tuple[str, ...]]:
    """The score (0-1) and the readable reasons for it, whatever the score."""
    freq = frequencies or NO_FREQUENCIES
    fa, fb = features(a), features(b)
    ev = _Evidence()
    first_rel, last_rel = _names(fa, fb, freq, ev)
    same_address = _address(fa, fb, freq, ev)
    _phone_places(fa, fb, freq, ev)
    if same_address and last_rel == "same" and first_rel in ("same", "nickname", "prefix", "typo"):
        # Relatives share a surname and an address but hardly ever a first name: within one household
        # an agreeing first name says more than its frequency in the whole population does.
        ev.add("name", max(0.0, HOUSEHOLD_FIRST_NAME - ev.name))
    _birth_dates(fa.birth_date, fb.birth_date, ev)
    _emails(fa, fb, freq, ev)
    _phones(fa, fb, ev)
    # Relatives share a surname and an address: together those say "same household", no more.
    household = min(ev.household, HOUSEHOLD_CAP) if same_address else ev.household
    log_odds = freq.prior() + household + ev.name + ev.person
    score = 1.0 / (1.0 + math.exp(-max(min(log_odds, 30.0), -30.0)))
    reasons = tuple(text for _, text in sorted(ev.reasons, key=lambda r: -r[0]))
    return score, tuple(dict.fromkeys(reasons))


def suggest_duplicates(records: Sequence[PersonRecord], *, threshold: float = THRESHOLD) -> list[Suggestion]:
    """Every suggestion among `records`, with frequencies taken from the records themselves."""
    freq = Frequencies.from_records(records)
    found = (
        score_pair(records[i], records[j], frequencies=freq, threshold=threshold) for i, j in candidate_pairs(records)
    )
    return [s for s in found if s is not None]


def name_similarity_baseline(a: PersonRecord, b: PersonRecord) -> float:
    """The plain baseline: rapidfuzz ratio (0-1) of the two full names, folded, and nothing else."""
    return fuzz.ratio(_full_name(a), _full_name(b)) / 100.0


def _full_name(record: PersonRecord) -> str:
    return fold(record.name) if record.name else fold(f"{record.first_name or ''} {record.last_name or ''}")
