"""Names for duplicate scoring: folding, splitting a display name, reading a first name from a mailbox
name, and weighing two people's names against each other.

Pure, like crm/profiles/similarity.py, which calls `compare_names` for every candidate pair and turns
its log-odds and reasons into evidence. Frequencies (similarity.Frequencies) say how common a name
is, so that John agreeing with John counts for less than Zbigniew with Zbigniew.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import TYPE_CHECKING, NamedTuple

from rapidfuzz.distance import OSA, JaroWinkler

from crm.profiles.nicknames import are_nicknames, known_first_names, related_names

if TYPE_CHECKING:
    from crm.profiles.similarity import Frequencies

NAME_CAP = 12.0
# A first name read from a mailbox name (jane.doe@...) is a weaker reading than a name typed as one: the
# mailbox may be a relative's. It counts a little less for, and far less against, than the name would.
MAIL_FIRST_DISCOUNT = 1.0
MAIL_FIRST_AGAINST = -4.0
_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "đ": "d", "ı": "i"})
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_DIGITS = re.compile(r"\d+")
_TITLES = frozenset("mr mrs ms miss dr prof sir jr sr ii iii iv".split())
_PARTICLES = frozenset("van von der den de del della di da la le du st".split())
_AGREEING = frozenset(("same", "nickname", "prefix", "initial", "typo", "variant", "compound"))
_PLAINLY_SAME = frozenset(("same", "nickname"))  # no swapped reading can do better


def fold(text: str | None) -> str:
    """Lower-case ASCII words: accents dropped (José -> jose), punctuation to spaces, O'Brien -> obrien."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower().replace("'", "")
    return _NON_ALNUM.sub(" ", plain).strip()


def split_name(first_name: str | None, last_name: str | None, name: str | None) -> tuple[str, str]:
    """(first, last), folded: from the two fields, or else from a display name ("DOE, Jane", "Jane Doe")."""
    first, last = fold(first_name), fold(last_name)
    if not first and not last and name:
        if "," in name:  # "DOE, JANE"
            last, _, first = (fold(p) for p in name.partition(","))
        else:
            words = [w for w in fold(name).split() if w not in _TITLES]
            if len(words) == 1:
                return words[0], ""
            cut = len(words) - 1
            while cut > 1 and words[cut - 1] in _PARTICLES:
                cut -= 1
            first, last = " ".join(words[:cut]), " ".join(words[cut:])
    first_words = [w for w in first.split() if w not in _TITLES]
    last_words = [w for w in last.split() if w not in _TITLES]
    return (first_words[0] if first_words else ""), "".join(last_words)


def first_from_mailboxes(last: str, mailboxes: tuple[str, ...]) -> str:
    """The first name, or initial, that a mailbox name gives beside the surname `last` (folded): jane.doe,
    doe_jane, janedoe, jdoe, jane.d; a known first name alone (jane42). "" when none says so."""
    if not last:
        return ""
    for mailbox in mailboxes:
        folded = fold(mailbox)
        words = [w for w in (_DIGITS.sub("", w) for w in folded.split()) if w]
        if len(words) == 2:
            for mine, other in ((words[0], words[1]), (words[1], words[0])):
                if mine == last and other != last:
                    return other
                if mine == last[0] and len(other) >= 2 and other != last:
                    return other
        elif len(words) == 1:
            word = words[0]
            if len(word) > len(last) and word.endswith(last):
                return word[: -len(last)]
            if len(word) > len(last) and word.startswith(last):
                return word[len(last) :]
            # jane42: a name and a number; a word alone (sunshine) only when it is a known first name.
            if word != last and (word in known_first_names() or (len(word) >= 3 and folded != word)):
                return word
    return ""


# --- comparing two names --------------------------------------------------------------------------


class Person(NamedTuple):
    """A record's name as compared: folded first name and surname, and whether the first name was read
    from the email address because the record had none."""

    first: str
    last: str
    first_from_mail: bool = False


class NameComparison(NamedTuple):  # a tuple: one is made for every candidate pair
    first: float  # log-odds from the first names (the individual's own)
    last: float  # log-odds from the surnames (shared with relatives)
    similarity: float | None  # 0-1 for the reasons; None when there was nothing to compare
    reasons: tuple[str, ...]
    relations: tuple[str | None, str | None]  # (first, last): "same", "nickname", "typo", "different"...
    swapped: bool


