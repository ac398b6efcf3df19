"""Agent pages: the search box (live as you type) and the customer page (profile, timeline, context)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from crm.web import bp, customer_page
from crm.web.access import page
from crm.web.forms import CallForm, NoteForm


@bp.get("/search")
@page("search")
def search():
    """Without script the form submits here and the results come rendered; with it, search.js takes over."""
    q = request.args.get("q", "").strip()[:200]
    found = _search(q) if q else None
    return render_template("agent/search.html", q=q, found=found)


def _search(q: str) -> dict:
    from crm import search as search_backend
    from crm.search.query import SearchRequest
    from crm.search.results import present

    request_ = SearchRequest(query=search_backend.parse_query(q), per_page=20)
    page_ = search_backend.search(request_)
    items = present(page_, request_.query)
    return {
        "customers": [i for i in items if i["kind"] == "customer"],
        "interactions": [i for i in items if i["kind"] == "interaction"],
        "total": page_.totals,
    }


@bp.get("/customers/<int:customer_id>")
@page("customers:read")
def customer(customer_id: int):
    found = customer_page.get_customer(customer_id)
    if found.status == "merged" and found.merged_into_id:
        # A merged customer lives on in its survivor; the merge history there can undo it.
        return redirect(url_for("web.customer", customer_id=found.merged_into_id, merged_from=found.id))
    view = customer_page.customer_view(
        found, customer_page.TimelineFilters.from_args(request.args), request.args.get("pending", type=int)
    )
    return render_template(
        "agent/customer.html",
        view=view,
        note_form=NoteForm(formdata=None, prefix="note"),
        call_form=CallForm(formdata=None, prefix="call"),
        merged_from=request.args.get("merged_from", type=int),
    )
