"""Agent pages: the search box (live as you type) and the customer page (profile, timeline, context)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from crm.web import bp, customer_page
from crm.web.access import page
from crm.web.forms import CallForm, NoteForm


@bp.get("/search")
@page("search")
def search():
    q = request.args.get("q", "").strip()
    return render_template("agent/search.html", q=q, scope=request.args.get("scope", "all"))


@bp.get("/customers/<int:customer_id>")
@page("customers:read")
def customer(customer_id: int):
    found = customer_page.get_customer(customer_id)
    if found.status == "merged" and found.merged_into_id:
        # A merged customer lives on in its survivor; the merge history there can undo it.
        return redirect(url_for("web.customer", customer_id=found.merged_into_id, merged_from=found.id))
    view = customer_page.customer_view(found, customer_page.TimelineFilters.from_args(request.args))
    return render_template(
        "agent/customer.html",
        view=view,
        note_form=NoteForm(formdata=None),
        call_form=CallForm(formdata=None),
        merged_from=request.args.get("merged_from", type=int),
    )
