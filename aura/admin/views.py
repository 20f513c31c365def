"""Admin pages (thin views: forms and schemas in, service calls, templates out)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from marshmallow import ValidationError

from aura.admin.forms import DeleteForm, LoginForm, MemoryForm
from aura.admin.queries import SORTS, search_users
from aura.chat.prompt import build_messages
from aura.extensions import limiter, login_manager
from aura.memory import service
from aura.schemas import UserIdPathSchema, UserListArgsSchema
from aura.staff import authenticate

bp = Blueprint("admin", __name__, url_prefix="/admin")
user_list_args = UserListArgsSchema()
user_id_path = UserIdPathSchema()
NEXT_MESSAGE_PLACEHOLDER = "(the user's next message)"


@bp.before_request
def require_login():
    """Every admin page needs a logged-in staff member, except the login page itself."""
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


def _safe_next(target: str | None) -> str:
    """Only same-site admin paths: never an open redirect to another host."""
    if target and target.startswith("/admin") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("admin.users")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["AURA_RATE_LIMIT_LOGIN"],
    methods=["POST"],
    key_func=lambda: request.remote_addr,
)
def login():
    """Password guessing is slowed per client address (429 page beyond the limit)."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.users"))
    form = LoginForm()
    if form.validate_on_submit():
        staff = authenticate(form.email.data, form.password.data)
        if staff is not None:
            session.permanent = True  # expires after AURA_SESSION_HOURS, not "whenever"
            login_user(staff)
            current_app.logger.info("staff %s logged in", staff.id)
            flash("Logged in.", "success")
            return redirect(_safe_next(request.args.get("next")))
        flash("Wrong email or password.", "error")
        return render_template("admin/login.html", form=form), 401
    return render_template("admin/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """POST only (CSRF-checked by CSRFProtect), so a link on another site cannot log staff out."""
    logout_user()
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


def _render_user(user_id: int, memory_form: MemoryForm | None = None, status: int = 200):
    memory = service.get_memory(user_id)
    if memory_form is None:
        memory_form = MemoryForm(content=memory.content if memory else "")
    page = min(max(request.args.get("page", 1, type=int), 1), 1_000_000)  # a page, not an error
    revisions = service.list_revisions(user_id, page=page, per_page=20)
    preview = build_messages(
        system_prompt=current_app.config["AURA_SYSTEM_PROMPT"],
        memory_content=memory.content if memory else None,
        history=[],
        message=NEXT_MESSAGE_PLACEHOLDER,
        max_chars=current_app.config["AURA_CHAT_MAX_PROMPT_CHARS"],
    )
    html = render_template(
        "admin/user.html",
        user_id=user_id,
        memory=memory,
        form=memory_form,
        revisions=revisions,
        audit=service.list_audit_events(user_id),
        preview=preview,
        max_chars=current_app.config["AURA_MAX_MEMORY_CHARS"],
    )
    return html, status


@bp.route("/users/<int:user_id>")
def user(user_id: int):
    return _render_user(_checked_user_id(user_id))


@bp.route("/users/<int:user_id>/memory", methods=["POST"])
def edit_memory(user_id: int):
    user_id = _checked_user_id(user_id)
    form = MemoryForm()
    if not form.validate_on_submit():
        flash("The memory was not saved: fix the errors below.", "error")
        return _render_user(user_id, memory_form=form, status=422)
    service.save_memory(user_id, form.content.data, service.RevisionSource.STAFF, _actor())
    flash("Memory saved.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/revisions/<int:revision_id>/restore", methods=["POST"])
def restore(user_id: int, revision_id: int):
    user_id = _checked_user_id(user_id)
    try:
        service.restore_revision(user_id, revision_id, _actor())
    except service.RevisionNotFound:
        abort(404)
    flash(f"Revision #{revision_id} restored.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


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
