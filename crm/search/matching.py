"""How well a document matches, in tiers: the ranking both backends share.

Scores are tiers, not term statistics: an exact identifier beats an order number, which beats the end
of a phone number, a partial email, a full name, a partial name, a name with one typo. Within a tier
every match is as good as any other, so ties are real and are broken by recent activity.

Elasticsearch expresses each tier as a constant-score clause (es_query.py); the SQL backend finds
candidates with LIKE and grades them here, with the same rules: a token matches exactly, as a prefix
(the last token only, as `match_bool_prefix` does), or within one edit (transpositions count as one,
tokens of three characters or more, as fuzziness AUTO:3,100 does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# Customers
IDENTIFIER = 100.0
ORDER_NUMBER = 90.0
PHONE_SUFFIX = 80.0
EMAIL_PARTIAL = 60.0
NAME_EXACT = 40.0
NAME_PREFIX = 30.0
IDENTIFIER_WORDS = 20.0
NAME_FUZZY = 15.0
# Interactions
INTERACTION_ORDER = 90.0
PHRASE = 30.0
ALL_WORDS = 15.0

FUZZY_MIN_LENGTH = 3
FUZZINESS = f"AUTO:{FUZZY_MIN_LENGTH},100"
MAX_EXPANSIONS = 100


def within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein (optimal string alignment) distance of at most one."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True  # one substitution
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    if la > lb:
        return a[i + 1 :] == b[i:]
    return a[i:] == b[i + 1 :]


def _fuzzy_hit(token: str, doc_tokens: Iterable[str]) -> bool:
    if len(token) < FUZZY_MIN_LENGTH:
        return token in doc_tokens
    return any(within_one_edit(token, t) for t in doc_tokens)


def _prefix_hit(token: str, doc_tokens: Iterable[str]) -> bool:
    return any(t.startswith(token) for t in doc_tokens)


def name_tier(query_tokens: Sequence[str], doc_tokens: Iterable[str]) -> float | None:
    """The name tier of a customer for the query's tokens (every token must match), or None."""
    if not query_tokens:
        return None
    doc = set(doc_tokens)
    if not doc:
        return None
    head, last = query_tokens[:-1], query_tokens[-1]
    if all(t in doc for t in query_tokens):
        return NAME_EXACT
    if all(t in doc for t in head) and _prefix_hit(last, doc):
        return NAME_PREFIX
    fuzzy_head = all(_fuzzy_hit(t, doc) for t in head)
    if fuzzy_head and (_prefix_hit(last, doc) or _fuzzy_hit(last, doc)):
        return NAME_FUZZY
    return None


def words_tier(query_words: Sequence[str], doc_words: Iterable[str]) -> float | None:
    doc = set(doc_words)
    return IDENTIFIER_WORDS if query_words and all(w in doc for w in query_words) else None


def contains_phrase(query_words: Sequence[str], doc_words: Sequence[str]) -> bool:
    n = len(query_words)
    if n == 0 or n > len(doc_words):
        return False
    first = query_words[0]
    return any(
        doc_words[i] == first and tuple(doc_words[i : i + n]) == tuple(query_words)
        for i in range(len(doc_words) - n + 1)
    )


def text_tier(query_words: Sequence[str], subject_words: Sequence[str], text_words: Sequence[str]) -> float | None:
    """An interaction's tier for message text: the phrase in the subject or the text, or all its words."""
    if not query_words:
        return None
    if contains_phrase(query_words, subject_words) or contains_phrase(query_words, text_words):
        return PHRASE
    every = set(subject_words) | set(text_words)
    return ALL_WORDS if all(w in every for w in query_words) else None
