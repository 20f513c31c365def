"""Staff accounts: creation, password checks and session loading for the admin pages."""

from __future__ import annotations

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from aura.extensions import db, login_manager
from aura.models import StaffUser, utcnow

MIN_PASSWORD_LENGTH = 12
# Checked when the email is unknown, so a login takes as long whether or not the account exists.
_DUMMY_HASH = generate_password_hash("not-a-real-password-only-for-timing")


class StaffError(ValueError):
    """A staff account request that cannot be honoured (message is safe to show)."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _check_email(email: str) -> str:
    email = normalize_email(email)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise StaffError(f"{email!r} is not a valid email address.")
    return email


def check_password(password: str) -> None:
    """Refuse a password too short to keep staff accounts safe (StaffError saying why)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")


def find_staff(email: str) -> StaffUser | None:
    return db.session.scalar(select(StaffUser).where(StaffUser.email == normalize_email(email)))


def create_staff(email: str, password: str) -> StaffUser:
    """A new active account; the password is stored only as a scrypt hash."""
    email = _check_email(email)
    check_password(password)
    if find_staff(email) is not None:
        raise StaffError(f"A staff account for {email} already exists.")
    staff = StaffUser(email=email, password_hash=generate_password_hash(password))
    db.session.add(staff)
    db.session.commit()
    return staff


def set_password(email: str, password: str) -> None:
    staff = find_staff(email)
    if staff is None:
        raise StaffError(f"No staff account for {normalize_email(email)}.")
    check_password(password)
    staff.password_hash = generate_password_hash(password)
    staff.session_version += 1  # whoever had the old password is signed out everywhere
    db.session.commit()


def set_active(email: str, active: bool) -> None:
    staff = find_staff(email)
    if staff is None:
        raise StaffError(f"No staff account for {normalize_email(email)}.")
    staff.active = active
    staff.session_version += 1
    db.session.commit()


def list_staff() -> list[StaffUser]:
    return list(db.session.scalars(select(StaffUser).order_by(func.lower(StaffUser.email))))


def authenticate(email: str, password: str) -> StaffUser | None:
    """The active account these credentials belong to, or None (same work either way)."""
    staff = find_staff(email)
    if staff is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(staff.password_hash, password) or not staff.active:
        return None
    staff.last_login_at = utcnow()
    db.session.commit()
    return staff


def end_all_sessions(staff: StaffUser) -> None:
    """Sign the account out everywhere: every session cookie issued so far stops working."""
    staff.session_version += 1
    db.session.commit()


@login_manager.user_loader
def load_staff(session_id: str) -> StaffUser | None:
    """The account of a session, if the session is still current (its version matches)."""
    staff_id, _, version = session_id.partition(":")
    try:
        staff = db.session.get(StaffUser, int(staff_id))
    except ValueError:
        return None
    if staff is None or str(staff.session_version) != version:
        return None
    return staff
