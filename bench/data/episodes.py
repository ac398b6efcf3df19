"""What one person does, episode by episode: an email thread with replies, a chat, a call with its
outcome, a store visit, a purchase (repeat buyers buy again, complements go together), and the survey
some of them answer afterwards. Each interaction is a dict in the pipeline's shape (canonical fields,
the customer block, normalised identifiers, thread key, sentiment); cases are opened and resolved as the
pipeline would. Pure: a random generator in, dicts out.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache

from crm.demo import catalog, people

SOURCE_IDS = {"email": 1, "chat": 2, "phone": 3, "store": 4}
SOURCE_SLUGS = {"email": "bench-email", "chat": "bench-chat", "phone": "bench-phone", "store": "bench-store"}
# How often each thing happens (measured shares of small retailers' contact logs, rounded).
CALL_OUTCOMES = (("answered", 0.68), ("missed", 0.18), ("voicemail", 0.09), ("busy", 0.05))
SURVEY_RESPONSE_RATE = 0.22  # of purchases and resolved cases, the share whose survey comes back
REPLY_RATE, FOLLOW_UP_RATE, RESOLVED_RATE = 0.85, 0.35, 0.78
COMPLEMENT_RATE, REFUND_RATE = 0.45, 0.04
PAIRS: dict[str, list[str]] = {}
for _a, _b in catalog.PAIRS:
    PAIRS.setdefault(_a, []).append(_b)
PRODUCTS = {p[0]: p for p in catalog.PRODUCTS}


@cache
def sentiment(text: str) -> float:
    from crm.personalization.sentiment import score_text

    return round(score_text(text), 4)


class Episodes:
    """Builds one person's interactions and cases; ids come from the shared counters in `ids`."""

    def __init__(self, rng: random.Random, person, ids: dict[str, int]):
        self.rng, self.p, self.ids = rng, person, ids
        self.rows: list[dict] = []
        self.cases: list[dict] = []
        self.running_call_case: dict | None = None

    def _next(self, kind: str) -> int:
        self.ids[kind] += 1
        return self.ids[kind]

    def _row(self, channel: str, type_: str, direction: str, at: datetime, block: dict, **fields) -> dict:
        iid = self._next("interaction")
        row = {"id": iid, "source_id": SOURCE_IDS[channel], "external_id": f"bench-{iid}", "customer_id": self.p.id,
               "channel": channel, "type": type_, "direction": direction, "occurred_at": at, "subject": None,
               "text": None, "data": {}, "customer_in": block, "identifiers": identifiers(block),
               "thread_key": None, "case_id": None, "sentiment": None}  # fmt: skip
        row.update(fields)
        self.rows.append(row)
        return row

    def _case(self, row: dict, resolve_after_h: float | None) -> dict:
        opened = row["occurred_at"]
        resolved = opened + timedelta(hours=resolve_after_h) if resolve_after_h is not None else None
        case = {"id": self._next("case"), "customer_id": self.p.id, "channel": row["channel"],
                "thread_key": row["thread_key"], "subject": row["subject"] or (row["text"] or "")[:120] or None,
                "status": "resolved" if resolved else "open", "opened_at": opened, "reopened_at": opened,
                "first_response_at": None, "resolved_at": resolved, "resolved_by": "agent@bench.example" if resolved else None,
                "reopen_count": 0, "last_inbound_at": opened, "last_activity_at": resolved or opened,
                "resolution_seconds": (resolved - opened).total_seconds() if resolved else None}  # fmt: skip
        self.cases.append(case)
        row["case_id"] = case["id"]
        return case

    def _attach(self, case: dict, row: dict) -> None:
        row["case_id"], at = case["id"], row["occurred_at"]
        if row["direction"] == "inbound":
            case["last_inbound_at"] = max(case["last_inbound_at"], at)
        elif case["first_response_at"] is None:
            case["first_response_at"] = at
        if case["resolved_at"] is None or at <= case["resolved_at"]:
            case["last_activity_at"] = max(case["last_activity_at"], at)

    def email_thread(self, at: datetime) -> None:
        rng, p = self.rng, self.p
        subject, body = p.topic(rng)
        root = f"<m{self.ids['interaction'] + 1}.{p.id}@mail.bench.example>"
        block = {"email": p.email, "name": p.name}
        first = self._row("email", "message", "inbound", at, block, subject=subject, text=body,
                          data={"message_id": root, "thread_id": root, "from": p.email}, thread_key=f"email:{root}",
                          sentiment=sentiment(body))  # fmt: skip
        resolved_h = rng.uniform(2, 96) if rng.random() < RESOLVED_RATE else None
        case = self._case(first, resolved_h)
        if rng.random() < REPLY_RATE:
            reply_at = at + timedelta(minutes=rng.uniform(10, 1800))
            reply = self._row("email", "message", "outbound", reply_at, block, subject=f"Re: {subject}",
                              text=rng.choice(people.AGENT_REPLIES), thread_key=first["thread_key"],
                              data={"message_id": f"<r{self.ids['interaction'] + 1}@bench.example>", "thread_id": root,
                                    "in_reply_to": root})  # fmt: skip
            self._attach(case, reply)
            if rng.random() < FOLLOW_UP_RATE:
                text = rng.choice(people.PRAISE) if p.mood > 0 else p.topic(rng)[1]
                later = self._row("email", "message", "inbound", reply_at + timedelta(hours=rng.uniform(1, 48)), block,
                                  subject=f"Re: {subject}", text=text, thread_key=first["thread_key"],
                                  data={"message_id": f"<f{self.ids['interaction'] + 1}@mail.bench.example>",
                                        "thread_id": root, "in_reply_to": root}, sentiment=sentiment(text))  # fmt: skip
                self._attach(case, later)
        self._maybe_survey(case)

    def chat(self, at: datetime) -> None:
        rng, p = self.rng, self.p
        opening = p.topic(rng)[1]
        messages = [{"author": "customer", "at": at.isoformat(), "text": opening},
                    {"author": "agent", "at": (at + timedelta(minutes=1)).isoformat(),
                     "text": rng.choice(people.AGENT_REPLIES)}]  # fmt: skip
        if rng.random() < 0.5:
            messages.append({"author": "customer", "at": (at + timedelta(minutes=3)).isoformat(),
                             "text": rng.choice(people.PRAISE)})  # fmt: skip
        block = {"email": p.email} if not p.chat or rng.random() < 0.3 else {"chat_handle": p.chat}
        conv = f"conv-{self.ids['interaction'] + 1}"
        customer_text = " ".join(m["text"] for m in messages if m["author"] == "customer")
        row = self._row("chat", "message", "inbound", at, block, subject="Chat",
                        text="\n".join(m["text"] for m in messages), thread_key=f"chat:{conv}",
                        data={"conversation_id": conv, "messages": messages}, sentiment=sentiment(customer_text))  # fmt: skip
        case = self._case(row, rng.uniform(0.05, 2) if rng.random() < 0.9 else None)
        case["first_response_at"] = at + timedelta(minutes=1)
        self._maybe_survey(case)

    def call(self, at: datetime) -> None:
        rng, p = self.rng, self.p
        outcome = rng.choices([o for o, _ in CALL_OUTCOMES], [w for _, w in CALL_OUTCOMES])[0]
        inbound = rng.random() < 0.75
        duration = {"answered": rng.randint(45, 1500), "voicemail": rng.randint(10, 90)}.get(outcome, 0)
        text = f"Customer called about: {p.topic(rng)[0].lower()}" if outcome == "answered" and inbound else None
        row = self._row("phone", "call", "inbound" if inbound else "outbound", at, {"phone": p.phone_raw},
                        subject="Inbound call" if inbound else "Outbound call", text=text, thread_key="phone:default",
                        data={"call_sid": f"CA{self.ids['interaction'] + 1:032x}", "outcome": outcome,
                              "duration_s": duration})  # fmt: skip
        case = self.running_call_case
        if inbound and (case is None or case["status"] == "resolved"):
            case = self.running_call_case = self._case(row, rng.uniform(0.2, 72) if rng.random() < 0.7 else None)
        elif case is not None and case["status"] == "open":
            self._attach(case, row)

    def visit(self, at: datetime) -> None:
        store = self.rng.choice(catalog.STORES)
        self._row("store", "visit", "inbound", at, self.p.store_block(with_attributes=False),
                  subject=f"Visit to {store[1]}", data={"store_id": store[0], "store_name": store[1]})  # fmt: skip

    def purchase(self, at: datetime) -> None:
        rng, p = self.rng, self.p
        skus = [p.favourite if rng.random() < 0.5 else rng.choice(catalog.PRODUCTS)[0]]
        if skus[0] in PAIRS and rng.random() < COMPLEMENT_RATE:
            skus.append(rng.choice(PAIRS[skus[0]]))
        items = [{"sku": s, "name": PRODUCTS[s][1], "category": PRODUCTS[s][2], "quantity": 1,
                  "unit_price": PRODUCTS[s][3]} for s in dict.fromkeys(skus)]  # fmt: skip
        total = sum(Decimal(i["unit_price"]) for i in items)
        data = {"order_number": f"#{100000 + self.ids['interaction'] + 1}", "currency": "USD", "items": items,
                "total": f"{total:.2f}", "store_id": rng.choice(catalog.STORES)[0]}  # fmt: skip
        self._row("store", "purchase", "inbound", at, p.store_block(with_attributes=True),
                  subject=f"Order {data['order_number']}", data=data)  # fmt: skip
        if rng.random() < REFUND_RATE:
            refund = {**data, "refund": True, "order_number": data["order_number"] + "-R"}
            self._row("store", "purchase", "inbound", at + timedelta(days=rng.uniform(2, 20)),
                      p.store_block(with_attributes=False), subject="Refund", data=refund)  # fmt: skip
        self._maybe_survey(None, at)

    def _maybe_survey(self, case: dict | None, at: datetime | None = None) -> None:
        """The survey sent after a purchase or a resolved case comes back SURVEY_RESPONSE_RATE of the time."""
        rng, p = self.rng, self.p
        after = at or (case or {}).get("resolved_at")
        if after is None or rng.random() >= SURVEY_RESPONSE_RATE:
            return
        kind = "nps" if case is None and rng.random() < 0.7 else rng.choice(("csat", "csat", "ces"))
        lean = p.mood + (0.3 if case is None else -0.1)
        score = {"nps": round(7 + 3 * lean + rng.gauss(0, 1.5)), "csat": round(3.5 + 1.5 * lean + rng.gauss(0, 0.7)),
                 "ces": round(5 - 2 * lean + rng.gauss(0, 1))}[kind]  # fmt: skip
        score = max({"nps": 0, "csat": 1, "ces": 1}[kind], min({"nps": 10, "csat": 5, "ces": 7}[kind], score))
        comment = rng.choice(people.SURVEY_COMMENTS["good" if lean > 0 else "bad"]) if rng.random() < 0.45 else None
        self._row("email", "survey", "inbound", after + timedelta(days=rng.uniform(0.5, 5)), {"email": p.email},
                  subject=f"{kind.upper()} survey", text=comment, data={"kind": kind, "score": score, "comment": comment},
                  sentiment=sentiment(comment) if comment else None)  # fmt: skip


def identifiers(block: dict) -> list[dict]:
    """The customer block's identifiers, normalised as the intake does (E.164, lower-case, namespaced)."""
    out = []
    for field, kind in (("email", "email"), ("phone", "phone"), ("chat_handle", "chat"), ("loyalty_id", "loyalty")):
        raw = block.get(field)
        if raw:
            out.append({"kind": kind, "value": normal_value(kind, raw), "raw": raw, "valid": True, "error": None})
    return out


def normal_value(kind: str, raw: str) -> str:
    if kind == "phone":
        digits = "".join(c for c in raw if c.isdigit())
        return "+" + (digits if digits.startswith("1") and len(digits) == 11 else "1" + digits)
    if kind == "chat":
        return f"{SOURCE_SLUGS['chat']}:{raw.lstrip('@').lower()}"
    return raw.upper() if kind == "loyalty" else raw.lower()
