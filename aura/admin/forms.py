"""Flask-WTF forms of the admin pages: CSRF on every one, memory rules shared with the API."""

from __future__ import annotations

from flask_wtf import FlaskForm
from marshmallow import ValidationError as SchemaError
from wtforms import EmailField, HiddenField, IntegerField, PasswordField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, ValidationError
from wtforms.widgets import HiddenInput

from aura.schemas import validate_memory_content


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


STALE_FORM = "This form is out of date: reload the page and try again."


class VersionedForm(FlaskForm):
    """A write based on what the page showed: the memory version it displayed (0: no memory)."""

    version = IntegerField(
        widget=HiddenInput(), validators=[InputRequired(message=STALE_FORM), NumberRange(min=0)]
    )

    def show_version(self, version: int) -> None:
        """Re-render with a newer version (WTForms would otherwise echo the submitted one)."""
        self.version.data = version
        self.version.raw_data = [str(version)]


class MemoryForm(VersionedForm):
    content = TextAreaField("Memory", validators=[DataRequired(message="Memory content must not be empty.")])

    def validate_content(self, field) -> None:
        """The very rule the JSON API applies (length limit, no blank or NUL text)."""
        try:
            validate_memory_content(field.data or "")
        except SchemaError as error:
            raise ValidationError(" ".join(error.messages)) from None


class RestoreForm(VersionedForm):
    """The Restore buttons of the history table."""


class MemorySwitchForm(FlaskForm):
    enabled = HiddenField(validators=[AnyOf(["on", "off"])])


class DeleteForm(FlaskForm):
    mode = RadioField(
        "What to delete",
        choices=[
            SelectChoice("clear", "Delete the current memory only (history kept, can be restored)"),
            SelectChoice(
                "erase", "Erase the memory and its whole history (erasure request; cannot be undone)"
            ),
        ],
        default="clear",
        validators=[DataRequired()],
    )


class ConsolidateNowForm(FlaskForm):
    """The "Consolidate now" button: nothing but its CSRF token."""


class RedeliverForm(FlaskForm):
    """A failed webhook delivery's "Send again" button: nothing but its CSRF token."""


class ProposalDecisionForm(VersionedForm):
    """Accept / Reject of a pending proposal: the proposal and the memory version the page showed."""

    proposal_id = IntegerField(widget=HiddenInput(), validators=[InputRequired(message=STALE_FORM)])
