"""Assignment through the database: once per customer, at the right moment, kept when they leave."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.experiments.assignment import assign_members, assign_on_entry, treatments_for
from crm.experiments.jobs import sweep_experiments
from crm.experiments.models import Experiment, ExperimentAssignment
from crm.experiments.split import assign
from crm.extensions import db
from crm.profiles.models import Customer
from crm.segments.membership import refresh_segment
from crm.segments.models import SegmentEvent, SegmentMember
from tests.conftest import wait_for
from tests.experiments import records
from tests.factories import make_source
from tests.segments.builders import deliver, message


def test_members_at_the_start_are_assigned_once_with_their_time(app):
    segment = records.static_segment()
    ids = records.customers(30)
    records.add_members(segment, ids)
    exp = records.experiment(segment, start=True)
    before = records.now()
    assert assign_members(exp.id) == 30
    assert assign_members(exp.id) == 0  # idempotent: a second run finds no one new
    rows = records.assignments(exp.id)
    assert sorted(rows) == ids
    assert all(
        r.cause == "sweep" and before - timedelta(seconds=5) <= r.assigned_at <= records.now() for r in rows.values()
    )
    # The stored variant is what any process computes from the key and the id.
    assert all(r.variant == assign(exp.key, r.customer_id, exp.shares())[0] for r in rows.values())


def test_the_realized_split_of_10000_assigned_customers_is_within_2_points_of_the_shares(app):
    segment = records.static_segment()
    ids = records.customers(10_000)
    records.add_members(segment, ids)
    variants = [
        {"name": "control", "share": 20},
        {"name": "call", "share": 30, "action": "Call to check in"},
        {"name": "discount", "share": 50, "action": "Offer 10 % off the next order"},
    ]
    exp = records.experiment(segment, start=True, variants=variants)
    assert assign_members(exp.id) == 10_000
    counts = records.variant_counts(exp.id)
    assert sum(counts.values()) == 10_000
    for variant in variants:
        assert abs(100 * counts[variant["name"]] / 10_000 - variant["share"]) <= 2, counts


def test_a_customer_entering_the_segment_while_it_runs_is_assigned_in_the_same_job(app, client, run_jobs):
    source = make_source()
    segment = records.dynamic_segment({"condition": "profile", "field": "interaction_count", "op": "gte", "value": 1})
    exp = records.experiment(segment, start=True)
    ids = deliver(client, source, run_jobs, message("ann@example.com"))
    db.session.expire_all()
    customer = db.session.scalar(select(Customer).join(SegmentMember, SegmentMember.customer_id == Customer.id))
    row = records.assignments(exp.id)[customer.id]
    assert row.cause == "realtime" and row.interaction_id == ids[0]
    assert row.variant == assign(exp.key, customer.id, exp.shares())[0]


def test_a_customer_who_leaves_the_segment_keeps_their_variant(app, client, run_jobs):
    source = make_source()
    segment = records.dynamic_segment({"condition": "profile", "field": "interaction_count", "op": "lte", "value": 1})
    exp = records.experiment(segment, start=True)
    deliver(client, source, run_jobs, message("bo@example.com", days=2))
    first = records.assignments(exp.id)
    assert len(first) == 1
    ((customer_id, row),) = first.items()
    deliver(client, source, run_jobs, message("bo@example.com", days=1))
    db.session.expire_all()
    events = db.session.scalars(select(SegmentEvent.event).where(SegmentEvent.customer_id == customer_id)).all()
    assert events == ["enter", "leave"]
    after = records.assignments(exp.id)
    assert list(after) == [customer_id]
    assert (after[customer_id].variant, after[customer_id].assigned_at) == (row.variant, row.assigned_at)


def test_only_entrants_are_assigned_when_the_experiment_leaves_existing_members_out(app):
    segment = records.static_segment()
    old, new = records.customers(5), records.customers(5)
    records.add_members(segment, old, entered_at=records.now() - timedelta(days=3))
    exp = records.experiment(segment, start=True, assign_existing=False)
    records.add_members(segment, new)
    assert assign_members(exp.id) == 5
    assert sorted(records.assignments(exp.id)) == new


def test_a_stopped_experiment_assigns_no_one_and_its_treatment_goes(app):
    segment = records.static_segment()
    first, later = records.customers(20), records.customers(20)
    records.add_members(segment, first)
    exp = records.experiment(segment, start=True)
    assign_members(exp.id)
    treated = next(cid for cid, r in records.assignments(exp.id).items() if r.variant == "treatment")
    assert treatments_for(treated) == ((exp.name, "treatment", "Call to check in and offer help"),)
    from crm.experiments.lifecycle import stop_experiment

    stop_experiment(db.session.get(Experiment, exp.id), "test")
    db.session.commit()
    records.add_members(segment, later)
    assert assign_members(exp.id) == 0
    assert treatments_for(treated) == ()
    assert len(records.assignments(exp.id)) == 20


def test_the_periodic_job_ends_an_experiment_past_its_end(app):
    segment = records.static_segment()
    records.add_members(segment, records.customers(3))
    exp = records.experiment(segment, start=True)
    db.session.get(Experiment, exp.id).ends_at = records.now() - timedelta(seconds=1)
    db.session.commit()
    assert sweep_experiments() == 0
    db.session.expire_all()
    assert db.session.get(Experiment, exp.id).status == "ended"
    assert records.assignments(exp.id) == {}


def test_entrants_from_a_scheduled_refresh_are_assigned_by_the_periodic_job(app, client, run_jobs):
    source = make_source()
    deliver(client, source, run_jobs, message("cy@example.com"), message("di@example.com"))
    # The segment is created after the interactions: only its refresh (not an interaction) adds them.
    segment = records.dynamic_segment({"condition": "profile", "field": "interaction_count", "op": "gte", "value": 1})
    exp = records.experiment(segment, start=True, assign_existing=False)
    assert refresh_segment(segment.id)["entered"] == 2
    assert sweep_experiments() == 2
    assert len(records.assignments(exp.id)) == 2
    assert sweep_experiments() == 0


def test_a_control_customer_has_no_treatment_to_show(app):
    segment = records.static_segment()
    records.add_members(segment, records.customers(40))
    exp = records.experiment(segment, start=True)
    assign_members(exp.id)
    rows = records.assignments(exp.id)
    for customer_id, row in rows.items():
        shown = treatments_for(customer_id)
        if row.variant == "control":
            assert shown == ((exp.name, "control", None),)
        else:
            assert shown == ((exp.name, "treatment", "Call to check in and offer help"),)


def test_an_assignment_gives_the_customer_a_new_version(app):
    segment = records.static_segment()
    (cid,) = records.customers(1)
    records.add_members(segment, [cid])
    version = db.session.get(Customer, cid).version
    exp = records.experiment(segment, start=True)
    assign_members(exp.id)
    db.session.expire_all()
    assert db.session.get(Customer, cid).version == version + 1
    assert assign_on_entry(db.session.get(Customer, cid)) == 0


@pytest.mark.services
def test_two_workers_assigning_the_same_customers_at_once_make_one_row_each(app):
    segment = records.static_segment()
    ids = records.customers(300)
    records.add_members(segment, ids)
    experiment_id = records.experiment(segment, start=True).id
    barrier, made = threading.Barrier(4), []

    def worker():
        with app.app_context():
            barrier.wait()
            made.append(assign_members(experiment_id))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(made) == 4 and sum(made) == 300
    assert len(records.assignments(experiment_id)) == 300


@pytest.mark.services
def test_worker_processes_assign_what_this_process_computes_across_a_restart(app, worker_process):
    segment = records.static_segment()
    first = records.customers(200)
    records.add_members(segment, first)
    exp = records.experiment(segment, start=True)
    worker = worker_process()
    wait_for(lambda: len(records.assignments(exp.id)) == 200, 60, message="the worker's periodic sweep to assign 200")
    worker.kill(9)
    later = records.customers(200)
    records.add_members(segment, later)
    worker_process()  # a fresh process: a new interpreter, another hash seed
    wait_for(lambda: len(records.assignments(exp.id)) == 400, 60, message="a restarted worker to assign the next 200")
    rows = records.assignments(exp.id)
    assert all(r.variant == assign(exp.key, cid, exp.shares())[0] for cid, r in rows.items())
    assert db.session.scalar(select(ExperimentAssignment.id).where(ExperimentAssignment.cause != "sweep")) is None


def test_a_merged_customer_keeps_their_variant_and_their_history_counts_for_it(app):
    from crm.experiments.observations import load_observations
    from crm.profiles.merge import merge_customers

    source = make_source(channel="store")
    segment = records.static_segment()
    assigned_id, survivor_id = records.customers(2)
    records.add_members(segment, [assigned_id])
    exp = records.experiment(segment, start=True)
    assign_members(exp.id)
    records.backdate(exp.id, days=20)
    (row,) = records.assignments(exp.id).values()
    merge_customers(
        db.session.get(Customer, survivor_id),
        db.session.get(Customer, assigned_id),
        identifier=None,
        interaction_id=None,
        actor="test",
        reason="manual",
    )
    db.session.commit()
    records.history(source, [{"customer_id": survivor_id, "channel": "store", "type": "purchase",
                              "occurred_at": row.assigned_at + timedelta(days=1), "data": {"total": "9.00"}}])  # fmt: skip
    (seen,) = load_observations(db.session.get(Experiment, exp.id))
    assert (seen.customer_id, seen.variant) == (survivor_id, row.variant)
    assert [i.type for i in seen.interactions] == ["purchase"]
    assert treatments_for(survivor_id)[0][:2] == (exp.name, row.variant)
