"""`flask staff ...` (support-staff accounts; there is no default one) and `flask auth ...` (user tokens)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import click
from flask.cli import AppGroup

from aura.auth import staff
from aura.auth.tokens import mint_user_token
from aura.schemas import MAX_USER_ID

staff_cli = AppGroup("staff", help="Manage support-staff accounts for the admin pages.")


def _as_click_errors(command: Callable) -> Callable:
    """Show a StaffError as a one-line CLI error (exit code 1), not a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except staff.StaffError as error:
            raise click.ClickException(str(error)) from None

    return wrapper


class StaffPassword(click.ParamType):
    """Checked as it is typed: a password too short is refused at the first prompt, which asks
    again, instead of after it was typed twice (then the command exited)."""

    name = "password"

    def convert(self, value, param, ctx):
        try:
            staff.check_password(value)
        except staff.StaffError as error:
            self.fail(str(error), param, ctx)
        return value


@staff_cli.command("create")
@click.argument("email")
@click.password_option(type=StaffPassword(), help="Prompted (twice) when not given.")
@_as_click_errors
def create(email: str, password: str) -> None:
    """Create a staff account; the password is prompted and stored hashed."""
    account = staff.create_staff(email, password)
    click.echo(f"Created staff account {account.email} (id {account.id}). Log in at /admin/login.")


@staff_cli.command("set-password")
@click.argument("email")
@click.password_option(type=StaffPassword())
@_as_click_errors
def set_password(email: str, password: str) -> None:
    """Replace a staff member's password."""
    staff.set_password(email, password)
    click.echo(f"Password changed for {staff.normalize_email(email)}.")


@staff_cli.command("deactivate")
@click.argument("email")
@_as_click_errors
def deactivate(email: str) -> None:
    """Block an account from logging in (its history stays attributed)."""
    staff.set_active(email, False)
    click.echo(f"Deactivated {staff.normalize_email(email)}.")


@staff_cli.command("list")
def list_accounts() -> None:
    """Show every staff account."""
    for account in staff.list_staff():
        state = "active" if account.active else "deactivated"
        click.echo(f"{account.id}\t{account.email}\t{state}")


auth_cli = AppGroup("auth", help="API credentials for local testing and internal tools.")


@auth_cli.command("mint-token")
@click.argument("user_id", type=click.IntRange(1, MAX_USER_ID))
@click.option("--minutes", type=click.IntRange(1, 60 * 24 * 30), default=60, show_default=True)
def mint_token(user_id: int, minutes: int) -> None:
    """Print a user token (JWT signed with AURA_JWT_SECRET) that may act only for USER_ID."""
    try:
        click.echo(mint_user_token(user_id, minutes))
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
