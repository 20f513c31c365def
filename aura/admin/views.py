"""The admin blueprint: every page needs a staff session, and this is the table of its URLs.

The pages themselves live by family (session_pages, user_pages, memory_pages): thin views, forms
and schemas in, service calls, templates out.
"""

from __future__ import annotations

from flask import Blueprint, flash, request
from flask_login import current_user

from aura.admin import memory_pages, session_pages, user_pages
from aura.admin.sessions import drop_session, session_problem
from aura.extensions import login_manager

bp = Blueprint("admin", __name__, url_prefix="/admin")

GET, POST, FORM = ["GET"], ["POST"], ["GET", "POST"]
ROUTES = (
    ("/login", session_pages.login, FORM),
    ("/logout", session_pages.logout, POST),
    ("/", session_pages.index, GET),
    ("/users", user_pages.users, GET),
    ("/users/<int:user_id>", user_pages.user, GET),
    ("/users/<int:user_id>/revisions/<int:revision_id>/diff", user_pages.revision_diff, GET),
    ("/users/<int:user_id>/memory", memory_pages.edit_memory, POST),
    ("/users/<int:user_id>/revisions/<int:revision_id>/restore", memory_pages.restore, POST),
    ("/users/<int:user_id>/proposal/<decision>", memory_pages.decide_proposal, POST),
    ("/users/<int:user_id>/consolidate", memory_pages.consolidate, POST),
    ("/users/<int:user_id>/webhooks/<int:delivery_id>/redeliver", memory_pages.redeliver_webhook, POST),
    ("/users/<int:user_id>/settings", memory_pages.memory_switch, POST),
    ("/users/<int:user_id>/export", memory_pages.export, POST),
    ("/users/<int:user_id>/delete", memory_pages.delete, FORM),
)
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)


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
