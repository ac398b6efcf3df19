"""The customer page and its forms, through the test client: what an agent and a marketer get."""

from __future__ import annotations

import re

import pytest

from crm.extensions import db
from crm.profiles.models import DuplicateSuggestion, Interaction
from tests.factories import make_user
from tests.web.scenes import ann_on_four_channels, two_ann_lees


def log_in(client, role: str):
    user, _ = make_user(role)
    client.post("/login", data={"email": user.email, "password": "password123"})
    return user


@pytest.fixture
def ann(app, client, run_jobs):
    return ann_on_four_channels(client, run_jobs)


def entries(html: str) -> list[tuple[str, str]]:
    return re.findall(r'class="entry ch-\w+" data-channel="(\w+)" data-type="(\w+)"', html)


def test_the_timeline_filters_by_channel_and_kind_and_pages_with_a_cursor(client, ann, monkeypatch):
    log_in(client, "agent")
    assert {c for c, _ in entries(client.get(f"/customers/{ann.id}").text)} == {"email", "chat", "phone", "store"}
    assert entries(client.get(f"/customers/{ann.id}?channel=email&channel=chat").text) == [
        ("email", "survey"),
        ("chat", "message"),
        ("email", "message"),
        ("email", "message"),
    ]
    assert entries(client.get(f"/customers/{ann.id}?type=purchase").text) == [("store", "purchase")]
    assert "Nothing matches these filters" in client.get(f"/customers/{ann.id}?channel=internal").text
    reply = client.get(f"/customers/{ann.id}?channel=email&type=message").text
    assert "Sorry for the wait: it left our warehouse today." in reply
    assert "Earlier messages quoted" in reply, "the reply's quoted history is folded"
    assert "Email · Message from us" in reply
    monkeypatch.setattr("crm.web.customer_page.TIMELINE_PAGE", 2)
    first = client.get(f"/customers/{ann.id}").text
    cursor = re.search(r'href="([^"]*cursor=[^"#]+)#timeline" class="button secondary" rel="next"', first).group(1)
    second = client.get(cursor.replace("&amp;", "&")).text
    assert len(entries(first)) == len(entries(second)) == 2
    assert not set(entries(first)) & set(entries(second))
    assert "Newer" in second


def test_a_logged_call_lands_on_the_timeline_with_its_outcome(client, ann, run_jobs):
    agent = log_in(client, "agent")
    response = client.post(
        f"/customers/{ann.id}/calls",
        data={
            "call-direction": "outbound",
            "call-outcome": "voicemail",
            "call-duration_min": "3",
            "call-text": "Left a message",
        },
    )
    assert response.status_code == 302
    run_jobs()  # full mode: the worker attaches it
    page = client.get(response.headers["Location"]).text
    assert "Call logged." in page
    db.session.expire_all()
    call = db.session.query(Interaction).filter_by(author_id=agent.id).one()
    assert (call.type, call.channel, call.data["outcome"], call.data["duration_s"]) == (
        "call",
        "phone",
        "voicemail",
        180,
    )
    assert "Voicemail · 3 min 00 s" in client.get(f"/customers/{ann.id}").text


def test_an_empty_note_is_refused_with_the_reason(client, ann):
    log_in(client, "agent")
    response = client.post(f"/customers/{ann.id}/notes", data={"note-text": ""}, follow_redirects=True)
    assert "The note was not added. Note: This field is required." in response.text


def test_a_marketer_reads_the_customer_page_without_the_agents_forms(client, ann):
    log_in(client, "marketer")
    page = client.get(f"/customers/{ann.id}").text
    assert "Ann Lee" in page and "Context and next best actions" in page
    for form in ("Add a note", "Log a call", "Resolve case", ">Done<"):
        assert form not in page
    assert client.post(f"/customers/{ann.id}/notes", data={"note-text": "hi"}).status_code == 403


def test_dismissing_a_duplicate_keeps_both_customers_and_the_pair_is_not_suggested_again(client, run_jobs):
    older, newer = two_ann_lees(client, run_jobs)
    log_in(client, "agent")
    suggestion = db.session.query(DuplicateSuggestion).one()
    response = client.post(f"/suggestions/{suggestion.id}", data={"decision": "dismiss", "next": f"/customers/{newer}"})
    assert response.headers["Location"] == f"/customers/{newer}"
    page = client.get(f"/customers/{newer}").text
    assert "Dismissed: this pair will not be suggested again." in page
    assert "No open suggestions." in page
    again = client.post(f"/suggestions/{suggestion.id}", data={"decision": "confirm"}, follow_redirects=True)
    assert "is dismissed already" in again.text


def test_a_merged_customers_page_leads_to_the_survivor(client, run_jobs):
    older, newer = two_ann_lees(client, run_jobs)
    log_in(client, "agent")
    suggestion = db.session.query(DuplicateSuggestion).one()
    client.post(f"/suggestions/{suggestion.id}", data={"decision": "confirm"})
    response = client.get(f"/customers/{newer}")
    assert response.status_code == 302 and response.headers["Location"] == f"/customers/{older}?merged_from={newer}"
    assert f"Customer #{newer} was merged into this customer" in client.get(response.headers["Location"]).text


def test_a_customer_that_does_not_exist_gets_a_404_page(client):
    log_in(client, "agent")
    response = client.get("/customers/999999")
    assert response.status_code == 404
    assert "no customer 999999" in response.text
