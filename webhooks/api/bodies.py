"""The JSON bodies the API accepts, as marshmallow schemas that refuse unknown fields (`unknown = RAISE`).

Each schema is both the check (400 `invalid_body` naming every bad field) and, through the OpenAPI
generator, the documentation of the body.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from marshmallow import RAISE, Schema, ValidationError, fields
from marshmallow.validate import Length, OneOf

from connector.const import STORE_ID_MAX
from connector.guardrails.consent import ACTIONS, GRANT, METHODS
from connector.messaging.purpose import CONVERSATION, PURPOSES
from connector.queries.documents import MAX_BYTES as DOCUMENT_MAX_BYTES
from connector.services.triage import NOTE_MAX
from connector.staff.users import ROLES
from connector.triage.judge import SITUATIONS


class StrictBoolean(fields.Field[bool]):
    """JSON `true`/`false` only: marshmallow's Boolean also takes "yes", 1 and "off", which hides client bugs."""

    json_schema: Final = {"type": "boolean"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean: use true or false.")
        return value


class RecordId(fields.Field[int]):
    """A positive whole-number id the store can hold; JSON `true` is not 1 and "5" is not 5."""

    json_schema: Final = {"type": "integer", "minimum": 1, "maximum": STORE_ID_MAX}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= STORE_ID_MAX:
            raise ValidationError("Not a valid id: use a positive whole number.")
        return value


class UserRef(fields.Field[str | int]):
    """A person named by email address or by user id."""

    json_schema: Final = {
        "oneOf": [
            {"type": "string", "minLength": 1, "maxLength": 320},
            {"type": "integer", "minimum": 1, "maximum": STORE_ID_MAX},
        ]
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | int:
        if isinstance(value, str) and 0 < len(value.strip()) <= 320:
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= STORE_ID_MAX:
            return value
        raise ValidationError("Not a valid user: use an email address or a user id.")


class Moment(fields.Field[datetime]):
    """An ISO 8601 date-time with its offset (`2026-12-10T17:00:00-05:00`, or `Z`): a time without one would be
    read in whichever zone the server is in."""

    json_schema: Final = {"type": "string", "format": "date-time"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
            if moment is not None and moment.tzinfo is not None:
                moment = moment.astimezone(UTC)  # a year-9999 time with an offset may not fit in UTC
        except (ValueError, OverflowError):
            moment = None
        if moment is None or moment.tzinfo is None:
            raise ValidationError("Not a valid date-time: use ISO 8601 with an offset, e.g. 2026-12-10T17:00:00-05:00.")
        return moment


class AwayBody(Schema):
    """Time away: who covers, until when, from when (default now), and why."""

    class Meta:
        unknown = RAISE

    backup_id = RecordId(required=True, metadata={"description": "The user who covers meanwhile."})
    starts_at = Moment(load_default=None, allow_none=True, metadata={"description": "When it starts; default now."})
    ends_at = Moment(required=True, metadata={"description": "When the person is back (at most a year on)."})
    reason = fields.String(
        load_default=None, allow_none=True, validate=Length(max=500), metadata={"description": "Why, for colleagues."}
    )


class Recipients(fields.Field[str | list[str]]):
    """One number, as a string; a list (or numbers separated by commas) names several, which the sender refuses
    as `bulk_refused` (Matterline texts one client at a time), so the field takes them to say so."""

    json_schema: Final = {
        "oneOf": [
            {"type": "string", "minLength": 1, "maxLength": 200},
            {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 100},
        ]
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | list[str]:
        if isinstance(value, str) and 0 < len(value.strip()) <= 200:
            return value.strip()
        if (
            isinstance(value, list)
            and len(value) <= 100
            and all(isinstance(item, str) and len(item) <= 40 for item in value)
        ):
            return value
        raise ValidationError("Not a valid recipient: use one phone number.")


class SendBody(Schema):
    """A text to send. Length, emptiness and media rules are checked by the sender (422), not here."""

    class Meta:
        unknown = RAISE

    body = fields.String(load_default="", metadata={"description": "The text; at most 1,600 characters."})
    media_urls = fields.List(
        fields.String(),
        load_default=list,
        metadata={"description": "https:// URLs of media to attach (MMS), at most 10."},
    )
    override_reason = fields.String(
        load_default=None,
        validate=Length(max=500),
        metadata={
            "description": "Why the text goes despite content-rule warnings (audited); blocks cannot be overridden."
        },
    )
    quiet_hours_reason = fields.String(
        load_default=None,
        validate=Length(max=500),
        metadata={
            "description": "Attorneys and admins: why the text goes now, during the recipient's quiet hours (audited)."
        },
    )
    to = Recipients(
        load_default=None,
        metadata={
            "description": "Texting a matter: one of the numbers of its client or related people (default: the "
            "client's primary number). Several numbers are refused (409 `bulk_refused`)."
        },
    )
    purpose = fields.String(
        load_default=CONVERSATION,
        validate=OneOf(PURPOSES),
        metadata={
            "description": "`conversation`, or `notice`: a one-way text that is the reply template `template` as "
            "written (422 `template_required` otherwise). `reminder` is refused (422 `reminder_refused`): reminders "
            "come from the CMS calendar."
        },
    )
    template = fields.String(
        load_default=None,
        validate=Length(min=1, max=40),
        metadata={"description": "The reply template (its id) a notice is sent from."},
    )


class CheckBody(Schema):
    """A draft to check against the content rules."""

    class Meta:
        unknown = RAISE

    body = fields.String(required=True, validate=Length(max=1600), metadata={"description": "The draft text."})


class ConsentBody(Schema):
    """A consent (or its withdrawal) as the client gave it."""

    class Meta:
        unknown = RAISE

    phone = fields.String(required=True, validate=Length(min=1, max=40), metadata={"description": "The number."})
    action = fields.String(
        load_default=GRANT, validate=OneOf(ACTIONS), metadata={"description": "A grant, or its withdrawal."}
    )
    method = fields.String(required=True, validate=OneOf(METHODS), metadata={"description": "How the client gave it."})
    scope = fields.String(
        load_default="all matters", validate=Length(min=1, max=256), metadata={"description": "What it covers."}
    )
    source = fields.String(
        load_default=None, validate=Length(max=500), metadata={"description": "Where it is written down."}
    )
    matter_cms_id = fields.String(
        load_default=None, validate=Length(max=64), metadata={"description": "The matter it was given in."}
    )


class SummaryEditBody(Schema):
    """A staff edit of a summary draft; the marker that makes it findable in the CMS is kept."""

    class Meta:
        unknown = RAISE

    subject = fields.String(validate=Length(min=1, max=250), metadata={"description": "The note's subject."})
    body = fields.String(validate=Length(min=1, max=60_000), metadata={"description": "The note's text."})


class AssignBody(Schema):
    """Who a thread goes to."""

    class Meta:
        unknown = RAISE

    assignee = UserRef(
        required=True, allow_none=True, metadata={"description": "Email or user id; null leaves it unassigned."}
    )


class ReadBody(Schema):
    """How far a thread has been read."""

    class Meta:
        unknown = RAISE

    message_id = RecordId(
        load_default=None,
        allow_none=True,
        metadata={"description": "Read up to and including this message; default: the newest."},
    )


class UrgentBody(Schema):
    """The urgent flag."""

    class Meta:
        unknown = RAISE

    urgent = StrictBoolean(required=True, metadata={"description": "true flags the thread urgent; false clears it."})


class TriageCorrectionBody(Schema):
    """Staff's word on one client text: urgent or not, and for an urgent one its situation."""

    class Meta:
        unknown = RAISE

    urgent = StrictBoolean(
        required=True,
        metadata={
            "description": "true: the text is urgent (a text triage missed); false: it is not (a flag taken back)."
        },
    )
    category = fields.String(
        load_default=None,
        allow_none=True,
        validate=OneOf(tuple(SITUATIONS)),
        metadata={
            "description": "An urgent text's situation; null keeps triage's, or `other` when triage named none. "
            "Leave it null for a text that is not urgent."
        },
    )
    note = fields.String(
        load_default=None,
        allow_none=True,
        validate=Length(max=NOTE_MAX),
        metadata={"description": "Why, for whoever reviews the label; kept with the correction, never audited."},
    )


class RefileBody(Schema):
    """Where a thread or message is re-filed."""

    class Meta:
        unknown = RAISE

    matter_cms_id = fields.String(
        required=True, validate=Length(min=1, max=64), metadata={"description": "The CMS id of the matter."}
    )


class UnreadBody(Schema):
    """From which message a thread is unread again."""

    class Meta:
        unknown = RAISE

    message_id = RecordId(
        load_default=None,
        allow_none=True,
        metadata={"description": "Unread from this message on; default: the newest client text."},
    )


class ReasonBody(Schema):
    """Why (kept in the audit log)."""

    class Meta:
        unknown = RAISE

    reason = fields.String(
        required=True, validate=Length(min=1, max=500), metadata={"description": "Why (kept in the audit log)."}
    )


class ReplayBody(Schema):
    """Which dead letters go back in the queue."""

    class Meta:
        unknown = RAISE

    job_ids = fields.List(
        RecordId(),
        load_default=None,
        allow_none=True,
        validate=Length(min=1, max=500),
        metadata={"description": "The dead jobs to replay; null replays every dead letter."},
    )


class UserBody(Schema):
    """A person to add."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=Length(min=1, max=200), metadata={"description": "Full name."})
    email = fields.String(required=True, validate=Length(min=3, max=320), metadata={"description": "Email."})
    role = fields.String(required=True, validate=OneOf(ROLES), metadata={"description": "admin, attorney or staff."})


class IntakeRetryBody(Schema):
    """Which set-aside texts intake takes again."""

    class Meta:
        unknown = RAISE

    message_ids = fields.List(
        RecordId(),
        load_default=None,
        allow_none=True,
        validate=Length(min=1, max=500),
        metadata={"description": "The set-aside texts to retry; null retries every one."},
    )


class DocumentBody(Schema):
    """A new version of one of the firm's documents, or null to hand it back to its file."""

    class Meta:
        unknown = RAISE

    text = fields.String(
        required=True,
        allow_none=True,
        validate=Length(min=1, max=DOCUMENT_MAX_BYTES),
        metadata={"description": "The document as its file would hold it (JSON text); null: back to the file."},
    )
    reason = fields.String(
        load_default=None, validate=Length(max=500), metadata={"description": "Why (kept in the audit log)."}
    )


class TryRulesBody(Schema):
    """An unsaved edit of the content rules, and a draft to try against it."""

    class Meta:
        unknown = RAISE

    rules = fields.String(
        required=True, validate=Length(min=1, max=DOCUMENT_MAX_BYTES), metadata={"description": "The rules (JSON)."}
    )
    draft = fields.String(required=True, validate=Length(max=1600), metadata={"description": "The draft text."})


class MappingPreviewBody(Schema):
    """An unsaved override of the field mapping, to read live CMS records through."""

    class Meta:
        unknown = RAISE

    text = fields.String(
        required=True, validate=Length(min=1, max=DOCUMENT_MAX_BYTES), metadata={"description": "The override (JSON)."}
    )
