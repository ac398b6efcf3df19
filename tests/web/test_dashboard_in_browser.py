"""The CX dashboard at the browser: figures from the metrics API, charts drawn by the app's own Chart.js."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import auth, interaction, make_source, make_user, post_generic
from tests.web.browsing import check_page, log_in
from tests.web.scenes import ago, ann_on_four_channels

pytestmark = pytest.mark.browser


def test_a_marketer_reads_nps_csat_and_resolution_times_on_the_dashboard(page, client, run_jobs):
    ann = ann_on_four_channels(client, run_jobs)  # NPS 9 by email, three open cases
    chat = make_source(channel="chat")
    for n, (kind, score) in enumerate([("nps", 3), ("csat", 5), ("csat", 2)]):
        survey = interaction(
            f"s-{n}", type_="survey", customer={"email": f"rater{n}@example.com"}, occurred_at=ago(days=2)
        )
        survey["data"] = {"kind": kind, "score": score}
        assert post_generic(client, chat, survey).status_code == 202
    run_jobs()
    agent, agent_token = make_user("agent")
    case_id = client.get(f"/api/v1/customers/{ann.id}/cases", headers=auth(agent_token)).json["items"][0]["id"]
    assert client.post(f"/api/v1/cases/{case_id}/resolve", headers=auth(agent_token)).status_code == 200

    marketer, token = make_user("marketer")
    log_in(page, marketer.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.locator("#dashboard")).to_have_attribute("data-loaded", "true")
    overall = client.get("/api/v1/metrics?by=channel,period", headers=auth(token)).json["overall"]
    assert overall["nps"]["value"] == 0.0 and overall["nps"]["responses"] == 2  # one promoter, one detractor
    expect(page.locator("#kpi-nps .kpi-value")).to_have_text("0")
    expect(page.locator("#kpi-nps")).to_contain_text("2 responses: 1 promoters, 1 detractors")
    expect(page.locator("#kpi-csat .kpi-value")).to_have_text("50%")
    drawn = page.evaluate(
        "['chart-trend', 'chart-channel', 'chart-ttr'].map(id => Chart.getChart(document.getElementById(id))?.data.datasets.length || 0)"
    )
    assert drawn == [2, 2, 1]
    assert page.evaluate("typeof Chart.version") == "string" and page.evaluate("Chart.version").startswith("4.")
    page.get_by_text("The counts as a table").click()
    expect(page.locator("#table-ttr")).to_contain_text("under 1 h")
    under_an_hour = page.locator("#table-ttr tbody tr").first.locator("td").nth(1)
    expect(under_an_hour).to_have_text("0")  # the case had been open for days
    check_page(page, "dashboard", keyboard_targets=["since", "Show"])

    page.get_by_label("Channel", exact=True).select_option("chat")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#dashboard")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#kpi-nps")).to_contain_text("1 responses: 0 promoters, 1 detractors")
