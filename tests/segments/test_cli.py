"""`flask segments ...` as an operator uses it: list, refresh with a progress bar, export, and clear
messages (never a traceback) for a wrong id."""

from __future__ import annotations

from crm.extensions import db
from crm.segments.definitions import create_segment
from tests.factories import make_source
from tests.segments.builders import deliver, message


def test_list_refresh_and_export_from_the_command_line(client, app, run_jobs, tmp_path):
    deliver(client, make_source(channel="email"), run_jobs, message("ann@example.com"), message("bob@example.com"))
    segment = create_segment(name="Writers", rule={"condition": "identifier", "kind": "email"}, actor="test")
    db.session.commit()
    runner = app.test_cli_runner()

    refreshed = runner.invoke(args=["segments", "refresh", str(segment.id)])
    assert refreshed.exit_code == 0, refreshed.output
    assert "Writers: 2 entered, 0 left, 2 now" in refreshed.output
    listed = runner.invoke(args=["segments", "list"])
    assert "2 members" in listed.output and "Writers" in listed.output

    out = tmp_path / "writers.csv"
    exported = runner.invoke(args=["segments", "export", str(segment.id), str(out)])
    assert exported.exit_code == 0, exported.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith("customer_id,display_name,email")
    assert sorted(line.split(",")[2] for line in lines[1:]) == ["ann@example.com", "bob@example.com"]


def test_a_wrong_segment_id_is_a_clear_message(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["segments", "refresh", "999"])
    assert result.exit_code == 2
    assert "no segment 999" in result.output
    assert "Traceback" not in result.output
    assert "pass --all" in runner.invoke(args=["segments", "refresh"]).output


def test_deliver_sends_nothing_when_nothing_is_due(app):
    result = app.test_cli_runner().invoke(args=["segments", "deliver"])
    assert result.exit_code == 0, result.output
    assert "0 delivered of 0 sent" in result.output
