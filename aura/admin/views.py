"""Admin pages (thin views: forms and schemas in, service calls, templates out)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from marshmallow import ValidationError

from aura.admin.diff import word_diff
from aura.admin.forms import (
    STALE_FORM,
    ConsolidateNowForm,
    DeleteForm,
    LoginForm,
    MemoryForm,
    MemorySwitchForm,
    ProposalDecisionForm,
    RestoreForm,
)
from aura.admin.queries import SORTS, search_users
from aura.admin.sessions import drop_session, end_session, session_problem, start_session
from aura.chat.prompt import build_messages
from aura.consolidation.proposals import (
    NoProposal,
    ProposalReplaced,
    ProposalStale,
    accept_proposal,
    get_proposal,
    reject_proposal,
)
from aura.extensions import login_manager
from aura.jobs.status import consolidate_now, consolidation_status
from aura.memory import service
from aura.memory.export import export_memory
from aura.memory.serialize import export_file
from aura.memory.settings import get_settings, update_settings
from aura.rate_limits import count_login_attempt
from aura.schemas import RevisionPathSchema, UserIdPathSchema, UserListArgsSchema
from aura.staff import authenticate
from aura.webhooks.outbox import recent_deliveries, webhooks_configured

bp = Blueprint("admin", __name__, url_prefix="/admin")
user_list_args = UserListArgsSchema()
user_id_path = UserIdPathSchema()
revision_path = RevisionPathSchema()
NEXT_MESSAGE_PLACEHOLDER = "(the user's next message)"


@bp.before_request
def require_login():
    """Every admin page needs a current staff session, except the login page itself."""
    if current_user.is_authenticated:
        problem = session_problem()
        if problem is not None:
            drop_session()
            flash(problem, "info")
    if request.endpoint != "admin.login" and not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _actor() -> service.Actor:
    return service.Actor(label=current_user.email, staff_id=current_user.id)


def _checked_user_id(user_id: int) -> int:
    try:
        return user_id_path.load({"user_id": user_id})["user_id"]
    except ValidationError:
        abort(404)


def _checked_ids(user_id: int, revision_id: int) -> tuple[int, int]:
    """Both ids within the API's range (a BIGINT): beyond it no such row can exist, 404, never a
    driver error for a number PostgreSQL cannot bind."""
    try:
        ids = revision_path.load({"user_id": user_id, "revision_id": revision_id})
    except ValidationError:
        abort(404)
    return ids["user_id"], ids["revision_id"]


def _safe_next(target: str | None) -> str:
    """Only same-site admin paths: never an open redirect to another host."""
    if (
        target
        and target.startswith("/admin")
        and not urlsplit(target).netloc
        and "\\" not in target
        and target.isprintable()  # CR/LF would split the Location header
    ):
        return target
    return url_for("admin.users")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Password guessing is slowed per client address (429 page beyond the limit)."""
    if request.method == "POST":
        count_login_attempt()
    if current_user.is_authenticated:
        return redirect(url_for("admin.users"))
    form = LoginForm()
    if form.validate_on_submit():
        staff = authenticate(form.email.data, form.password.data)
        if staff is not None:
            start_session(staff)
            current_app.logger.info("staff %s logged in", staff.id)
            flash("Logged in.", "success")
            return redirect(_safe_next(request.args.get("next")))
        flash("Wrong email or password.", "error")
        return render_template("admin/login.html", form=form), 401
    return render_template("admin/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """POST only (CSRF-checked by CSRFProtect), so a link on another site cannot log staff out.

    Ends every session of the account, so a copy of the cookie stops working too.
    """
    end_session(current_user._get_current_object())
    flash("Logged out.", "success")
    return redirect(url_for("admin.login"))


@bp.route("/")
def index():
    return redirect(url_for("admin.users"))


@bp.route("/users")
def users():
    try:
        args = user_list_args.load(request.args)
    except ValidationError:
        flash("Some search options were invalid and have been reset.", "warning")
        args = user_list_args.load({})
    result = search_users(args["q"], args["sort"], args["page"])
    return render_template("admin/users.html", result=result, args=args, sorts=SORTS)


def _render_user(
    user_id: int,
    memory_form: MemoryForm | None = None,
    status: int = 200,
    conflict: service.VersionConflict | None = None,
):
    memory = service.get_memory(user_id)
    version = memory.version if memory else 0
    if memory_form is None:
        memory_form = MemoryForm(content=memory.content if memory else "", version=version)
    page = min(max(request.args.get("page", 1, type=int), 1), 1_000_000)  # a page, not an error
    revisions = service.list_revisions(user_id, page=page, per_page=20)
    settings = get_settings(user_id)
    preview = build_messages(
        system_prompt=current_app.config["AURA_SYSTEM_PROMPT"],
        memory_content=memory.content if memory and settings.enabled else None,
        history=[],
        message=NEXT_MESSAGE_PLACEHOLDER,
        max_chars=current_app.config["AURA_CHAT_MAX_PROMPT_CHARS"],
    )
    proposal = get_proposal(user_id)
    html = render_template(
        "admin/user.html",
        user_id=user_id,
        memory=memory,
        version=version,
        settings=settings,
        switch_form=MemorySwitchForm(enabled="off" if settings.enabled else "on"),
        form=memory_form,
        conflict=conflict,
        revisions=revisions,
        audit=service.list_audit_events(user_id),
        upkeep=consolidation_status(user_id),
        deliveries=recent_deliveries(user_id) if webhooks_configured() else None,
        proposal=proposal,
        proposal_segments=word_diff(memory.content if memory else "", proposal.content) if proposal else None,
        proposal_form=ProposalDecisionForm(proposal_id=proposal.id, version=version) if proposal else None,
        consolidate_form=ConsolidateNowForm(),
        preview=preview,
        max_chars=current_app.config["AURA_MAX_MEMORY_CHARS"],
    )
    return html, status


MEMORY_OFF = "Memory is switched off for this user: switch it on before changing it."


@bp.route("/users/<int:user_id>")
def user(user_id: int):
    """A user's page; an id AURA has never seen is a 404 that offers to start one (?create=1)."""
    user_id = _checked_user_id(user_id)
    if not service.user_known(user_id) and request.args.get("create") != "1":
        return render_template("admin/unknown_user.html", user_id=user_id), 404
    return _render_user(user_id)


@bp.route("/users/<int:user_id>/revisions/<int:revision_id>/diff")
def revision_diff(user_id: int, revision_id: int):
    """What a revision changed compared with the one before it (word by word)."""
    user_id, revision_id = _checked_ids(user_id, revision_id)
    try:
        revision, previous = service.revision_with_previous(user_id, revision_id)
    except service.RevisionNotFound:
        abort(404)
    segments = word_diff(previous.content if previous else "", revision.content)
    return render_template(
        "admin/diff.html", user_id=user_id, revision=revision, previous=previous, segments=segments
    )


@bp.route("/users/<int:user_id>/memory", methods=["POST"])
def edit_memory(user_id: int):
    """Saves only over the version the page showed: a newer one gets both texts, never an overwrite."""
    user_id = _checked_user_id(user_id)
    form = MemoryForm()
    if not form.validate_on_submit():
        flash("The memory was not saved: fix the errors below.", "error")
        return _render_user(user_id, memory_form=form, status=422)
    try:
        service.save_memory(
            user_id,
            form.content.data,
            service.RevisionSource.STAFF,
            _actor(),
            expected_version=form.version.data,
        )
    except service.VersionConflict as conflict:
        flash("Not saved: this memory changed since you opened it. Compare both texts below.", "error")
        form.show_version(conflict.current.version if conflict.current else 0)
        return _render_user(user_id, memory_form=form, status=412, conflict=conflict)
    except service.MemoryDisabled:
        flash(MEMORY_OFF, "error")
        return _render_user(user_id, memory_form=form, status=409)
    flash("Memory saved.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/revisions/<int:revision_id>/restore", methods=["POST"])
def restore(user_id: int, revision_id: int):
    user_id, revision_id = _checked_ids(user_id, revision_id)
    form = RestoreForm()
    if not form.validate_on_submit():
        flash(" ".join(form.version.errors) or "The form is out of date.", "error")
        return redirect(url_for("admin.user", user_id=user_id))
    try:
        service.restore_revision(user_id, revision_id, _actor(), expected_version=form.version.data)
    except service.RevisionNotFound:
        abort(404)
    except service.VersionConflict:
        flash(
            "Not restored: this memory changed since you opened the page. Check it, then try again.", "error"
        )
    except service.MemoryDisabled:
        flash(MEMORY_OFF, "error")
    else:
        flash("Revision restored: it is the current memory again.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/proposal/<decision>", methods=["POST"])
def decide_proposal(user_id: int, decision: str):
    """Accept or reject the pending proposal the page showed, over the memory version it showed."""
    user_id = _checked_user_id(user_id)
    if decision not in ("accept", "reject"):
        abort(404)
    form = ProposalDecisionForm()
    if not form.validate_on_submit():
        flash(STALE_FORM, "error")
        return redirect(url_for("admin.user", user_id=user_id))
    try:
        if decision == "accept":
            accept_proposal(user_id, _actor(), form.proposal_id.data, expected_version=form.version.data)
            flash("Proposal accepted: it is the memory now.", "success")
        else:
            reject_proposal(user_id, _actor(), form.proposal_id.data)
            flash("Proposal rejected: the memory stays as it was.", "success")
    except (NoProposal, ProposalReplaced):
        flash(
            "That proposal is no longer pending (replaced by a newer one, or decided). Check it below.",
            "error",
        )
    except (service.VersionConflict, ProposalStale):
        flash("Not accepted: the memory changed since the proposal was made. Consolidate again.", "error")
    except service.MemoryDisabled:
        flash(MEMORY_OFF, "error")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/consolidate", methods=["POST"])
def consolidate(user_id: int):
    """Queue a background consolidation of the user's recorded turns now (audited)."""
    user_id = _checked_user_id(user_id)
    if not ConsolidateNowForm().validate_on_submit():
        flash("The form is out of date: try again.", "error")
    elif consolidate_now(user_id, _actor()):
        flash("Consolidation queued: a worker merges the recorded turns into the memory shortly.", "success")
    else:
        flash("No job queue is configured (AURA_QUEUE_URL), so nothing can run in the background.", "error")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/settings", methods=["POST"])
def memory_switch(user_id: int):
    """Switch the user's memory on or off (audited; deletes nothing)."""
    user_id = _checked_user_id(user_id)
    form = MemorySwitchForm()
    if form.validate_on_submit():
        enabled = form.enabled.data == "on"
        update_settings(user_id, _actor(), enabled)
        flash(
            "Memory switched on: chat uses it again."
            if enabled
            else "Memory switched off: chat leaves it out and saves are refused. Nothing was deleted.",
            "success",
        )
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/export", methods=["POST"])
def export(user_id: int):
    """The same JSON document as the API's export, as a download (the download is audited).

    A POST with the CSRF token: as a GET, any site could make a logged-in staff member's
    browser add audit entries (and fetch the data) with a link.
    """
    user_id = _checked_user_id(user_id)
    text, filename = export_file(export_memory(user_id, actor=_actor()))
    return Response(
        text,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/users/<int:user_id>/delete", methods=["GET", "POST"])
def delete(user_id: int):
    user_id = _checked_user_id(user_id)
    form = DeleteForm()
    if form.validate_on_submit():
        erase = form.mode.data == "erase"
        deleted = service.delete_memory(user_id, _actor(), keep_history=not erase)
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
