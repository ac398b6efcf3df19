"""Duplicate suggestions: which customers that share no identifier are probably one person, and why.

Pure scoring on plain data. `candidate_pairs` blocks records on cheap keys (postcode, phonetic surname,
birth date, email, phone digits) so the work stays near-linear; `score_pair` weighs the evidence the
Fellegi-Sunter way, as log-odds per field, with agreement on a common value (John, Smith, a big
postcode) worth less than on a rare one when `Frequencies` of the population are given. Its result is
only ever a suggestion for a person to confirm, with the reasons a person can read.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import jellyfish
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from crm.profiles.nicknames import are_nicknames, known_first_names, name_groups, related_names

THRESHOLD = 0.8
BLOCK_CAP = 200  # a block this big (a shared ZIP, "Smith J") is too common to say anything
# Log-odds of "same person" before any evidence: about one duplicate per ten customers.
DUPLICATE_RATE = 0.1
HOUSEHOLD_CAP = 9.5  # surname and address together say "same household" at most: relatives share both
NAME_CAP = 12.0
MEMO_LIMIT = 500_000
HOUSEHOLD_FIRST_NAME = 5.0
_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "đ": "d", "ı": "i"})
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_SEPARATORS = re.compile(r"[._-]")
_TITLES = frozenset("mr mrs ms miss dr prof sir jr sr ii iii iv".split())
_PARTICLES = frozenset("van von der den de del della di da la le du st".split())
_STREET_WORDS = {"street": "st", "road": "rd", "avenue": "ave", "lane": "ln", "drive": "dr", "boulevard": "blvd"}
DEFAULT_SHARES = {"first": 0.01, "last": 0.004, "postcode": 0.002, "city": 0.05}  # without Frequencies


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

    `counts` maps "first", "last", "postcode", "city" and "domain" (of emails) to {value: records}, the
    values folded as `features` folds them. A table left out falls back to DEFAULT_SHARES (a missing
    "domain" table reads every one-letter domain difference as a typo).
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
        counts: dict[str, Counter] = {k: Counter() for k in ("first", "last", "postcode", "city", "domain")}
        total = 0
        for record in records:
            total += 1
            f = features(record)
            for key, value in (("first", f.first), ("last", f.last), ("postcode", f.postcode), ("city", f.city)):
                if value:
                    counts[key][value] += 1
            counts["domain"].update(e.rpartition("@")[2] for e in f.emails)
        return cls(total=max(total, 2), counts=counts)

    def count(self, kind: str, value: str) -> int | None:
        """Records carrying `value`; None when there is no table for it. A name is counted in both
        roles, so a swapped record (first name "Smith") weighs Smith as common as it is."""
        if kind in ("first", "last"):
            tables = [self.counts[k] for k in ("first", "last") if k in self.counts]
            return sum(t.get(value, 0) for t in tables) if tables else None
        table = self.counts.get(kind)
        return None if table is None else table.get(value, 0)

    def share(self, kind: str, value: str) -> float:
        """The chance a record of someone else carries `value`; the pair itself is left out."""
        n = self.count(kind, value)
        if n is None:
            return DEFAULT_SHARES[kind]
        return max(n - 1, 1) / (self.total - 1)

    def prior(self) -> float:
        return math.log(DUPLICATE_RATE / self.total)


NO_FREQUENCIES = Frequencies()


def fold(text: str | None) -> str:
    """Lower-case ASCII words: accents dropped (José -> jose), punctuation to spaces, O'Brien -> obrien."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower().replace("'", "")
    return _NON_ALNUM.sub(" ", plain).strip()


def _split_name(record: PersonRecord) -> tuple[str, str]:
    first, last = fold(record.first_name), fold(record.last_name)
    if not first and not last and record.name:
        raw = record.name
        if "," in raw:  # "DOE, JANE"
            last, _, first = (fold(p) for p in raw.partition(","))
        else:
            words = [w for w in fold(raw).split() if w not in _TITLES]
            if len(words) == 1:
                return words[0], ""
            cut = len(words) - 1
            while cut > 1 and words[cut - 1] in _PARTICLES:
                cut -= 1
            first, last = " ".join(words[:cut]), " ".join(words[cut:])
    first_words = [w for w in first.split() if w not in _TITLES]
    last_words = [w for w in last.split() if w not in _TITLES]
    return (first_words[0] if first_words else ""), "".join(last_words)


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


@lru_cache(maxsize=1 << 16)
def features(record: PersonRecord) -> Features:
    """The folded, comparable form of a record, computed once per record."""
    first, last = _split_name(record)
    line1, house = _line1(record.line1)
    emails = tuple(e.strip().lower() for e in record.emails if e and "@" in e)
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
    )


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
    keys.update(_name_keys(f.first, f.last))
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


def _agreement(share: float, m: float = 0.9) -> float:
    return math.log(m / share)


def _one_slip(a: str, b: str) -> bool:
    """One keystroke apart (a swap of neighbours counts as one), or very close for long names."""
    if min(len(a), len(b)) >= 3 and OSA.distance(a, b) <= 1:
        return True
    return min(len(a), len(b)) >= 6 and JaroWinkler.similarity(a, b) >= 0.93


def _is_rare(kind: str, value: str, freq: Frequencies) -> bool:
    """Seen at most twice (the pair itself): more likely a misspelling than a name of its own."""
    if kind == "first" and value in known_first_names():
        return False  # Marge is a name, however few Marges there are
    count = freq.count(kind, value)
    return True if count is None else count <= 2


