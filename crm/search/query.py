"""What the search box was given: the raw text read as identifiers, order numbers, names and phrases,
plus the filters and the page. Both backends take a SearchRequest and answer a SearchPage.

`parse` decides once, in Python, what the text can be (a full email, a phone in some format, an order
number, a partial name...), so that Elasticsearch and SQL are asked the same questions. Pure: the
phone region and the plus-tag rule are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crm.profiles.identifiers import InvalidIdentifier, normalise_email, normalise_loyalty_id, normalise_phone
from crm.search import text

SCOPES = ("all", "customers", "interactions")
MAX_WINDOW = 1000  # page * per_page: deeper than this is a refinement problem, not a paging one


@dataclass(frozen=True)
class ParsedQuery:
    raw: str
    mode: str  # 'email' (the text is an address), 'phone' (digits and separators) or 'text'
    tokens: tuple[str, ...]  # folded name tokens, for the name clauses
    words: tuple[str, ...]  # folded words, for subjects and message text
    exact_values: tuple[str, ...]  # identifier values the text may be exactly (normalised per kind)
    handles: tuple[str, ...]  # a chat handle or provider id without its namespace ('@ann' -> 'ann')
    email_partial: str | None  # the start or the end of an email address
    phone_suffix: str | None  # digits the end of a phone number must equal
    order_number: str | None

    @property
    def phrase(self) -> str:
        return " ".join(self.words)


def _try(fn, *args, **kwargs) -> str | None:
    try:
        return fn(*args, **kwargs)
    except (InvalidIdentifier, ValueError):
        return None


def parse(raw: str, *, default_region: str = "US", strip_plus_tags: bool = False) -> ParsedQuery:
    q = " ".join(raw.split())
    folded = text.fold(q)
    no_space = " " not in q
    exact: list[str | None] = [q, folded]
    handles: list[str] = []
    email_partial = phone_suffix = order_number = None
    if no_space and "@" in q and not q.startswith("@"):
        mode = "email"
        exact.append(_try(normalise_email, q, strip_plus_tags=strip_plus_tags))
    elif text.looks_like_phone(q):
        mode = "phone"
        exact.append(_try(normalise_phone, q, default_region=default_region))
        phone_suffix = text.phone_digits(q)
    else:
        mode = "text"
    if no_space and len(folded) >= 3 and ("@" in folded or "." in folded):
        email_partial = folded
    if no_space and mode != "email":
        exact.append(_try(normalise_loyalty_id, q))
        handle = folded.lstrip("@")
        if handle:
            handles.append(handle)
    if text.looks_like_order_number(q):
        order_number = text.normalise_order_number(q)
    return ParsedQuery(
        raw=q,
        mode=mode,
        # Plain words: documents index names with and without apostrophes and hyphens, so "O'Brien"
        # (o, brien) and "OBrien" (obrien) both find O'Brien-Smith without the query doing it twice.
        tokens=tuple(text.words(q)),
        words=tuple(text.words(q)),
        exact_values=tuple(text.unique(exact)),
        handles=tuple(text.unique(handles)),
        email_partial=email_partial,
        phone_suffix=phone_suffix,
        order_number=order_number,
    )


@dataclass
class SearchRequest:
    query: ParsedQuery
    scope: str = "all"
    channels: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    segment_id: int | None = None
    page: int = 1
    per_page: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def wants(self, entity: str) -> bool:
        return self.scope == "all" or self.scope == f"{entity}s"


@dataclass(frozen=True)
class Hit:
    entity: str  # 'customer' | 'interaction'
    id: int
    score: float
    activity_at: datetime | None


@dataclass
class SearchPage:
    hits: list[Hit]
    totals: dict[str, int]  # matches per entity, over every page
    backend: str
    notes: list[str] = field(default_factory=list)  # anything the answer left out, in words
