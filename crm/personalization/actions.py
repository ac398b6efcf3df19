"""Next best actions: rules kept as data, each turning a situation into an action with its reason.

A rule finds zero or more situations (one per overdue case, one per product asked about...); each
gives an action whose key is stable for that situation ("follow_up:case:42"), so once an agent marks
it done or dismisses it (facts.done_actions) it never comes back, while a new situation (another
case, a new detractor answer) gets a new key and a new action.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crm.personalization.facts import CustomerFacts, InteractionFact, days_between
from crm.personalization.sentiment import NEGATIVE, customer_text, interaction_sentiment
from crm.personalization.topics import COMPLAINT_TOPICS, find_topics
from crm.personalization.value import TIER_RANK, customer_value

SLA_HOURS = 24
COMPLAINT_WINDOW_DAYS = 14  # "3 unresolved complaints in 14 days"
DETRACTOR_NPS = 6
PROMOTER_NPS = 9
CHECK_IN_TIER = "gold"  # this tier and above
CHECK_IN_SILENT_DAYS = 60
OFFER_AFTER_DAYS = 14  # asked about a product and did not buy it within this many days
OFFER_LOOKBACK_DAYS = 60  # interest older than this has gone cold
MAX_OFFERS = 3


_WORD = re.compile(r"[a-z0-9]+")


class Catalogue:
    """Finds products named in a text, by sku or by name, in one pass over the text's words.

    Build it once and pass it for many customers; a plain {sku: name} mapping is turned into one per call.
    """

    def __init__(self, products: Mapping[str, str]):
        self.names = {str(sku): name for sku, name in products.items()}
        self._index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for sku, name in self.names.items():
            # "Energy gels (12)" is asked about as "energy gels": the name without its brackets counts too.
            for term in dict.fromkeys((sku, name or "", re.sub(r"\(.*?\)", " ", name or ""))):
                words = tuple(_WORD.findall(term.lower()))
                # A one-letter sku or name would match every "a" in every message.
                if words and len("".join(words)) >= 3:
                    self._index.setdefault(words[0], []).append((words, sku))

    def find(self, text: str) -> list[str]:
        """Skus named in the text, in the order they first appear."""
        words = _WORD.findall(text.lower())
        found: dict[str, None] = {}
        for position, word in enumerate(words):
            for term, sku in self._index.get(word, ()):
                if tuple(words[position : position + len(term)]) == term:
                    found.setdefault(sku)
        return list(found)


@dataclass(frozen=True)
class Situation:
    """Everything a rule may read, computed once."""

    facts: CustomerFacts
    now: datetime
    sla_hours: float = SLA_HOURS
    catalogue: Catalogue = field(default_factory=lambda: Catalogue({}), hash=False)
    tier: str = "bronze"
    ltv: str = ""  # the lifetime value as shown, e.g. "USD 1,240.00"


@dataclass(frozen=True)
class ActionRule:
    rule: str
    key: str  # templates below are formatted with each situation the rule finds
    priority: int
    title: str
    reason: str
    find: Callable[[Situation], list[dict]]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _ago(then: datetime, now: datetime) -> str:
    days = days_between(then, now)
    return "today" if days == 0 else f"{_plural(days, 'day')} ago"


def _waited(hours: float) -> str:
    return f"{int(hours)} hours" if hours < 72 else f"{int(hours // 24)} days"


def _case_complaint(facts: CustomerFacts, case_id: int, subject: str | None) -> tuple[list[str], float | None]:
    """(complaint topics, lowest sentiment) of the customer's messages on a case."""
    topics = {t for t in find_topics(subject or "") if t in COMPLAINT_TOPICS}
    scores = []
    for interaction in facts.interactions:
        if interaction.case_id != case_id:
            continue
        topics.update(t for t in find_topics(customer_text(interaction) or "") if t in COMPLAINT_TOPICS)
        score = interaction_sentiment(interaction)
        if score is not None:
            scores.append(score)
    return sorted(topics), (min(scores) if scores else None)


