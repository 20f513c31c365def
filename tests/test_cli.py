"""`flask staff ...` commands: accounts exist only when an operator creates them."""

from __future__ import annotations

from werkzeug.security import check_password_hash

from aura.auth.staff import authenticate
from aura.models import StaffUser

PASSWORD = "a long enough passphrase"


def test_create_prompts_for_password_and_stores_only_a_hash(runner, db):
    result = runner.invoke(args=["staff", "create", "Ops@Aura.Example"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Created staff account ops@aura.example" in result.output
    account = db.session.query(StaffUser).one()
    assert account.email == "ops@aura.example"
    assert PASSWORD not in account.password_hash
    assert account.password_hash.startswith("scrypt:")
    assert check_password_hash(account.password_hash, PASSWORD)


def test_a_short_password_is_refused_at_the_first_prompt_which_asks_again(runner, db):
    result = runner.invoke(args=["staff", "create", "a@b.example"], input=f"short\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "at least 12" in result.output
    assert result.output.count("Repeat for confirmation") == 1  # the short one was never asked twice
    assert db.session.query(StaffUser).count() == 1


def test_create_rejects_short_passwords_on_the_command_line_and_duplicates(runner, db):
    short = runner.invoke(args=["staff", "create", "a@b.example", "--password", "short"])
    assert short.exit_code != 0 and "at least 12" in short.output
    runner.invoke(args=["staff", "create", "a@b.example"], input=f"{PASSWORD}\n{PASSWORD}\n")
    again = runner.invoke(args=["staff", "create", "A@B.example"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert again.exit_code != 0 and "already exists" in again.output
    assert db.session.query(StaffUser).count() == 1


def test_create_rejects_a_bad_email(runner, db):
    result = runner.invoke(args=["staff", "create", "not-an-email"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code != 0 and "not a valid email" in result.output


def test_there_is_no_default_account(db):
    assert db.session.query(StaffUser).count() == 0


def test_set_password_deactivate_and_list(runner, db):
    runner.invoke(args=["staff", "create", "a@b.example"], input=f"{PASSWORD}\n{PASSWORD}\n")
    new = "another long passphrase"
    assert (
        runner.invoke(args=["staff", "set-password", "a@b.example"], input=f"{new}\n{new}\n").exit_code == 0
    )
    assert authenticate("a@b.example", PASSWORD) is None
    assert authenticate("a@b.example", new) is not None
    assert runner.invoke(args=["staff", "deactivate", "a@b.example"]).exit_code == 0
    assert authenticate("a@b.example", new) is None
    listed = runner.invoke(args=["staff", "list"]).output
    assert "a@b.example\tdeactivated" in listed
    missing = runner.invoke(args=["staff", "deactivate", "nobody@b.example"])
    assert missing.exit_code != 0 and "No staff account" in missing.output
