"""The ways people and systems garble customer data, for the identity benchmark's generator.

Each function takes the generator's seeded `random.Random`, so a seed gives the same noise every run.
"""

from __future__ import annotations

import random
from datetime import date

from bench.identity import vocab
from bench.identity.population import ascii_fold
from crm.profiles.nicknames import NICKNAMES

KEYBOARD_NEIGHBOURS = {
    "a": "qsz", "b": "vgn", "c": "xdv", "d": "sfe", "e": "wrd", "f": "dgr", "g": "fht", "h": "gjy",
    "i": "uok", "j": "hku", "k": "jli", "l": "kop", "m": "nj", "n": "bmh", "o": "ipl", "p": "ol",
    "q": "wa", "r": "etf", "s": "adw", "t": "ryg", "u": "yij", "v": "cbf", "w": "qes", "x": "zsc",
    "y": "tuh", "z": "xas",
}  # fmt: skip


def typo(rng: random.Random, word: str) -> str:
    """One keystroke wrong: a swap, a drop, a double or a neighbouring key (never the first letter)."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "double", "neighbour"))
    if kind == "swap" and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    lower = word[i].lower()
    if lower in KEYBOARD_NEIGHBOURS:
        return word[:i] + rng.choice(KEYBOARD_NEIGHBOURS[lower]) + word[i + 1 :]
    return word[:i] + word[i + 1 :]


def nickname(rng: random.Random, first: str) -> str | None:
    """A familiar form of a formal first name; now and then one the scorer's table does not know."""
    known = NICKNAMES.get(first)
    unknown = vocab.UNKNOWN_NICKNAMES.get(first)
    if unknown and (not known or rng.random() < 0.5):
        return rng.choice(unknown)
    return rng.choice(known) if known else None


def display_case(rng: random.Random, text: str) -> str:
    roll = rng.random()
    if roll < 0.75:
        return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))
    if roll < 0.9:
        return text.upper()
    return text.lower()


def maybe_drop_accents(rng: random.Random, text: str) -> str:
    return ascii_fold(text) if rng.random() < 0.5 else text


def email_case_and_spaces(rng: random.Random, address: str) -> str:
    local, _, domain = address.partition("@")
    roll = rng.random()
    if roll < 0.15:
        address = address.upper()
    elif roll < 0.35:
        address = f"{local[:1].upper()}{local[1:]}@{domain.title()}"
    if rng.random() < 0.2:
        address = rng.choice((" ", "  ", "\t")) + address + rng.choice(("", " ", "\n"))
    return address


def email_typo(rng: random.Random, address: str) -> str:
    """The address one edit away: a typo in the domain (gmial.com) or in the mailbox name."""
    local, _, domain = address.partition("@")
    if domain in vocab.TYPO_DOMAINS and rng.random() < 0.4:
        return f"{local}@{vocab.TYPO_DOMAINS[domain]}"
    changed = typo(rng, local)
    return f"{changed}@{domain}" if changed != local else f"{local[:-1]}@{domain}"


def plus_tagged(rng: random.Random, address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local}+{rng.choice(('shop', 'news', 'promo', 'orders', 'x'))}@{domain}"


def _groups(digits: str, sizes: tuple[int, ...]) -> list[str]:
    out, i = [], 0
    for size in sizes:
        out.append(digits[i : i + size])
        i += size
    if i < len(digits):
        out.append(digits[i:])
    return out


def phone_format(rng: random.Random, e164: str) -> str:
    """A human rendering of a valid number that a US-default normaliser must still read."""
    if e164.startswith("+1"):
        area, ex, line = e164[2:5], e164[5:8], e164[8:]
        return rng.choice(
            (
                e164,
                f"+1 {area}-{ex}-{line}",
                f"({area}) {ex}-{line}",
                f"{area}.{ex}.{line}",
                f"{area}-{ex}-{line}",
                f"1 ({area}) {ex}-{line}",
                f"{area} {ex} {line}",
                f"({area}) {ex}-{line} ext. {rng.randrange(1, 999)}",
            )
        )
    code = {"+44": "44", "+33": "33", "+49": "49"}[e164[:3]]
    national = e164[3:]
    grouped = " ".join(_groups(national, (4, 6) if code == "44" else (1, 2, 2, 2, 2) if code == "33" else (3, 8)))
    return rng.choice(
        (e164, f"+{code} {grouped}", f"00{code} {grouped}", f"+{code} (0){grouped}", f"011 {code} {grouped}")
    )


def failed_phone(rng: random.Random, e164: str) -> tuple[str, bool]:
    """A rendering of the number that a US-default normaliser cannot read, and whether its digits still
    identify the number (a local number without area code, a foreign number in its national form) or
    not (a digit lost)."""
    if rng.random() < 0.2:
        digits = e164[1:]
        i = rng.randrange(3, len(digits))
        return digits[:i] + digits[i + 1 :], False
    if e164.startswith("+1"):
        return f"{e164[5:8]}-{e164[8:]}", True
    national = "0" + e164[3:]
    return " ".join(_groups(national, (5, 6) if e164.startswith("+44") else (2, 2, 2, 2, 2, 2))), True


def transpose_postcode(rng: random.Random, postcode: str) -> str:
    """Two adjacent digits of a postcode swapped, as when it is typed in a hurry."""
    spots = [i for i in range(len(postcode) - 1) if postcode[i].isdigit() and postcode[i + 1].isdigit()]
    spots = [i for i in spots if postcode[i] != postcode[i + 1]]
    if not spots:
        return postcode
    i = rng.choice(spots)
    return postcode[:i] + postcode[i + 1] + postcode[i] + postcode[i + 2 :]


def postcode_format(rng: random.Random, postcode: str) -> str:
    roll = rng.random()
    if roll < 0.15:
        return postcode.lower()
    if roll < 0.25:
        return postcode.replace(" ", "")
    return postcode


def line1_variant(rng: random.Random, line1: str) -> str:
    """The same street address written another way: abbreviated street type, other case, a typo."""
    for long, short in vocab.STREET_TYPES:
        title = long.title()
        if line1.endswith(title) and rng.random() < 0.5:
            line1 = line1[: -len(title)] + rng.choice((short, short.title(), short.title() + "."))
    if rng.random() < 0.15:
        line1 = line1.upper()
    if rng.random() < 0.05:
        line1 = typo(rng, line1)
    return line1


def birth_date_typo(rng: random.Random, born: date) -> date:
    """Day and month swapped (a US/European form mix-up) or a day off by a keystroke."""
    if born.day <= 12 and born.day != born.month and rng.random() < 0.5:
        return born.replace(month=born.day, day=born.month)
    day = born.day + rng.choice((-1, 1))
    return born.replace(day=day if 1 <= day <= 28 else born.day)
