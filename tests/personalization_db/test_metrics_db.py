"""The CX metrics API, every figure checked against plain Python over the rows the test inserted."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from crm.extensions import db
from crm.profiles.models import Case
from crm.segments.models import Segment, SegmentMember
from tests.factories import auth, make_user

from .feed import customer_id_of, deliver, purchase, survey

TODAY = datetime.now(UTC).date()
SINCE, UNTIL = TODAY - timedelta(days=120), TODAY - timedelta(days=30)
WINDOW = 20  # churn window: [UNTIL, UNTIL + 20 days) has passed, so the rate is complete
CHANNELS = ("email", "chat", "store")


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 15, tzinfo=UTC)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


class Shop:
    """Deterministic customers, surveys, purchases and cases, remembered as plain rows for the expectations."""

    def __init__(self, seed: int = 5, people: int = 24):
        rng = random.Random(seed)
        self.events: list[dict] = []  # every interaction: email, channel, at, and the survey or purchase
        self.segments: dict[str, set[str]] = {"Campers": set(), "VIP": set()}
        self.cases: list[dict] = []
        for n in range(people):
            email = f"c{n}@example.com"
            for _ in range(rng.randint(1, 6)):
                day = TODAY - timedelta(days=rng.randint(1, 140))
                channel = rng.choice(CHANNELS)
                event = {"email": email, "channel": channel, "at": _at(day, rng.randint(0, 23))}
                if channel == "store":
                    event["total"] = Decimal(rng.choice(["19.99", "45.00", "120.50"]))
                    event["refund"] = rng.random() < 0.15
                else:
                    kind = rng.choice(("nps", "csat", "ces"))
                    event["kind"] = kind
                    event["score"] = rng.randint(*{"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[kind])
                self.events.append(event)
            for name, share in (("Campers", 0.5), ("VIP", 0.25)):
                if rng.random() < share:
                    self.segments[name].add(email)
            if rng.random() < 0.7:
                self.cases.append(self._case(rng, email))

    @staticmethod
    def _case(rng: random.Random, email: str) -> dict:
        opened = _at(TODAY - timedelta(days=rng.randint(1, 140)), rng.randint(0, 23))
        answered = rng.random() < 0.8
        resolved = rng.random() < 0.7
        reopened = resolved and rng.random() < 0.3
        resolved_at = opened + timedelta(hours=rng.randint(2, 200)) if resolved else None
        return {
            "email": email,
            "channel": rng.choice(("email", "chat", "phone")),
            "opened_at": opened,
            "first_response_at": opened + timedelta(minutes=rng.randint(5, 3000)) if answered else None,
            "status": "resolved" if resolved and not (reopened and rng.random() < 0.5) else "open",
            "resolved_at": resolved_at,
            "reopen_count": 1 if reopened else 0,
            # Reopened cases count only their open spells: the tracked figure is less than the span.
            "resolution_seconds": None
            if not resolved
            else (resolved_at - opened).total_seconds() * (0.5 if reopened else 1.0),
        }

    def load(self) -> None:
        by_channel: dict[str, list[dict]] = {}
        for event in sorted(self.events, key=lambda e: e["at"]):
            who = {"email": event["email"]}
            if "total" in event:
                row = purchase(who, event["at"], "SKU-1", total=str(event["total"]), refund=event["refund"])
            else:
                row = survey(who, event["at"], event["kind"], event["score"])
            by_channel.setdefault(event["channel"], []).append(row)
        for channel, rows in by_channel.items():
            deliver(channel, *rows)
        for name, members in self.segments.items():
            segment = Segment(name=name, rule={})
            db.session.add(segment)
            db.session.flush()
            for email in members:
                db.session.add(SegmentMember(segment_id=segment.id, customer_id=customer_id_of(email)))
        for case in self.cases:
            row = {k: v for k, v in case.items() if k != "email"}
            db.session.add(Case(customer_id=customer_id_of(case["email"]), thread_key=f"t:{id(case)}", **row))
        db.session.commit()


# Plain Python over the rows: the independent side of every check.


def in_range(at: datetime, start: datetime, end: datetime) -> bool:
    return start <= at < end


def nps(scores):
    if not scores:
        return None
    return 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)


def csat(scores):
    return 100 * sum(s >= 4 for s in scores) / len(scores) if scores else None


def ces(scores):
    return sum(scores) / len(scores) if scores else None


def expected_surveys(events, kind):
    return [e["score"] for e in events if e.get("kind") == kind]


def expected_churn(shop: Shop, active_events, end: datetime):
    active = {e["email"] for e in active_events}
    window_end = end + timedelta(days=WINDOW)
    back = {e["email"] for e in shop.events if in_range(e["at"], end, window_end)}
    churned = len(active - back)
    return (100 * churned / len(active) if active else None), len(active), churned


def expected_cltv(shop: Shop, active_events):
    def ltv(email):
        total = Decimal(0)
        for e in shop.events:
            if e["email"] == email and "total" in e:
                total += -e["total"] if e["refund"] else e["total"]
        return total

    active = {e["email"] for e in active_events}
    if not active:
        return None, 0
    return (sum(ltv(a) for a in active) / len(active)).quantize(Decimal("0.01"), ROUND_HALF_UP), len(active)


def expected_cases(cases):
    frt = [(c["first_response_at"] - c["opened_at"]).total_seconds() for c in cases if c["first_response_at"]]
    ttr = [c["resolution_seconds"] for c in cases if c["status"] == "resolved"]
    ever = [c for c in cases if c["status"] == "resolved" or c["reopen_count"]]
    reopened = [c for c in ever if c["reopen_count"]]
    return {
        "frt_median": statistics.median(frt) if frt else None,
        "frt_mean": sum(frt) / len(frt) if frt else None,
        "responded": len(frt),
        "ttr_median": statistics.median(ttr) if ttr else None,
        "ttr_mean": sum(ttr) / len(ttr) if ttr else None,
        "resolved": len(ttr),
        "reopen": 100 * len(reopened) / len(ever) if ever else None,
        "ever_resolved": len(ever),
    }


@pytest.fixture
def shop(app):
    data = Shop()
    data.load()
    return data


@pytest.fixture
def reader(app):
    return make_user("marketer")[1]


def _get(client, token, **params):
    params = {"since": SINCE.isoformat(), "until": UNTIL.isoformat(), "churn_window_days": WINDOW, **params}
    response = client.get("/api/v1/metrics", headers=auth(token), query_string=params)
    assert response.status_code == 200, response.json
    return response.json


START, END = _at(SINCE, 0).replace(hour=0, minute=0), _at(UNTIL, 0).replace(hour=0, minute=0)


def _check(figures: dict, shop: Shop, events: list[dict], cases: list[dict], end: datetime = END) -> None:
    for kind, formula in (("nps", nps), ("csat", csat), ("ces", ces)):
        scores = expected_surveys(events, kind)
        assert figures[kind]["responses"] == len(scores)
        assert figures[kind]["value"] == pytest.approx(formula(scores))
    rate, active, churned = expected_churn(shop, events, end)
    assert (figures["churn_rate"]["active"], figures["churn_rate"]["churned"]) == (active, churned)
    assert figures["churn_rate"]["value"] == pytest.approx(rate)
    average, customers = expected_cltv(shop, events)
    assert figures["average_cltv"]["customers"] == customers
    assert figures["average_cltv"]["value"] == (str(average) if average is not None else None)
    want = expected_cases(cases)
    assert figures["first_response_time"]["responded"] == want["responded"]
    assert figures["first_response_time"]["median_s"] == pytest.approx(want["frt_median"])
    assert figures["first_response_time"]["mean_s"] == pytest.approx(want["frt_mean"])
    assert figures["time_to_resolution"]["resolved"] == want["resolved"]
    assert figures["time_to_resolution"]["median_s"] == pytest.approx(want["ttr_median"])
    assert figures["time_to_resolution"]["mean_s"] == pytest.approx(want["ttr_mean"])
    assert figures["reopen_rate"]["resolved"] == want["ever_resolved"]
    assert figures["reopen_rate"]["value"] == pytest.approx(want["reopen"])


def _events(shop: Shop, start=START, end=END, channel=None, members=None):
    return [
        e
        for e in shop.events
        if in_range(e["at"], start, end)
        and (channel is None or e["channel"] == channel)
        and (members is None or e["email"] in members)
    ]


def _cases(shop: Shop, start=START, end=END, channel=None, members=None):
    return [
        c
        for c in shop.cases
        if in_range(c["opened_at"], start, end)
        and (channel is None or c["channel"] == channel)
        and (members is None or c["email"] in members)
    ]


def test_overall_figures_match_the_rows(client, shop, reader):
    body = _get(client, reader)
    _check(body["overall"], shop, _events(shop), _cases(shop))
    assert body["overall"]["churn_rate"]["complete"] is True
    assert body["overall"]["nps"]["responses"] > 5  # the data set is big enough to mean something


def test_per_channel_figures_match_the_rows(client, shop, reader):
    body = _get(client, reader, by="channel")
    groups = {g["key"]: g["metrics"] for g in body["by_channel"]}
    channels = {e["channel"] for e in _events(shop)} | {c["channel"] for c in _cases(shop)}
    assert set(groups) == channels
    for channel, figures in groups.items():
        _check(figures, shop, _events(shop, channel=channel), _cases(shop, channel=channel))


def test_per_segment_figures_match_the_rows(client, shop, reader):
    body = _get(client, reader, by="segment")
    groups = {g["name"]: g["metrics"] for g in body["by_segment"]}
    assert set(groups) == {"Campers", "VIP"}
    for name, figures in groups.items():
        members = shop.segments[name]
        _check(figures, shop, _events(shop, members=members), _cases(shop, members=members))


def test_per_week_figures_match_the_rows(client, shop, reader):
    body = _get(client, reader, by="period", period="week")
    weeks = body["by_period"]
    assert weeks[0]["key"] == _monday(SINCE).isoformat()
    assert len(weeks) == len({_monday(SINCE + timedelta(days=d)) for d in range((UNTIL - SINCE).days)})
    for week in weeks:
        start, end = datetime.fromisoformat(week["start"]), datetime.fromisoformat(week["end"])
        assert _monday(start.date()).isoformat() == week["key"]
        _check(week["metrics"], shop, _events(shop, start, end), _cases(shop, start, end), end=end)


def test_per_month_buckets_are_calendar_months_clipped_to_the_range(client, shop, reader):
    body = _get(client, reader, by="period", period="month", metric="nps,average_cltv")
    months = body["by_period"]
    assert months[0]["key"] == SINCE.replace(day=1).isoformat()
    assert months[0]["start"].startswith(SINCE.isoformat())
    assert set(months[0]["metrics"]) == {"nps", "average_cltv"}
    for month in months:
        start, end = datetime.fromisoformat(month["start"]), datetime.fromisoformat(month["end"])
        events = _events(shop, start, end)
        assert month["metrics"]["nps"]["value"] == pytest.approx(nps(expected_surveys(events, "nps")))


def test_filters_narrow_every_figure_to_a_channel_and_a_segment(client, shop, reader):
    campers = db.session.scalar(db.select(Segment.id).where(Segment.name == "Campers"))
    body = _get(client, reader, channel="email", segment=campers)
    members = shop.segments["Campers"]
    _check(
        body["overall"],
        shop,
        _events(shop, channel="email", members=members),
        _cases(shop, channel="email", members=members),
    )
    assert (body["channel"], body["segment"]) == ("email", campers)


def test_a_churn_window_still_running_says_so(client, shop, reader):
    body = _get(client, reader, churn_window_days=90, metric="churn_rate")
    assert body["overall"]["churn_rate"]["complete"] is False
    assert set(body["overall"]) == {"churn_rate"}


def test_a_range_with_nothing_in_it_gives_null_figures_and_zero_counts(client, app, reader):
    body = _get(client, reader)
    assert body["overall"]["nps"] == {"value": None, "responses": 0, "promoters": 0, "passives": 0, "detractors": 0}
    assert body["overall"]["average_cltv"]["value"] is None
    assert body["overall"]["first_response_time"]["median_s"] is None


def test_bad_queries_get_clear_answers(client, app, reader):
    def status(**params):
        response = client.get("/api/v1/metrics", headers=auth(reader), query_string=params)
        return response.status_code, response.json

    code, body = status(since="2026-05-01", until="2026-04-01")
    assert code == 422 and "since" in body["errors"]
    code, body = status(metric="nps,happiness")
    assert code == 422 and "happiness" in str(body["errors"]["metric"])
    code, body = status(by="period", period="day", since="2020-01-01", until="2026-01-01")
    assert code == 422 and "buckets" in str(body["errors"]["period"])
    assert status(segment=12345)[0] == 404
    assert status(period="year")[0] == 422


def test_metrics_need_the_metrics_permission(client, app):
    assert client.get("/api/v1/metrics").status_code == 401
    _, agent = make_user("agent")
    assert client.get("/api/v1/metrics", headers=auth(agent)).status_code == 200


def test_the_default_range_is_the_last_90_days(client, app, reader):
    deliver("email", survey({"email": "today@example.com"}, datetime.now(UTC) - timedelta(hours=1), "nps", 10))
    deliver("email", survey({"email": "old@example.com"}, datetime.now(UTC) - timedelta(days=100), "nps", 0))
    body = client.get("/api/v1/metrics", headers=auth(reader), query_string={"metric": "nps"}).json
    assert body["until"] == (TODAY + timedelta(days=1)).isoformat()
    assert body["overall"]["nps"]["responses"] == 1 and body["overall"]["nps"]["value"] == 100