def _last_inbound(facts: CustomerFacts, case) -> datetime:
    if case.last_inbound_at is not None:
        return case.last_inbound_at
    mine = [i.occurred_at for i in facts.interactions if i.case_id == case.id and i.inbound]
    return max(mine) if mine else case.opened_at


def find_overdue_complaints(s: Situation) -> list[dict]:
    """Open cases that are complaints (negative or a complaint topic) waiting longer than the SLA."""
    complaints = []
    for case in s.facts.cases:
        if not case.is_open:
            continue
        topics, lowest = _case_complaint(s.facts, case.id, case.subject)
        negative = lowest is not None and lowest <= NEGATIVE
        if topics or negative:
            complaints.append((case, topics, lowest if negative else None))
    window_start = s.now - timedelta(days=COMPLAINT_WINDOW_DAYS)
    recent = sum(1 for case, _, _ in complaints if case.opened_at >= window_start)
    found = []
    for case, topics, lowest in complaints:
        waited = (s.now - _last_inbound(s.facts, case)).total_seconds() / 3600
        if waited <= s.sla_hours:
            continue
        why = [f"about {', '.join(topics)}"] if topics else []
        why += [f"negative ({lowest:+.2f})"] if lowest is not None else []
        also = f"; {recent} unresolved complaints in {COMPLAINT_WINDOW_DAYS} days" if recent > 1 else ""
        found.append(
            {
                "case_id": case.id,
                "subject": case.subject or f"case {case.id}",
                "detail": f"{_waited(waited)} since their last message (SLA {s.sla_hours:g} hours), "
                f"{' and '.join(why)}{also}",
            }
        )
    return found


def _survey_ref(survey: InteractionFact | None) -> str:
    return str(survey.id) if survey is not None else "latest"


def _survey_when(survey: InteractionFact | None, now: datetime) -> str:
    if survey is None:
        return ""
    comment = (survey.data.get("comment") or "").strip()
    quoted = f': "{comment[:80]}{"…" if len(comment) > 80 else ""}"' if comment else ""
    return f" {_ago(survey.occurred_at, now)}{quoted}"


def find_detractor(s: Situation) -> list[dict]:
    latest = s.facts.latest_survey("nps")
    if latest is None or latest[0] > DETRACTOR_NPS:
        return []
    score, survey = latest
    return [{"ref": _survey_ref(survey), "score": f"{score:g}", "when": _survey_when(survey, s.now)}]


def find_promoter(s: Situation) -> list[dict]:
    latest = s.facts.latest_survey("nps")
    # Asking for a review while a case is open would be tone-deaf; it waits until the case closes.
    if latest is None or latest[0] < PROMOTER_NPS or s.facts.open_case_count:
        return []
    score, survey = latest
    purchases = s.facts.purchase_count
    bought = f", {_plural(purchases, 'purchase')}" if purchases else ""
    return [{"ref": _survey_ref(survey), "score": f"{score:g}", "when": _survey_when(survey, s.now) + bought}]


def find_silent_high_value(s: Situation) -> list[dict]:
    if TIER_RANK.get(s.tier, 0) < TIER_RANK[CHECK_IN_TIER]:
        return []
    last = s.facts.last_customer_contact(s.now) or s.facts.since
    if last is None or days_between(last, s.now) < CHECK_IN_SILENT_DAYS:
        return []
    # Keyed by the last contact: the same silence is one action; silent again later is a new one.
    return [{"since": last.date().isoformat(), "days": days_between(last, s.now), "tier": s.tier, "ltv": s.ltv}]


def _interest(s: Situation) -> dict[str, InteractionFact]:
    """sku -> the latest interaction showing interest in it: a message naming it, or a visit to it."""
    oldest = s.now - timedelta(days=OFFER_LOOKBACK_DAYS + 1)
    latest: dict[str, InteractionFact] = {}
    for interaction in s.facts.interactions:  # newest first: the first seen per sku is the latest
        if interaction.occurred_at < oldest:
            break
        if interaction.occurred_at > s.now:
            continue
        if interaction.type == "visit":
            skus = list(interaction.skus) + ([str(interaction.data["sku"])] if interaction.data.get("sku") else [])
        elif interaction.type == "message":
            skus = s.catalogue.find(customer_text(interaction) or "")
        else:
            continue
        for sku in skus:
            latest.setdefault(sku, interaction)
    return latest


