"""Highlights: the words of a name, identifier or message that matched, marked with <em> in the original
text (accents and case as the customer wrote them), HTML-escaped around the marks.

Computed in Python from the database rows for both backends, so a highlight always shows the current
text and reads the same whichever backend found the hit. Pure.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from crm.search import matching, text
from crm.search.query import ParsedQuery

_WORD = re.compile(r"[^\W_]+")
FRAGMENT_CHARS = 160
MAX_FRAGMENTS = 2
MAX_SCAN_CHARS = 50_000


def _mark(original: str, spans: list[tuple[int, int]]) -> str:
    out, at = [], 0
    for start, end in sorted(spans):
        if start < at:
            continue
        out.append(html.escape(original[at:start]))
        out.append(f"<em>{html.escape(original[start:end])}</em>")
        at = end
    out.append(html.escape(original[at:]))
    return "".join(out)


def _word_spans(original: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), text.fold(m.group())) for m in _WORD.finditer(original)]


def _name_word_matches(word: str, tokens: Sequence[str]) -> bool:
    if not tokens:
        return False
    if word in tokens or word.startswith(tokens[-1]):
        return True
    return any(len(t) >= matching.FUZZY_MIN_LENGTH and matching.within_one_edit(t, word) for t in tokens)


def highlight_name(name: str | None, query: ParsedQuery) -> str | None:
    """The name with the words that matched the query's tokens marked, or None when none did."""
    if not name or query.mode != "text":
        return None
    spans = [(s, e) for s, e, w in _word_spans(name) if _name_word_matches(w, query.tokens)]
    return _mark(name, spans) if spans else None


def identifier_matches(kind: str, value: str, query: ParsedQuery) -> bool:
    """Whether a stored identifier is one the query found (exactly, by its end digits or as part of an email)."""
    folded = text.fold(value)
    if value in query.exact_values or folded in query.exact_values:
        return True
    if kind in ("chat", "external") and text.fold(text.handle_of(value)) in query.handles:
        return True
    if kind == "phone" and query.phone_suffix and text.phone_digits(value).endswith(query.phone_suffix):
        return True
    if kind == "email" and query.email_partial:
        return folded.startswith(query.email_partial) or folded.endswith(query.email_partial)
    return False


def highlight_identifier(kind: str, value: str, query: ParsedQuery) -> str | None:
    return f"<em>{html.escape(value)}</em>" if identifier_matches(kind, value, query) else None


def _text_spans(original: str, query: ParsedQuery) -> list[tuple[int, int]]:
    spans = _word_spans(original[:MAX_SCAN_CHARS])
    found: list[tuple[int, int]] = []
    n = len(query.words)
    if n:
        folded = [w for _, _, w in spans]
        for i in range(len(spans) - n + 1):
            if tuple(folded[i : i + n]) == query.words:
                found.append((spans[i][0], spans[i + n - 1][1]))
    if not found:
        wanted = set(query.words)
        found = [(s, e) for s, e, w in spans if w in wanted]
    return found


def highlight_text(original: str | None, query: ParsedQuery) -> list[str]:
    """Up to two fragments of a message around what matched: the phrase where it occurs, else its words."""
    if not original:
        return []
    spans = _text_spans(original, query)
    fragments: list[str] = []
    covered_until = -1
    for start, end in spans:
        if start < covered_until:
            continue
        lo = max(0, start - FRAGMENT_CHARS // 3)
        hi = min(len(original), max(end, lo + FRAGMENT_CHARS))
        inside = [(s - lo, e - lo) for s, e in spans if s >= lo and e <= hi]
        body = _mark(original[lo:hi], inside)
        fragments.append(("…" if lo > 0 else "") + body + ("…" if hi < len(original) else ""))
        covered_until = hi
        if len(fragments) == MAX_FRAGMENTS:
            break
    return fragments