def _typo_of(a: str, b: str, kind: str, freq: Frequencies) -> bool:
    """One slip apart and not two real names (Mark and Mary are both names; Jonh is not)."""
    if not _one_slip(a, b):
        return False
    ca, cb = freq.count(kind, a), freq.count(kind, b)
    if ca is None or cb is None:
        return kind == "last" or _is_rare(kind, a, freq) or _is_rare(kind, b, freq)
    # A misspelling is far rarer than the name it garbles: one typist in a few hundred makes that slip.
    rare, common = sorted((ca, cb))
    return rare <= 2 or rare * 50 <= common


def _first_names(a: str, b: str, freq: Frequencies) -> tuple[str, float, str | None]:
    """(relation, log-odds, reason) of two folded first names."""
    # The commoner spelling's frequency: a typo of Paul says no more than Paul does.
    share = max(freq.share("first", a), freq.share("first", b))
    same = min(_agreement(share), 7.0)
    if a == b:
        return "same", same, None
    short, long = sorted((a, b), key=lambda n: (len(n), n))
    if are_nicknames(a, b):
        return "nickname", same - 1.0, f"{short.title()} and {long.title()} are one name (nickname)"
    if len(short) == 1 and long.startswith(short):
        return "initial", 0.5, f"first initial {short.upper()} matches {long.title()}"
    if len(short) >= 3 and len(long) - len(short) >= 2 and long.startswith(short):  # not Paul / Paula
        return "prefix", same - 1.5, f"{short.title()} is short for {long.title()}"
    if _typo_of(a, b, "first", freq):
        return "typo", same - 1.5, None
    for x, y in ((a, b), (b, a)):
        if _is_rare("first", x, freq) and any(_one_slip(x, n) for n in related_names(y) - {y}):
            return "typo", same - 2.5, f"{x.title()} looks like a misspelt nickname of {y.title()}"
    if (_is_rare("first", a, freq) or _is_rare("first", b, freq)) and JaroWinkler.similarity(a, b) >= 0.8:
        return "variant", 0.0, None  # a misspelling of something close: neither for nor against
    # Different first names: relatives at one address, twins even, so nearly a veto.
    return "different", -9.0, None


def _last_names(a: str, b: str, freq: Frequencies) -> tuple[str, float]:
    share = max(freq.share("last", a), freq.share("last", b))
    if a == b:
        return "same", min(_agreement(share), 8.0)
    if len(a) >= 4 and len(b) >= 4 and (a.startswith(b) or b.startswith(a)):
        return "compound", min(_agreement(share), 8.0) - 2.0  # Garcia Lopez / Garcia
    if _typo_of(a, b, "last", freq):
        return "typo", min(_agreement(share), 8.0) - 1.5
    return "different", -4.0


_AGREEING = frozenset(("same", "nickname", "prefix", "initial", "typo", "variant", "compound"))
_PLAINLY_SAME = frozenset(("same", "nickname"))  # no swapped reading can do better


def _names(fa: Features, fb: Features, freq: Frequencies, ev: _Evidence) -> tuple[str | None, str | None]:
    """Name evidence, in the orientation that fits best; returns the (first, last) relations."""
    best = _name_evidence(fa.first, fa.last, fb.first, fb.last, freq)
    swap = False
    if fa.first and fa.last and fb.first and fb.last and not set(best[5]) <= _PLAINLY_SAME:
        # Either record may be the swapped one, which decides whether a value is weighed as a first
        # name or a surname; of the readings where both names agree, take the less flattering.
        readings = [
            e
            for e in (
                _name_evidence(fa.last, fa.first, fb.first, fb.last, freq),
                _name_evidence(fa.first, fa.last, fb.last, fb.first, freq),
            )
            if set(e[5]) <= _AGREEING
        ]
        swapped = min(readings, key=lambda e: e[0]) if readings else None
        if swapped is not None and swapped[0] > best[0] + 1.0:
            best, swap = swapped, True
    _, first, last, sim, reasons, relations = best
    if swap:
        reasons.append("first and last names swapped")
    ev.add("name", min(first, NAME_CAP) - (0.5 if swap else 0.0))
    ev.add("household", last)
    if sim is not None:
        text = "same name" if sim >= 0.999 else f"names {sim:.2f} similar"
        ev.reasons.append((max(first + last, 0.1), text))
    ev.reasons.extend((1.0, r) for r in reasons)
    return relations


def _name_evidence(af: str, al: str, bf: str, bl: str, freq: Frequencies):
    """(total, first log-odds, last log-odds, similarity for the reasons, extra reasons, relations)."""
    first = last = 0.0
    first_rel = last_rel = None
    sims, reasons = [], []
    if af and bf:
        first_rel, first, reason = freq.compared("first", af, bf, _first_names)
        sims.append(1.0 if reason or af == bf else JaroWinkler.similarity(af, bf))
        if reason:
            reasons.append(reason)
    if al and bl:
        last_rel, last = freq.compared("last", al, bl, _last_names)
        sims.append(1.0 if al == bl else JaroWinkler.similarity(al, bl))
    sim = sum(sims) / len(sims) if sims else None
    return first + last, first, last, sim, reasons, (first_rel, last_rel)


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
            ev.add("household", _agreement(share), "same postcode")
        elif (
            OSA.distance(fa.postcode, fb.postcode) == 1
            and sorted(fa.postcode) == sorted(fb.postcode)
            and not cities_differ
        ):
            postcode_agrees = True
            ev.add("household", _agreement(share) - 2.0, "postcode digits transposed")
        else:
            ev.add("household", -2.0)
    if fa.city and fb.city and not postcode_agrees:
        if fa.city == fb.city or JaroWinkler.similarity(fa.city, fb.city) >= 0.95:
            ev.add("household", _agreement(max(freq.share("city", fa.city), freq.share("city", fb.city))), "same city")
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
    if lx == ly and OSA.distance(dx, dy) <= 1 and _typo_of(dx, dy, "domain", freq):
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
