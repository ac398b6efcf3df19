from __future__ import annotations

from crm.personalization.sentiment import customer_text, interaction_sentiment, score_text, sentiment_trend

from .builders import NOW, call, chat, customer, message, outbound_email, survey


def test_vader_reads_an_angry_message_as_negative_and_a_happy_one_as_positive():
    assert score_text("This is terrible and I am furious, my order is late again") < -0.5
    assert score_text("Thank you so much, the jacket is perfect and arrived early!") > 0.5


def test_only_the_customers_lines_of_a_chat_are_read():
    transcript = chat([("customer", "My parcel is lost, this is awful"), ("agent", "Wonderful! Great! Happy to help!")])
    assert customer_text(transcript) == "My parcel is lost, this is awful"
    assert interaction_sentiment(transcript) < 0


def test_our_outbound_messages_and_calls_carry_no_customer_sentiment():
    assert interaction_sentiment(outbound_email("We love you, amazing deals!")) is None
    assert interaction_sentiment(call()) is None


def test_a_survey_comment_is_customer_text():
    assert customer_text(survey("nps", 2, comment="  Awful service  ")) == "Awful service"
    assert customer_text(survey("nps", 9)) is None


def test_a_stored_sentiment_is_used_instead_of_recomputing():
    assert interaction_sentiment(message("fine I guess", sentiment=-0.9)) == -0.9


def test_sentiment_worsening_when_the_last_five_messages_turn_negative():
    happy = [message("Thanks, great service, love it", days=60 + n) for n in range(5)]
    angry = [message("This is terrible and I am furious, awful experience", days=1 + n) for n in range(5)]
    trend = sentiment_trend(customer(*happy, *angry), NOW)
    assert trend["direction"] == "worsening"
    assert trend["recent"] < 0 < trend["previous"]
    assert trend["reason"].startswith("worsening: the last 5 messages average -")
    assert [day for day, _ in trend["points"]] == sorted(day for day, _ in trend["points"])


def test_sentiment_improving_when_recent_messages_are_happier():
    angry = [message("Awful, broken, terrible", days=60 + n) for n in range(3)]
    happy = [message("Thank you, that is great, problem solved", days=1 + n) for n in range(5)]
    trend = sentiment_trend(customer(*angry, *happy), NOW)
    assert trend["direction"] == "improving"
    assert trend["recent_count"] == 5 and trend["previous_count"] == 3
    assert "the 3 before -" in trend["reason"]


def test_sentiment_stable_with_a_single_message_and_says_so():
    trend = sentiment_trend(customer(message("Thanks, great help", days=2)), NOW)
    assert trend["direction"] == "stable"
    assert trend["reason"].startswith("one message so far, scoring +")
    assert trend["reason"].endswith("2 days ago")


def test_no_messages_gives_a_neutral_trend_with_a_reason():
    trend = sentiment_trend(customer(outbound_email()), NOW)
    assert trend == {
        "recent": 0.0,
        "previous": 0.0,
        "recent_count": 0,
        "previous_count": 0,
        "points": [],
        "direction": "stable",
        "reason": "no messages written by the customer yet",
    }


def test_messages_after_now_are_ignored():
    future = message("Terrible awful horrible", days=-3)
    assert sentiment_trend(customer(future), NOW)["recent_count"] == 0


def test_a_few_messages_without_an_earlier_set_are_described_as_such():
    facts = customer(message("Awful, broken", days=3), message("Terrible", days=4))
    reason = sentiment_trend(facts, NOW)["reason"]
    assert reason.startswith("only 2 messages so far, averaging -")
    assert reason.endswith("(negative); the latest 3 days ago")
