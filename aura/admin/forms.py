"""Flask-WTF forms of the admin pages: CSRF on every one, memory rules shared with the API."""

from __future__ import annotations

from flask_wtf import FlaskForm
from marshmallow import ValidationError as SchemaError
from wtforms import EmailField, PasswordField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from aura.schemas import validate_memory_content


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class MemoryForm(FlaskForm):
    content = TextAreaField("Memory", validators=[DataRequired(message="Memory content must not be empty.")])

    def validate_content(self, field) -> None:
        """The very rule the JSON API applies (length limit, no blank or NUL text)."""
        try:
            validate_memory_content(field.data or "")
        except SchemaError as error:
            raise ValidationError(" ".join(error.messages)) from None


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
