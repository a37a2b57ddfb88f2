"""The Clio vocabulary and sandbox fixtures every part of the sandbox CMS reads, kept in one place."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

API_PREFIX: Final = "/api/v4"
OAUTH_PATH: Final = "/oauth/token"
AUTHORIZE_PATH: Final = "/oauth/authorize"
CONTROL_PREFIX: Final = "/_sandbox/"
API_VERSION: Final = "4.0.13"
DEFAULT_TOKEN: Final = "sandbox-token"  # noqa: S105 - a well-known sandbox fixture, not a secret
DEFAULT_CLIENT_ID: Final = "sandbox-client"
DEFAULT_CLIENT_SECRET: Final = "sandbox-secret"  # noqa: S105 - sandbox fixture
DEFAULT_REFRESH_TOKEN: Final = "sandbox-refresh"  # noqa: S105 - sandbox fixture
ACCESS_TOKEN_TTL: Final = 2_592_000
# An authorization code is good for one exchange within this long (Clio's exact figure is not published).
AUTHORIZATION_CODE_TTL: Final = timedelta(minutes=10)
# A custom action's nonce is good for one request within this long ([community] in the reference brief).
CUSTOM_ACTION_NONCE_TTL: Final = timedelta(seconds=60)
CUSTOM_ACTION_UI_REFERENCES: Final = (
    "activities/show",
    "documents/show",
    "contacts/show",
    "matters/show",
    "folders/show",
)
# The custom actions whose click the sandbox can simulate: the subject each one's page shows.
CUSTOM_ACTION_SUBJECTS: Final = {"matters/show": "matters", "contacts/show": "contacts"}
INVALID_TOKEN_BODY: Final = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons.",
}
MAX_LIMIT: Final = 200
ID_ORDER: Final = "id(asc)"
DATE_ORDER: Final = "date(asc)"
MAX_EXTERNAL_PROPERTIES: Final = 5
MAX_WEBHOOK_FIELDS_LENGTH: Final = 1000
WEBHOOK_DEFAULT_TTL: Final = timedelta(days=3)
WEBHOOK_MAX_TTL: Final = timedelta(days=31)
WEBHOOK_TIMEOUT: Final = 5.0
WEBHOOK_MODELS: Final = (
    "matter",
    "activity",
    "bill",
    "calendar_entry",
    "communication",
    "contact",
    "task",
    "document",
    "folder",
    "clio_payments_payment",
)
WEBHOOK_EVENTS: Final = ("created", "updated", "deleted", "matter_opened", "matter_pended", "matter_closed")
MATTER_ONLY_EVENTS: Final = frozenset({"matter_opened", "matter_pended", "matter_closed"})
MATTER_STATUSES: Final = {"open": "Open", "pending": "Pending", "closed": "Closed"}
STATUS_EVENTS: Final = {"Open": "matter_opened", "Pending": "matter_pended", "Closed": "matter_closed"}
STATUS_DATES: Final = {"Open": "open_date", "Pending": "pending_date", "Closed": "close_date"}
NOTE_TYPES: Final = ("Matter", "Contact")
TEXT_TYPES: Final = ("plain_text", "rich_text")
COMMUNICATION_TYPES: Final = ("PhoneCommunication", "EmailCommunication")
PARTICIPANT_TYPES: Final = ("User", "Contact")
TASK_PRIORITIES: Final = ("High", "Normal", "Low")
TASK_STATUSES: Final = ("pending", "in_progress", "in_review", "complete")
PHONE_LABELS: Final = ("Mobile", "Work", "Home", "Personal", "Other", "Fax", "Pager", "Skype")
COUNT_CACHE_SIZE: Final = 256
PARTICIPANT: Final = "participant"
ANONYMOUS: Final = "anonymous"
NOTE_ID_BASE: Final = 70_000_000
COMMUNICATION_ID_BASE: Final = 80_000_000
TASK_ID_BASE: Final = 90_000_000
WEBHOOK_ID_BASE: Final = 1_000
CUSTOM_ACTION_ID_BASE: Final = 5_000
SUBRECORD_ID_BASE: Final = 96_000_000
MUTATIONS: Final = frozenset(
    {
        "update_contact",
        "set_phone_numbers",
        "add_contact",
        "delete_contact",
        "update_matter",
        "close_matter",
        "add_matter",
        "delete_matter",
        "add_relationship",
        "add_calendar_entry",
        "update_calendar_entry",
        "move_calendar_entry",
        "delete_calendar_entry",
        "expire_token",
        "expire_all_tokens",
        "add_token",
    }
)
