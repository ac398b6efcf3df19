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
    from crm.profiles.notes import record_note

    customer = get_customer(customer_id)
    form = NoteForm(prefix="note")
    if not form.validate_on_submit():
        flash(f"The note was not added. {_form_errors(form)}", "error")
        return redirect(url_for("web.customer", customer_id=customer.id))
    iid = record_note(customer.id, text=form.text.data, author=current_user, key=_form_key(form.text.data))
    db.session.commit()
    flash("Note saved.", "success")
    return redirect(url_for("web.customer", customer_id=customer.id, pending=iid) + "#timeline")


@bp.post("/customers/<int:customer_id>/calls")
@page("customers:write")
def log_call(customer_id: int):
    from crm.profiles.notes import log_call as record_call

    customer = get_customer(customer_id)
    form = CallForm(prefix="call")
    if not form.validate_on_submit():
        flash(f"The call was not logged. {_form_errors(form)}", "error")
        return redirect(url_for("web.customer", customer_id=customer.id))
    minutes = form.duration_min.data
    iid = record_call(
        customer.id,
        direction=form.direction.data,
        outcome=form.outcome.data,
        duration_s=None if minutes is None else minutes * 60,
        text=form.text.data or None,
        author=current_user,
        key=_form_key(form.direction.data, form.outcome.data, str(minutes), form.text.data or ""),
    )
    db.session.commit()
    flash("Call logged.", "success")
    return redirect(url_for("web.customer", customer_id=customer.id, pending=iid) + "#timeline")


def _form_key(*content: str) -> str | None:
    """An idempotency key from the rendered form (its CSRF token) and what was typed: a double click or a
    resubmitted page stores one note, while two different notes from one page stay two."""
    import hashlib

    token = next((v for k, v in request.form.items() if k.endswith("csrf_token")), None)
    if not token:
        return None
    return hashlib.sha256("\x1f".join((token, *content)).encode()).hexdigest()[:40]


@bp.post("/cases/<int:case_id>/resolve")
@page("customers:write")
def case_resolve(case_id: int):
    from crm.pipeline import refresh_customer
    from crm.profiles.cases import resolve_case

    case = resolve_case(case_id, current_user.email)
    refresh_customer(get_customer(case.customer_id))
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
    if decision == "confirm":
        from crm.profiles.models import Merge

        return redirect(url_for("web.customer", customer_id=db.session.get(Merge, row.merge_id).survivor_id))
    return redirect(back())


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
