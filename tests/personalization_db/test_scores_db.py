"""Customer facts from the database, and the journey stage and churn risk stored on every customer."""

from __future__ import annotations

from sqlalchemy import event, select

from crm.columns import utcnow
from crm.extensions import db
from crm.personalization.loader import INTERACTION_LIMIT, load_customer, load_many
from crm.personalization.models import ActionFeedback
from crm.profiles.models import Customer
from crm.segments.models import Segment, SegmentMember

from .feed import ago, customer_id_of, deliver, message, purchase, survey

ANN = {"email": "ann@example.com", "name": "Ann Lee", "attributes": {"first_name": "Ann", "last_name": "Lee"}}
BOB = {"email": "bob@example.com"}


def _customer(email: str) -> Customer:
    return db.session.get(Customer, customer_id_of(email))


def test_a_repeat_buyer_is_stored_as_repeat_with_a_low_churn_risk(app):
    deliver("store", purchase(ANN, ago(40), "TENT"), purchase(ANN, ago(3), "PEGS"))
    ann = _customer("ann@example.com")
    assert ann.journey_stage == "repeat"
    assert 0 < ann.churn_risk < 0.3


def test_a_detractor_with_an_open_complaint_is_stored_at_risk(app):
    deliver("store", purchase(ANN, ago(200), "TENT"))
    deliver("email", message(ANN, ago(2), "My tent arrived broken, this is awful and nobody answers"))
    deliver("email", survey(ANN, ago(1), "nps", 1, "Terrible service"))
    ann = _customer("ann@example.com")
    assert ann.journey_stage == "at risk"
    assert ann.churn_risk >= 0.7


def test_stored_scores_follow_each_new_interaction(app):
    deliver("email", message(BOB, ago(5), "Do you sell tents?"))
    assert _customer("bob@example.com").journey_stage == "awareness"
    deliver("store", purchase(BOB, ago(1), "TENT"))
    assert _customer("bob@example.com").journey_stage == "first purchase"


def test_the_loader_reads_profile_attributes_interactions_cases_segments_and_closed_actions(app):
    deliver("email", message(ANN, ago(3), "Where is my parcel?", thread="t-1"))
    deliver("store", purchase(ANN, ago(2), "TENT"))
    ann = _customer("ann@example.com")
    segment = Segment(name="Campers", rule={})
    db.session.add(segment)
    db.session.flush()
    db.session.add(SegmentMember(segment_id=segment.id, customer_id=ann.id))
    db.session.add(ActionFeedback(customer_id=ann.id, action_key="offer:sku:TENT", status="done", actor="a@x"))
    db.session.commit()

    loaded = load_customer(ann.id)
    facts = loaded.facts
    assert facts.first_name == "Ann" and facts.display_name == "Ann Lee"
    assert [i.type for i in facts.interactions] == ["purchase", "message"]  # newest first
    assert facts.interactions[0].skus == ["TENT"]
    assert [c.subject for c in facts.cases] == ["Where is my parcel?"]
    assert facts.segments == ("Campers",) and loaded.segment_ids == (segment.id,)
    assert facts.done_actions == frozenset({"offer:sku:TENT"})
    assert str(facts.ltv_amount) == "10.00" and facts.orders_count == 1


def test_the_loader_keeps_only_the_latest_interactions(app):
    items = [message(BOB, ago(days=i), f"Message number {i}") for i in range(INTERACTION_LIMIT + 5)]
    deliver("email", *items)
    facts = load_customer(customer_id_of("bob@example.com")).facts
    assert len(facts.interactions) == INTERACTION_LIMIT
    assert facts.interactions[0].text == "Message number 0"


def test_loading_many_customers_costs_the_same_queries_as_loading_one(app):
    people = [{"email": f"p{n}@example.com"} for n in range(12)]
    for who in people:
        deliver("store", purchase(who, ago(5), "TENT"), message(who, ago(1), "Thanks!"))
    customers = list(db.session.scalars(select(Customer)))

    def queries(fn) -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            fn()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    one = queries(lambda: load_many(customers[:2]))
    many = queries(lambda: load_many(customers))
    assert many == one <= 8  # profile tables and the experiments, however many customers
    assert len(load_many(customers)) == 12


def test_rescore_command_recomputes_every_customer_with_a_progress_bar(app):
    deliver("store", purchase(ANN, ago(40), "TENT"), purchase(ANN, ago(3), "PEGS"))
    deliver("email", message(BOB, ago(2), "Hello there"))
    for customer in db.session.scalars(select(Customer)):
        customer.journey_stage, customer.churn_risk = None, None
    db.session.commit()
    versions = {c.id: c.version for c in db.session.scalars(select(Customer))}

    result = app.test_cli_runner().invoke(args=["personalization", "rescore", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "rescored 2 customers, 2 changed" in result.output
    assert "repeat: 1" in result.output and "awareness: 1" in result.output
    db.session.expire_all()
    for customer in db.session.scalars(select(Customer)):
        assert customer.journey_stage is not None and customer.churn_risk is not None
        assert customer.version == versions[customer.id] + 1  # cached agent views are stale now


def test_rescore_command_refuses_a_bad_batch_size_clearly(app):
    result = app.test_cli_runner().invoke(args=["personalization", "rescore", "--batch", "0"])
    assert result.exit_code != 0
    assert "Invalid value for '--batch'" in result.output and "Traceback" not in result.output


def _forget_todays_claim(scores):
    from crm import jobs

    scores._claimed_days.clear()
    conn = jobs.redis_connection()
    if conn is not None:
        conn.delete(scores.claim_key(utcnow().date().isoformat()))


def test_a_customer_gone_silent_is_rescored_lapsed_by_the_daily_job(app, run_jobs):
    from crm.personalization import scores

    deliver("store", purchase(ANN, ago(400), "TENT"), purchase(ANN, ago(300), "PEGS"))
    ann = _customer("ann@example.com")
    ann.journey_stage = "repeat"  # as stored while they were still buying
    db.session.commit()
    _forget_todays_claim(scores)  # a worker ticking earlier in this run may have claimed today already
    assert scores.rescore_daily() == 1
    run_jobs()
    db.session.expire_all()
    assert _customer("ann@example.com").journey_stage == "lapsed"
    assert scores.rescore_daily() == 0  # once a day, however many workers tick
