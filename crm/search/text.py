"""Text as search sees it: accents folded, names cut into tokens, phones reduced to digits, order numbers
and emails in the forms they are matched on.

The Elasticsearch node here has no analysis-common plugin (no asciifolding, no ngrams), so folding
happens in Python on both sides: documents are folded before indexing and queries before searching.
The SQL backend applies the very same functions, which is what keeps the two backends in agreement.
Pure functions, no app.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Letters NFKD does not decompose into a base letter and a mark.
_SPECIAL = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "ø": "o",
        "Ø": "o",
        "œ": "oe",
        "Œ": "oe",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "ł": "l",
        "Ł": "l",
        "þ": "th",
        "Þ": "th",
        "ı": "i",
    }
)
_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_WORD = re.compile(r"[^\W_]+")
_NON_DIGIT = re.compile(r"\D")
_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]{6,40}$")
_ORDER_LIKE = re.compile(r"^#?[A-Za-z0-9][A-Za-z0-9\-_/.]{1,63}$")
_IDENT_SPLIT = re.compile(r"[\s:@.+/\-]+")

MIN_PHONE_DIGITS = 6


def fold(text: str | None) -> str:
    """Lower-case without accents: 'Zoë Ünal' -> 'zoe unal', 'Straße' -> 'strasse'."""
    if not text:
        return ""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return _MARKS.sub("", decomposed).lower()


@lru_cache(maxsize=4096)
def fold_char(ch: str) -> str:
    """The folding of one character (for the highlighter, which maps folded offsets back)."""
    return fold(ch)


def words(text: str | None) -> list[str]:
    """Folded words of running text (messages, subjects)."""
    return _WORD.findall(fold(text))


def name_tokens(text: str | None) -> list[str]:
    """Folded tokens of a name; "O'Brien-Smith" gives o, brien, smith and the joins obrien, briensmith,
    obriensmith: people type names with and without their apostrophes and hyphens."""
    tokens = _WORD.findall(fold(text))
    for chunk in fold(text).split():
        parts = _WORD.findall(chunk)[:5]
        for size in range(2, len(parts) + 1):
            tokens += ["".join(parts[i : i + size]) for i in range(len(parts) - size + 1)]
    return unique(tokens)


def unique(items) -> list:
    """The truthy items, each once, in their first order (dict.fromkeys: the loop without the Python)."""
    return list(dict.fromkeys(filter(None, items)))


def phone_digits(text: str | None) -> str:
    """The digits of a phone number without leading zeros: '+1 (415) 555-0132' -> '14155550132'.

    Leading zeros go because they are trunk or international prefixes (020..., 0044...), never part of
    the subscriber number, and the match is on the end of the number.
    """
    return _NON_DIGIT.sub("", text or "").lstrip("0")


def looks_like_phone(text: str) -> bool:
    return bool(_PHONE_LIKE.match(text.strip())) and len(phone_digits(text)) >= MIN_PHONE_DIGITS


def reversed_digits(value: str) -> str:
    """Digits reversed, so that 'ends with these digits' becomes a prefix query on a keyword."""
    return phone_digits(value)[::-1]


def normalise_order_number(text: str | None) -> str:
    """'#10023', ' 10023 ' and 'so-1' -> '10023', '10023', 'SO-1': case and the leading # never matter."""
    return re.sub(r"[\s#]", "", text or "").upper()


def looks_like_order_number(text: str) -> bool:
    text = text.strip()
    return bool(_ORDER_LIKE.match(text)) and any(c.isdigit() for c in text)


def email_parts(email: str) -> tuple[str, str]:
    local, _, domain = email.rpartition("@")
    return local, domain


def identifier_tokens(kind: str, value: str) -> list[str]:
    """Searchable words of a stored identifier: 'ann.lee@example.com' -> ann.lee@example.com, ann.lee,
    ann, lee, example.com, example, com; 'shop:cus_AbC1' -> cus_abc1 (the handle without its namespace)."""
    value = fold(value)
    tokens = [value]
    if kind == "email":
        local, domain = email_parts(value)
        tokens += [local, domain]
    elif kind in ("chat", "external"):
        tokens.append(handle_of(value))
    tokens += [t for t in _IDENT_SPLIT.split(value) if t]
    tokens += _WORD.findall(value)
    return unique(tokens)


def handle_of(value: str) -> str:
    """A namespaced identifier's handle: 'demo-chat:ann' -> 'ann'."""
    return value.split(":", 1)[1] if ":" in value else value


def like_escape(text: str) -> str:
    """Escape LIKE wildcards in user input (the SQL backend matches with LIKE ... ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
