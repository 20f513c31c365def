"""Staff sign-in pages: log in (rate-limited per address), log out (every session of the account)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from aura.admin.forms import LoginForm
from aura.admin.sessions import end_session, start_session
from aura.auth.staff import authenticate
from aura.web.rate_limits import count_login_attempt


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


def logout():
    """POST only (CSRF-checked by CSRFProtect), so a link on another site cannot log staff out.

    Ends every session of the account, so a copy of the cookie stops working too.
    """
    end_session(current_user._get_current_object())
    flash("Logged out.", "success")
    return redirect(url_for("admin.login"))


def index():
    return redirect(url_for("admin.users"))
