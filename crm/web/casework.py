"""What an agent does from the customer page: notes, logged calls, resolving cases, deciding duplicate
suggestions, undoing merges, closing next best actions. Each form posts here, calls one domain
function, commits, and goes back to the page with a message.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from crm.extensions import db
from crm.web import bp
from crm.web.access import back, page
from crm.web.customer_page import get_customer
from crm.web.forms import CallForm, NoteForm


def _form_errors(form) -> str:
    return "; ".join(f"{getattr(form, name).label.text}: {', '.join(errs)}" for name, errs in form.errors.items())


@bp.post("/customers/<int:customer_id>/notes")
@page("customers:write")
def add_note(customer_id: int):
    from crm.profiles.notes import add_note as add

    customer = get_customer(customer_id)
    form = NoteForm()
    if not form.validate_on_submit():
        flash(f"The note was not added. {_form_errors(form)}", "error")
        return redirect(url_for("web.customer", customer_id=customer.id))
    add(customer.id, form.text.data, author=current_user)
    db.session.commit()
    flash("Note added to the timeline.", "success")
    return redirect(url_for("web.customer", customer_id=customer.id) + "#timeline")


@bp.post("/customers/<int:customer_id>/calls")
@page("customers:write")
def log_call(customer_id: int):
    from crm.profiles.notes import log_call as log

    customer = get_customer(customer_id)
    form = CallForm()
    if not form.validate_on_submit():
        flash(f"The call was not logged. {_form_errors(form)}", "error")
        return redirect(url_for("web.customer", customer_id=customer.id))
    minutes = form.duration_min.data
    log(
        customer.id,
        direction=form.direction.data,
        outcome=form.outcome.data,
        duration_s=None if minutes is None else minutes * 60,
        text=form.text.data or None,
        author=current_user,
    )
    db.session.commit()
    flash("Call logged on the timeline.", "success")
    return redirect(url_for("web.customer", customer_id=customer.id) + "#timeline")


@bp.post("/cases/<int:case_id>/resolve")
@page("customers:write")
def case_resolve(case_id: int):
    from crm.profiles.cases import resolve_case

    case = resolve_case(case_id, current_user.email)
    db.session.commit()
    flash(f"Case #{case.id} resolved.", "success")
    return redirect(back("web.customer", customer_id=case.customer_id))


@bp.post("/suggestions/<int:suggestion_id>")
@page("customers:write")
def suggestion_decide(suggestion_id: int):
    from crm.profiles import suggestions

    decision = request.form.get("decision")
    if decision == "confirm":
        row = suggestions.confirm(suggestion_id, current_user.email)
        message = "Merged: the two customers are one now. The merge history can undo it."
    elif decision == "dismiss":
        row = suggestions.dismiss(suggestion_id, current_user.email)
        message = "Dismissed: this pair will not be suggested again."
    else:
        abort(400, description="decision must be confirm or dismiss")
    db.session.commit()
    flash(message, "success")
    survivor = min(row.customer_a_id, row.customer_b_id) if decision == "confirm" else None
    return redirect(url_for("web.customer", customer_id=survivor) if survivor else back())


@bp.post("/merges/<int:merge_id>/undo")
@page("customers:write")
def merge_undo(merge_id: int):
    from crm.profiles.undo import undo_merge

    row = undo_merge(merge_id, current_user.email)
    db.session.commit()
    flash(f"Merge undone: customers #{row.survivor_id} and #{row.merged_id} are apart again.", "success")
    return redirect(url_for("web.customer", customer_id=row.survivor_id))


@bp.post("/customers/<int:customer_id>/actions")
@page("actions")
def action_feedback(customer_id: int):
    from crm.personalization.feedback import record_feedback

    status = request.form.get("status")
    if status not in ("done", "dismissed"):
        abort(400, description="status must be done or dismissed")
    customer = get_customer(customer_id)
    record_feedback(customer.id, request.form.get("key", ""), status, current_user.email)
    db.session.commit()
    flash("Marked done." if status == "done" else "Dismissed: it will not come back.", "success")
    return redirect(url_for("web.customer", customer_id=customer.id) + "#personalization")
