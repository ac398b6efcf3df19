from __future__ import annotations

from decimal import Decimal

from crm.personalization.context import build_context, contact_hours, outcome, preferred_channel, summary, tenure
from crm.personalization.value import METHOD

from .builders import NOW, ago, call, case, customer, message, outbound_email, purchase, survey


def _at_hour(hour: int, days: int, **kwargs):
    return message("hello", at=ago(days).replace(hour=hour, minute=15), **kwargs)


def test_the_summary_says_who_tier_tenure_channels_most_used_first_last_contact_and_open_cases():
    facts = customer(
        purchase("1500.00", days=800, channel="store"),
        message("Where is my order?", days=4, case_id=9),
        call("answered", days=3),
        ltv=Decimal("1500"),
        cases=(case(9),),
    )
    assert summary(facts, NOW, "gold") == (
        "Ada Lovelace, a gold customer for 2 years 2 months, reaches us by phone, email and store; "
        'last contact 3 days ago by phone: a call, answered. 1 open case: "Where is my order?".'
    )


def test_the_last_contact_on_a_case_names_the_case_and_its_status():
    facts = customer(message("Still waiting", days=1, case_id=9), cases=(case(9, "Late parcel"),))
    assert 'a message from them on "Late parcel" (open). No open cases.' not in summary(facts, NOW, "bronze")
    assert 'last contact 1 day ago by email: a message from them on "Late parcel" (open).' in summary(
        facts, NOW, "bronze"
    )


def test_a_customer_without_interactions_gets_a_summary_too():
    assert summary(customer(), NOW, "bronze") == (
        "Ada Lovelace, a bronze customer for 30 days; no interactions yet. No open cases."
    )


def test_outcomes_read_like_a_person_would_say_them():
    assert outcome(call("missed")) == "a call, missed"
    assert outcome(purchase("30.00", items=[("A", "Mug"), ("B", "Plate")])) == "a purchase of 2 items for USD 30.00"
    assert outcome(purchase("30.00", refund=True)) == "a refund of USD 30.00"
    assert outcome(survey("nps", 9)) == "a NPS answer of 9"
    assert outcome(outbound_email()) == "a message from us"


def test_tenure_in_days_months_and_years():
    assert [tenure(d) for d in (1, 12, 45, 400, 800)] == [
        "1 day",
        "12 days",
        "1 month",
        "1 year 1 month",
        "2 years 2 months",
    ]


def test_preferred_channel_is_where_they_start_contacts_not_where_we_write():
    facts = customer(
        message("a", days=9, channel="chat"),
        message("b", days=8, channel="chat"),
        message("c", days=7),
        *[outbound_email(days=n) for n in range(1, 6)],
    )
    assert preferred_channel(facts, NOW) == {
        "channel": "chat",
        "count": 2,
        "of": 3,
        "reason": "chat: 2 of the 3 contacts they started",
    }


def test_a_tie_between_channels_goes_to_the_latest_used():
    facts = customer(message("a", days=9, channel="chat"), message("b", days=2, channel="email"))
    assert preferred_channel(facts, NOW)["channel"] == "email"


def test_usual_contact_hours_in_utc_without_a_timezone():
    facts = customer(*[_at_hour(9, d) for d in range(2, 6)], *[_at_hour(10, d) for d in range(6, 8)], _at_hour(22, 9))
    hours = contact_hours(facts, NOW)
    assert hours["timezone"] == "UTC"
    assert hours["usual"] == [9, 10]
    assert hours["windows"] == ["09:00-11:00"]
    assert hours["reason"] == "6 of 7 inbound contacts between 09:00-11:00 (UTC)"


def test_usual_contact_hours_follow_the_timezone_attribute():
    facts = customer(*[_at_hour(9, d) for d in range(2, 6)], attributes={"timezone": "Europe/Paris"})
    hours = contact_hours(facts, NOW)
    assert hours["usual"] == [11]  # 09:00 UTC is 11:00 in Paris in summer
    assert hours["timezone"] == "Europe/Paris"


def test_an_unknown_timezone_falls_back_to_utc():
    facts = customer(_at_hour(9, 2), attributes={"custom": {"timezone": "Mars/Olympus"}})
    assert contact_hours(facts, NOW)["timezone"] == "UTC"


def test_build_context_has_every_part_each_with_its_reason():
    facts = customer(
        purchase("80.00", days=200),
        purchase("40.00", days=100),
        message("My parcel is late and this is terrible", days=95, case_id=1),
        survey("nps", 3, days=94, comment="awful delivery"),
        cases=(case(1, opened_days=95),),
    )
    context = build_context(facts, NOW)
    assert set(context) == {
        "summary", "journey", "sentiment", "topics", "pain_points", "preferred_channel", "contact_hours", "churn",
        "value",
    }  # fmt: skip
    assert context["journey"]["stage"] == "at risk"
    assert context["journey"]["reason"].startswith("at risk: ")
    assert context["topics"][0]["topic"] == "delivery"
    assert context["pain_points"][0]["topic"] == "delivery"
    assert len(context["churn"]["factors"]) == 3
    assert context["churn"]["factors"][0]["text"] == "no contact for 94 days"
    assert context["churn"]["risk"] > 0.9
    assert context["value"]["method"] == METHOD
    assert context["value"]["historical"] == {"USD": Decimal("120.00")}
    assert context["summary"].startswith("Ada Lovelace, a bronze customer for 6 months")
