from __future__ import annotations

from crm.personalization.topics import COMPLAINT_TOPICS, find_topics, lemma, snippet, topic_summary

from .builders import NOW, customer, message, outbound_email, survey


def test_inflections_share_one_lemma():
    assert lemma("delivered") == lemma("delivering") == lemma("deliver")
    assert lemma("charged") == lemma("charges") == lemma("charging") == lemma("charge")
    assert lemma("shipped") == lemma("shipping") == "ship"
    assert lemma("billed") == "bill"
    assert lemma("Refunds") == "refund"


def test_topics_are_found_on_words_and_phrases_in_any_inflection():
    found = find_topics("I was double charged, the parcel never arrived and your agent hung up on me")
    assert set(found) == {"billing", "delivery", "rudeness"}


def test_a_phrase_needs_its_words_in_order():
    assert "sizing" in find_topics("the shoes are too small")
    assert "sizing" not in find_topics("small too, shoes are")


def test_the_example_is_a_snippet_around_the_first_mention():
    text = "Hello. " + "blah " * 30 + "my refund has not come through " + "blah " * 30
    short = snippet(text, text.index("refund"))
    assert "my refund has not come through" in short
    assert short.startswith("…") and short.endswith("…")
    assert len(short) < 140


def test_top_topics_count_messages_and_pain_points_only_negative_ones():
    facts = customer(
        message("Where is my parcel? The delivery is late and this is terrible", days=1),
        message("Delivery was quick, thanks, lovely", days=20),
        message("Do you have a discount code for the jacket?", days=30),
        survey("nps", 3, days=2, comment="Awful: charged twice and nobody answered"),
        outbound_email("Your delivery is on its way"),
    )
    summary = topic_summary(facts, NOW)
    counts = {t["topic"]: t["count"] for t in summary["topics"]}
    assert counts["delivery"] == 2
    assert counts["price"] == 1
    assert summary["topics"][0]["topic"] == "delivery"
    assert summary["topics"][0]["example"].startswith("Where is my parcel?")
    pains = {p["topic"]: p for p in summary["pain_points"]}
    assert set(pains) == {"delivery", "billing", "wait time"}
    assert pains["delivery"]["count"] == 1 and pains["delivery"]["sentiment"] < 0
    assert "terrible" in pains["delivery"]["example"]


def test_questions_about_price_and_stock_are_not_complaints():
    assert {"price", "availability"}.isdisjoint(COMPLAINT_TOPICS)
    assert {"delivery", "refund", "rudeness", "wait time"} <= COMPLAINT_TOPICS
