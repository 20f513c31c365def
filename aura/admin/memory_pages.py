"""Changing a user's memory from the admin pages: edit, restore, accept or reject a proposal,
consolidate now, the memory switch, export and delete. Every change is audited with the staff id;
edits and restores apply only over the version the page showed."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for

from aura.admin.common import MEMORY_OFF, checked_ids, checked_user_id, staff_actor
from aura.admin.forms import (
    STALE_FORM,
    ConsolidateNowForm,
    DeleteForm,
    MemoryForm,
    MemorySwitchForm,
    ProposalDecisionForm,
    RedeliverForm,
    RestoreForm,
)
from aura.admin.user_pages import render_user
from aura.consolidation.proposals import (
    NoProposal,
    ProposalReplaced,
    ProposalStale,
    accept_proposal,
    reject_proposal,
)
from aura.jobs.status import consolidate_now
from aura.memory import service
from aura.memory.export import export_memory
from aura.memory.serialize import export_file
from aura.memory.settings import update_settings
from aura.memory.types import MemoryDisabled, RevisionNotFound, RevisionSource, VersionConflict
from aura.webhooks.redeliver import redeliver


def edit_memory(user_id: int):
    """Saves only over the version the page showed: a newer one gets both texts, never an overwrite."""
    user_id = checked_user_id(user_id)
    form = MemoryForm()
    if not form.validate_on_submit():
        flash("The memory was not saved: fix the errors below.", "error")
        return render_user(user_id, memory_form=form, status=422)
    try:
        service.save_memory(
            user_id,
            form.content.data,
            RevisionSource.STAFF,
            staff_actor(),
            expected_version=form.version.data,
        )
    except VersionConflict as conflict:
        flash("Not saved: this memory changed since you opened it. Compare both texts below.", "error")
        form.show_version(conflict.current.version if conflict.current else 0)
        return render_user(user_id, memory_form=form, status=412, conflict=conflict)
    except MemoryDisabled:
        flash(MEMORY_OFF, "error")
        return render_user(user_id, memory_form=form, status=409)
    flash("Memory saved.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


def restore(user_id: int, revision_id: int):
    user_id, revision_id = checked_ids(user_id, revision_id)
    form = RestoreForm()
    if not form.validate_on_submit():
        flash(" ".join(form.version.errors) or "The form is out of date.", "error")
        return redirect(url_for("admin.user", user_id=user_id))
    try:
        service.restore_revision(user_id, revision_id, staff_actor(), expected_version=form.version.data)
    except RevisionNotFound:
        abort(404)
    except VersionConflict:
        flash(
            "Not restored: this memory changed since you opened the page. Check it, then try again.", "error"
        )
    except MemoryDisabled:
        flash(MEMORY_OFF, "error")
    else:
        flash("Revision restored: it is the current memory again.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


def decide_proposal(user_id: int, decision: str):
    """Accept or reject the pending proposal the page showed, over the memory version it showed."""
    user_id = checked_user_id(user_id)
    if decision not in ("accept", "reject"):
        abort(404)
    form = ProposalDecisionForm()
    if not form.validate_on_submit():
        flash(STALE_FORM, "error")
        return redirect(url_for("admin.user", user_id=user_id))
    try:
        if decision == "accept":
            accept_proposal(user_id, staff_actor(), form.proposal_id.data, expected_version=form.version.data)
            flash("Proposal accepted: it is the memory now.", "success")
        else:
            reject_proposal(user_id, staff_actor(), form.proposal_id.data)
            flash("Proposal rejected: the memory stays as it was.", "success")
    except (NoProposal, ProposalReplaced):
        flash(
            "That proposal is no longer pending (replaced by a newer one, or decided). Check it below.",
            "error",
        )
    except (VersionConflict, ProposalStale):
        flash("Not accepted: the memory changed since the proposal was made. Consolidate again.", "error")
    except MemoryDisabled:
        flash(MEMORY_OFF, "error")
    return redirect(url_for("admin.user", user_id=user_id))


def consolidate(user_id: int):
    """Queue a background consolidation of the user's recorded turns now (audited)."""
    user_id = checked_user_id(user_id)
    if not ConsolidateNowForm().validate_on_submit():
        flash("The form is out of date: try again.", "error")
    elif consolidate_now(user_id, staff_actor()):
        flash("Consolidation queued: a worker merges the recorded turns into the memory shortly.", "success")
    else:
        flash("No job queue is configured (AURA_QUEUE_URL), so nothing can run in the background.", "error")
    return redirect(url_for("admin.user", user_id=user_id))


def redeliver_webhook(user_id: int, delivery_id: int):
    """Send one of the user's failed webhook deliveries again (audited with the staff id)."""
    user_id = checked_user_id(user_id)
    if not RedeliverForm().validate_on_submit():
        flash("The form is out of date: try again.", "error")
    elif redeliver(staff_actor(), delivery_id=delivery_id, user_id=user_id):
        flash("Delivery queued to be sent again.", "success")
    else:
        flash("That delivery has not failed (or is not this user's): nothing to send again.", "error")
    return redirect(url_for("admin.user", user_id=user_id) + "#webhooks")


def memory_switch(user_id: int):
    """Switch the user's memory on or off (audited; deletes nothing)."""
    user_id = checked_user_id(user_id)
    form = MemorySwitchForm()
    if form.validate_on_submit():
        enabled = form.enabled.data == "on"
        update_settings(user_id, staff_actor(), enabled)
        flash(
            "Memory switched on: chat uses it again."
            if enabled
            else "Memory switched off: chat leaves it out and saves are refused. Nothing was deleted.",
            "success",
        )
    return redirect(url_for("admin.user", user_id=user_id))


def export(user_id: int):
    """The same JSON document as the API's export, as a download (the download is audited).

    A POST with the CSRF token: as a GET, any site could make a logged-in staff member's
    browser add audit entries (and fetch the data) with a link.
    """
    user_id = checked_user_id(user_id)
    text, filename = export_file(export_memory(user_id, actor=staff_actor()))
    return Response(
        text,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def delete(user_id: int):
    user_id = checked_user_id(user_id)
    form = DeleteForm()
    if form.validate_on_submit():
        erase = form.mode.data == "erase"
        deleted = service.delete_memory(user_id, staff_actor(), keep_history=not erase)
        if not deleted:
            flash("There was nothing to delete.", "info")
        elif erase:
            flash("Memory and its whole history erased.", "success")
        else:
            flash("Memory deleted; its history is kept and can be restored.", "success")
        return redirect(url_for("admin.user", user_id=user_id))
    return render_template(
        "admin/delete.html", user_id=user_id, form=form, memory=service.get_memory(user_id)
    )
