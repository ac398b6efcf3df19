"""How values read on a page: dates, money, scores, channel names. Jinja filters, pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from crm.web import bp

CHANNEL_LABELS = {"email": "Email", "chat": "Chat", "phone": "Phone", "store": "Store", "internal": "Agent"}
TYPE_LABELS = {
    "message": "Message",
    "call": "Call",
    "visit": "Store visit",
    "purchase": "Purchase",
    "survey": "Survey",
    "note": "Note",
}


def when(value: datetime | str | None) -> str:
    """'30 Nov 2026, 14:05 UTC' (the server's clock is UTC; the page says so)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%-d %b %Y, %H:%M UTC")


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """'5 minutes ago', '3 days ago', 'in 2 hours'."""
    if value is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = (now - value).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            text = f"{count} {unit}{'s' * (count != 1)}"
            return f"in {text}" if future else f"{text} ago"
    return "just now"


def money(amount: object, currency: str | None = None) -> str:
    """'USD 1,234.50'; amounts come as strings or numbers from the JSON columns."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    text = f"{value:,.2f}"
    return f"{currency} {text}" if currency else text


def money_map(amounts: dict | None) -> str:
    """{'USD': '12.00', 'EUR': '3.50'} → 'USD 12.00 · EUR 3.50'."""
    if not amounts:
        return "—"
    return " · ".join(money(v, k) for k, v in sorted(amounts.items()))


def number(value: object) -> str:
    """9.0 → '9', 2.5 → '2.5': quantities and scores as people write them."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{as_float:.0f}" if as_float.is_integer() else f"{as_float:g}"


def percent(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def duration(seconds: float | int | None) -> str:
    """'4 min 05 s', '2 h 10 min', '3 d 4 h'."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def split_quoted(text: str | None) -> tuple[str, str]:
    """An email's own words and the quoted history under them ('> ...' lines, or from 'On ... wrote:').

    The timeline shows the first and folds the second, so a long thread reads one message at a time.
    """
    if not text:
        return "", ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        starts_quote = stripped.startswith(">") or (stripped.startswith("On ") and stripped.endswith("wrote:"))
        if starts_quote and any(rest.strip() for rest in lines[i:]) and i > 0:
            return "\n".join(lines[:i]).rstrip(), "\n".join(lines[i:]).strip()
    return text, ""


def nps_category(score: int | None) -> str | None:
    if score is None:
        return None
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def risk_level(risk: float | None) -> str | None:
    if risk is None:
        return None
    return "high" if risk >= 0.6 else "medium" if risk >= 0.3 else "low"


for _name, _fn in {
    "when": when,
    "ago": ago,
    "money": money,
    "money_map": money_map,
    "percent": percent,
    "number": number,
    "split_quoted": split_quoted,
    "duration": duration,
    "nps_category": nps_category,
    "risk_level": risk_level,
    "channel_label": lambda c: CHANNEL_LABELS.get(c, (c or "").capitalize()),
    "type_label": lambda t: TYPE_LABELS.get(t, (t or "").capitalize()),
}.items():
    bp.add_app_template_filter(_fn, _name)