def compare_names(a: Person, b: Person, freq: Frequencies) -> NameComparison:
    """Two names weighed in the orientation that fits best (either may be the swapped one)."""
    best = _reading(a.first, a.last, b.first, b.last, freq)
    swapped = False
    if a.first and a.last and b.first and b.last and not set(best[5]) <= _PLAINLY_SAME:
        # Either record may be the swapped one, which decides whether a value is weighed as a first
        # name or a surname; of the readings where both names agree, take the less flattering.
        readings = [
            e
            for e in (
                _reading(a.last, a.first, b.first, b.last, freq),
                _reading(a.first, a.last, b.last, b.first, freq),
            )
            if set(e[5]) <= _AGREEING
        ]
        other = min(readings, key=lambda e: e[0]) if readings else None
        if other is not None and other[0] > best[0] + 1.0:
            best, swapped = other, True
    _, first, last, sim, reasons, relations = best
    mailed = min((p.first for p in (a, b) if p.first_from_mail), default="")  # either order, one answer
    if mailed and relations[0] is not None:
        first, reasons = _read_from_mail(mailed, first, reasons, relations[0], freq)
    if swapped:
        reasons.append("first and last names swapped")
    first = min(first, NAME_CAP) - (0.5 if swapped else 0.0)
    return NameComparison(first, last, sim, tuple(reasons), relations, swapped)


def _read_from_mail(
    mailed: str, first: float, reasons: list[str], relation: str, freq: Frequencies
) -> tuple[float, list[str]]:
    if relation == "different":
        # Margaret's mailbox says Margaret; a word nobody is called (sunshine77) says nothing.
        is_name = mailed in known_first_names() or (freq.count("first", mailed) or 0) >= 3
        return (max(first, MAIL_FIRST_AGAINST) if is_name else 0.0), reasons
    if len(mailed) == 1:
        reasons = [r for r in reasons if not r.startswith("first initial")]
        reasons.append(f"first initial {mailed.upper()} read from the email address")
    else:
        reasons.append(f"first name {mailed.title()} read from the email address")
    return (max(first - MAIL_FIRST_DISCOUNT, 0.0) if first > 0 else first), reasons  # never below nothing


def _reading(af: str, al: str, bf: str, bl: str, freq: Frequencies):
    """(total, first log-odds, last log-odds, similarity for the reasons, extra reasons, relations)."""
    first = last = 0.0
    first_rel = last_rel = None
    sims, reasons = [], []
    if af and bf:
        first_rel, first, reason = freq.compared("first", af, bf, first_names)
        sims.append(1.0 if reason or af == bf else JaroWinkler.similarity(af, bf))
        if reason:
            reasons.append(reason)
    if al and bl:
        last_rel, last = freq.compared("last", al, bl, last_names)
        sims.append(1.0 if al == bl else JaroWinkler.similarity(al, bl))
    sim = sum(sims) / len(sims) if sims else None
    return first + last, first, last, sim, reasons, (first_rel, last_rel)


def agreement(share: float, m: float = 0.9) -> float:
    """Log-odds of an agreement that a duplicate shows with chance `m` and someone else with `share`."""
    return math.log(m / share)


def one_slip(a: str, b: str) -> bool:
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
    if not one_slip(a, b):
        return False
    ca, cb = freq.count(kind, a), freq.count(kind, b)
    if ca is None or cb is None:
        return kind == "last" or _is_rare(kind, a, freq) or _is_rare(kind, b, freq)
    # A misspelling is far rarer than the name it garbles: one typist in a few hundred makes that slip.
    rare, common = sorted((ca, cb))
    return rare <= 2 or rare * 50 <= common


def first_names(a: str, b: str, freq: Frequencies) -> tuple[str, float, str | None]:
    """(relation, log-odds, reason) of two folded first names."""
    # The commoner spelling's frequency: a typo of Paul says no more than Paul does.
    share = max(freq.share("first", a), freq.share("first", b))
    same = min(agreement(share), 7.0)
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
        if _is_rare("first", x, freq) and any(one_slip(x, n) for n in related_names(y) - {y}):
            return "typo", same - 2.5, f"{x.title()} looks like a misspelt nickname of {y.title()}"
    if (_is_rare("first", a, freq) or _is_rare("first", b, freq)) and JaroWinkler.similarity(a, b) >= 0.8:
        return "variant", 0.0, None  # a misspelling of something close: neither for nor against
    # Different first names: relatives at one address, twins even, so nearly a veto.
    return "different", -9.0, None


def last_names(a: str, b: str, freq: Frequencies) -> tuple[str, float]:
    share = max(freq.share("last", a), freq.share("last", b))
    if a == b:
        return "same", min(agreement(share), 8.0)
    if len(a) >= 4 and len(b) >= 4 and (a.startswith(b) or b.startswith(a)):
        return "compound", min(agreement(share), 8.0) - 2.0  # Garcia Lopez / Garcia
    if _typo_of(a, b, "last", freq):
        return "typo", min(agreement(share), 8.0) - 1.5
    return "different", -4.0
