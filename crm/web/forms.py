"""The pages' forms (Flask-WTF: CSRF token, labels, validation messages shown beside each field)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp

from crm.auth.models import ROLES
from crm.channels.models import CHANNELS, PROVIDERS

CALL_OUTCOMES = ("answered", "missed", "voicemail")


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=100)])


class NoteForm(FlaskForm):
    text = TextAreaField("Note", validators=[DataRequired(), Length(max=10_000)])


class CallForm(FlaskForm):
    direction = SelectField(
        "Direction", choices=[SelectChoice("outbound", "We called them"), SelectChoice("inbound", "They called us")]
    )
    outcome = SelectField("Outcome", choices=[SelectChoice(o, o.capitalize()) for o in CALL_OUTCOMES])
    duration_min = IntegerField(
        "Duration (minutes)", validators=[Optional(), NumberRange(min=0, max=24 * 60)], default=None
    )
    text = TextAreaField("Call notes", validators=[Optional(), Length(max=10_000)])


class NewUserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=320)])
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    role = SelectField("Role", choices=[SelectChoice(r) for r in ROLES])
    password = PasswordField("Initial password", validators=[DataRequired(), Length(min=8, max=200)])


class UserRoleForm(FlaskForm):
    role = SelectField("Role", choices=[SelectChoice(r) for r in ROLES])
    active = BooleanField("Active")


class NewSourceForm(FlaskForm):
    slug = StringField(
        "Slug (the webhook path)",
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(r"^[a-z0-9_-]+$", message="lower-case letters, digits, - and _"),
        ],
    )
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    channel = SelectField("Channel", choices=[SelectChoice(c) for c in CHANNELS])
    provider = SelectField("Provider", choices=[SelectChoice(p) for p in PROVIDERS])
    secret = PasswordField(
        "Signing secret (leave empty for a random one)", validators=[Optional(), Length(min=16, max=512)]
    )


class RotateForm(FlaskForm):
    secret = PasswordField(
        "New secret (leave empty for a random one)", validators=[Optional(), Length(min=16, max=512)]
    )


class PrivacyLookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it reads, it changes nothing

    customer = StringField("Customer id, email or phone", validators=[DataRequired(), Length(max=320)])


class EraseForm(FlaskForm):
    customer_id = HiddenField(validators=[DataRequired()])
    confirm = StringField("Type ERASE to confirm", validators=[DataRequired()])


class DashboardFilters(FlaskForm):
    """The dashboard's GET filters: what the metrics API is asked for."""

    class Meta:
        csrf = False

    since = DateField("From", validators=[Optional()])
    until = DateField("Until (not included)", validators=[Optional()])
    period = SelectField(
        "Points per", choices=[SelectChoice("day"), SelectChoice("week"), SelectChoice("month")], default="week"
    )
    channel = SelectField(
        "Channel", choices=[SelectChoice("", "all channels")] + [SelectChoice(c) for c in CHANNELS], default=""
    )
    segment = SelectField("Segment", choices=[SelectChoice("", "all customers")], default="")
