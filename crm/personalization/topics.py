"""What customers write about: top topics, and pain points (topics of their negative messages).

The taxonomy is data: a topic is a list of words and phrases, matched on lower-cased, lemmatised
tokens. The lemmatiser is a small suffix stripper rather than a dictionary (nothing to download); it
only has to send "delivered", "deliveries" and "delivering" to the same stem, and since taxonomy terms
go through the same function as messages, its stems never have to be real words.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from crm.personalization.facts import CustomerFacts
from crm.personalization.sentiment import NEGATIVE, customer_text, scored_messages


@dataclass(frozen=True)
class Topic:
    name: str
    terms: tuple[str, ...]  # words or phrases, written naturally; lemmatised at load
    complaint: bool = True  # a problem to fix, rather than a question (price, stock)


TAXONOMY: tuple[Topic, ...] = (
    Topic("delivery", ("delivery", "deliver", "shipping", "shipment", "courier", "parcel", "package", "tracking",
                       "tracking number", "dispatch", "arrive", "never arrived", "where is my order", "late")),
    Topic("refund", ("refund", "money back", "reimburse", "reimbursement", "chargeback", "credit back")),
    Topic("billing", ("bill", "billing", "invoice", "charge", "double charged", "overcharged", "payment",
                      "receipt", "subscription", "card declined")),
    Topic("login", ("login", "log in", "sign in", "password", "locked out", "account locked", "reset password",
                    "verification code", "username", "two factor")),
    Topic("product quality", ("broken", "broke", "defective", "faulty", "damaged", "flimsy", "poor quality",
                              "quality", "scratched", "torn", "ripped", "stain", "stopped working", "fell apart",
                              "leaking", "cracked")),
    Topic("sizing", ("size", "sizing", "fit", "too small", "too big", "too large", "too tight", "too loose",
                     "too short")),
    Topic("returns", ("return", "send back", "sent back", "exchange", "return label", "rma")),
    Topic("wait time", ("wait", "on hold", "queue", "no reply", "no response", "no answer", "nobody answered",
                        "took forever", "too long", "slow", "hours")),
    Topic("rudeness", ("rude", "impolite", "unhelpful", "disrespectful", "dismissive", "arrogant", "hung up",
                       "attitude", "unprofessional", "condescending", "yelled")),
    Topic("cancellation", ("cancel", "cancelled", "cancellation")),
    Topic("price", ("price", "pricing", "expensive", "cost", "discount", "coupon", "promo code", "voucher",
                    "overpriced", "cheaper"), complaint=False),
    Topic("availability", ("out of stock", "in stock", "restock", "available", "availability", "sold out"),
                          complaint=False),
)  # fmt: skip

COMPLAINT_TOPICS = frozenset(topic.name for topic in TAXONOMY if topic.complaint)
SNIPPET_CHARS = 60  # each side of the first matched term

_TOKEN = re.compile(r"[a-z0-9]+")
_IRREGULAR = {
    "bought": "buy", "paid": "pay", "sent": "send", "went": "go", "gone": "go", "came": "come",
    "broke": "break", "broken": "break", "wore": "wear", "worn": "wear", "tore": "tear", "torn": "tear",
    "lost": "lose", "got": "get", "took": "take", "taken": "take", "was": "be", "were": "be", "is": "be",
    "are": "be", "been": "be", "hung": "hang", "fell": "fall", "ripped": "rip",
}  # fmt: skip
_KEEP_DOUBLE = "lsz"  # "billed" -> "bill", but "shipped" -> "ship"


def lemma(word: str) -> str:
    """The shared stem of an English word: inflections stripped, lower-cased."""
    word = word.lower()
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) >= 5 and word.endswith(("ies", "ied")):
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif len(word) >= 5 and word.endswith("ing"):
        word = _undouble(word[:-3])
    elif len(word) >= 5 and word.endswith("ed"):
        word = _undouble(word[:-2])
    elif len(word) >= 6 and word.endswith("ly"):
        word = word[:-2]
    elif len(word) >= 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    # "charge", "charged" and "charging" all end as "charg".
    if len(word) >= 4 and word.endswith("e"):
        word = word[:-1]
    return word


def _undouble(stem: str) -> str:
    if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiou" + _KEEP_DOUBLE:
        return stem[:-1]
    return stem


def tokens(text: str) -> list[tuple[str, int]]:
    """(lemma, character offset) for each word of the text."""
    return [(lemma(m.group()), m.start()) for m in _TOKEN.finditer(text.lower())]


def _compile(taxonomy: tuple[Topic, ...]) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """First lemma of a term -> [(topic, the term's lemmas)], so matching is one pass over the words."""
    index: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
    for topic in taxonomy:
        for term in topic.terms:
            lemmas = tuple(lemma for lemma, _ in tokens(term))
            if lemmas:
                index[lemmas[0]].append((topic.name, lemmas))
    return dict(index)


_INDEX = _compile(TAXONOMY)


def find_topics(text: str, taxonomy: tuple[Topic, ...] | None = None) -> dict[str, int]:
    """Topics mentioned in a text -> the character offset of their first mention."""
    if taxonomy is None:
        return dict(_find_default(text))
    return _find(text, _compile(taxonomy))


@lru_cache(maxsize=4096)
def _find_default(text: str) -> tuple[tuple[str, int], ...]:
    # The same message is read by the topics, the actions and every agent view until it changes.
    return tuple(_find(text, _INDEX).items())


def _find(text: str, index: dict[str, list[tuple[str, tuple[str, ...]]]]) -> dict[str, int]:
    words = tokens(text)
    lemmas = [lemma for lemma, _ in words]
    found: dict[str, int] = {}
    for position, (word, offset) in enumerate(words):
        for topic, term in index.get(word, ()):
            if topic not in found and tuple(lemmas[position : position + len(term)]) == term:
                found[topic] = offset
    return found


def snippet(text: str, offset: int, width: int = SNIPPET_CHARS) -> str:
    """The words around `offset`, trimmed at word boundaries, with ellipses where cut."""
    start, end = max(0, offset - width), min(len(text), offset + width)
    if start > 0:
        space = text.find(" ", start, offset)
        start = space + 1 if space != -1 else start
    if end < len(text):
        space = text.rfind(" ", offset, end)
        end = space if space > offset else end
    body = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def topic_summary(facts: CustomerFacts, now: datetime, limit: int = 5) -> dict:
    """Top topics of the customer's messages and their pain points, each with a count and an example.

    A count is the number of messages that mention the topic. Pain points are the topics of messages
    whose sentiment is negative (VADER compound <= -0.05). Examples come from the latest message.
    """
    mentions: dict[str, list[dict]] = defaultdict(list)
    for interaction, score in scored_messages(facts, now):
        text = customer_text(interaction) or ""
        for topic, offset in find_topics(text).items():
            mentions[topic].append({"at": interaction.occurred_at, "score": score, "example": snippet(text, offset)})
    topics = [_entry(topic, found) for topic, found in mentions.items()]
    pains = []
    for topic, found in mentions.items():
        negative = [m for m in found if m["score"] <= NEGATIVE]
        if negative:
            entry = _entry(topic, negative)
            entry["sentiment"] = round(sum(m["score"] for m in negative) / len(negative), 3)
            pains.append(entry)
    return {"topics": _rank(topics)[:limit], "pain_points": _rank(pains)[:limit]}


def _entry(topic: str, found: list[dict]) -> dict:
    # `found` is newest first, as the interactions are.
    return {"topic": topic, "count": len(found), "example": found[0]["example"], "last_at": found[0]["at"]}


def _rank(entries: list[dict]) -> list[dict]:
    # Most mentioned first; among equals the most recent, then by name so the order is stable.
    entries.sort(key=lambda e: e["topic"])
    entries.sort(key=lambda e: (e["count"], e["last_at"]), reverse=True)
    return entries