def find_unbought_interest(s: Situation) -> list[dict]:
    """Products asked about or visited OFFER_AFTER_DAYS+ ago (within the lookback) and not bought since."""
    found = []
    for sku, shown in _interest(s).items():
        age = days_between(shown.occurred_at, s.now)
        if not OFFER_AFTER_DAYS <= age <= OFFER_LOOKBACK_DAYS:
            continue
        if any(sku in p.skus and p.occurred_at >= shown.occurred_at for p in s.facts.purchases):
            continue
        name = s.catalogue.names.get(sku) or _item_name(shown, sku) or sku
        how = "visited" if shown.type == "visit" else f"asked about by {shown.channel}"
        found.append({"sku": sku, "name": name, "how": how, "days": age})
    return found[:MAX_OFFERS]


def _item_name(interaction: InteractionFact, sku: str) -> str | None:
    return next(
        (str(item.get("name")) for item in interaction.items if item.get("sku") == sku and item.get("name")), None
    )


def find_experiments(s: Situation) -> list[dict]:
    # A control group carries no action text: it gets nothing, which is the point of a control.
    return [
        {"experiment": name, "variant": variant, "action": action}
        for name, variant, action in s.facts.experiments
        if action
    ]


RULES: tuple[ActionRule, ...] = (
    ActionRule(
        "follow_up_complaint", "follow_up:case:{case_id}", 90,
        'Follow up on "{subject}"', "unresolved complaint, {detail}", find_overdue_complaints,
    ),
    ActionRule(
        "detractor_callback", "callback:nps:{ref}", 80,
        "Call back: detractor", "detractor: NPS {score}{when}", find_detractor,
    ),
    ActionRule(
        "silent_high_value_check_in", "check_in:{since}", 60,
        "Check in: {tier} customer gone quiet", "{tier} customer ({ltv}) silent for {days} days", find_silent_high_value,
    ),
    ActionRule(
        "offer_unbought_product", "offer:sku:{sku}", 50,
        "Offer {name}", "{how} {days} days ago and not bought since ({name}, {sku})", find_unbought_interest,
    ),
    ActionRule(
        "experiment_treatment", "experiment:{experiment}:{variant}", 40,
        "{action}", 'experiment "{experiment}", variant "{variant}"', find_experiments,
    ),
    ActionRule(
        "promoter_review", "review:nps:{ref}", 30,
        "Ask for a review or a referral", "promoter: NPS {score}{when}", find_promoter,
    ),
)  # fmt: skip


def next_best_actions(
    facts: CustomerFacts,
    now: datetime,
    sla_hours: float = SLA_HOURS,
    catalogue: Catalogue | Mapping[str, str] | None = None,
    value: dict | None = None,
    rules: tuple[ActionRule, ...] = RULES,
) -> list[dict]:
    """Actions ranked by priority, each {key, title, reason, priority, rule}; done or dismissed keys left out.

    catalogue: the products an inbound message may name ({sku: name} or a prebuilt Catalogue); `value`:
    customer_value()'s result when the caller has it (the context does), saving a recompute.
    """
    value = value if value is not None else customer_value(facts, now)
    situation = Situation(
        facts=facts,
        now=now,
        sla_hours=sla_hours,
        catalogue=catalogue if isinstance(catalogue, Catalogue) else Catalogue(catalogue or {}),
        tier=value["tier"],
        ltv=f"{value['base_currency']} {value['historical_base']:,}",
    )
    actions = []
    for order, rule in enumerate(rules):
        for match in rule.find(situation):
            key = rule.key.format(**match)
            if key in facts.done_actions:
                continue
            action = {
                "key": key,
                "title": rule.title.format(**match),
                "reason": rule.reason.format(**match),
                "priority": rule.priority,
                "rule": rule.rule,
            }
            actions.append((-rule.priority, order, key, action))
    return [action for *_, action in sorted(actions, key=lambda entry: entry[:3])]
