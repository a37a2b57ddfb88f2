"""The store's tables, in SQLAlchemy Core: the sync engine writes whole pages at a time through them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    func,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike.

    SQLite has no time zone type, so values are stored as naive UTC everywhere and re-labelled on read.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# A text's other party: a number, or an RCS or WhatsApp address; one width wherever it is kept.
PARTY = 40

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# People synced from the CMS: clients and the other contacts related to matters.
contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cms_id", String(64), nullable=False, unique=True),
    # What matters point at as their client (the contact id in Clio; the account id in PracticePanther).
    Column("client_key", String(64), nullable=False, index=True),
    Column("name", String(512), nullable=False),
    Column("is_client", Boolean, nullable=False, default=False),
    Column("time_zone", String(64)),
    Column("region_code", String(8)),
    # State or province from the client's address, where the mapping has it (quiet hours by state).
    Column("state", String(64)),
    Column("cms_updated_at", UTCDateTime()),
    Column("fingerprint", String(40), nullable=False),
    Column("seen_run", Integer, nullable=False, default=0),
    Column("deleted_at", UTCDateTime()),
    Column("synced_at", UTCDateTime(), nullable=False),
)

contact_phones = Table(
    "contact_phones",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("raw", String(256), nullable=False),
    # Null when the raw value cannot be read as a phone number; the raw text is kept either way.
    Column("e164", String(20), index=True),
    Column("label", String(64)),
    Column("is_primary", Boolean, nullable=False, default=False),
    Column("parse_error", String(128)),
    UniqueConstraint("contact_id", "e164"),
    Index("ix_contact_phones_contact_id", "contact_id"),
)

matters = Table(
    "matters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cms_id", String(64), nullable=False, unique=True),
    Column("display_number", String(256), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("client_cms_id", String(64), index=True),
    Column("responsible_attorney_cms_id", String(64)),
    Column("responsible_attorney", String(256)),
    Column("cms_updated_at", UTCDateTime()),
    Column("fingerprint", String(40), nullable=False),
    Column("seen_run", Integer, nullable=False, default=0),
    Column("deleted_at", UTCDateTime()),
    Column("synced_at", UTCDateTime(), nullable=False),
)

# Other contacts related to a matter (spouse, guardian, co-defendant), where the mapping says how.
matter_contacts = Table(
    "matter_contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cms_id", String(64), nullable=False, unique=True),
    Column("matter_cms_id", String(64), nullable=False, index=True),
    Column("contact_cms_id", String(64), nullable=False, index=True),
    Column("description", String(256)),
    Column("cms_updated_at", UTCDateTime()),
    Column("fingerprint", String(40), nullable=False),
    Column("seen_run", Integer, nullable=False, default=0),
    Column("deleted_at", UTCDateTime()),
    Column("synced_at", UTCDateTime(), nullable=False),
)

# One row per synced resource. `bookmark` moves only when a run finishes; `resume_url` moves with
# each committed page, so a killed run resumes where it stopped and ends where an unbroken one would.
sync_state = Table(
    "sync_state",
    metadata,
    Column("resource", String(64), primary_key=True),
    Column("bookmark", UTCDateTime()),
    Column("run_seq", Integer, nullable=False, default=0),
    Column("run_full", Boolean, nullable=False, default=False),
    Column("run_started_at", UTCDateTime()),
    Column("resume_url", Text),
    Column("last_completed_at", UTCDateTime()),
    Column("last_error", Text),
)

# Contact/matter changes announced by a CMS webhook without the record itself; fetched by the worker.
pending_refresh = Table(
    "pending_refresh",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resource", String(64), nullable=False),
    Column("cms_id", String(64), nullable=False),
    Column("event", String(32), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    UniqueConstraint("resource", "cms_id"),
)

oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    Column("vendor", String(64), primary_key=True),
    Column("access_token", Text),
    Column("refresh_token", Text),
    Column("expires_at", UTCDateTime()),
    Column("updated_at", UTCDateTime(), nullable=False),
)

cms_webhooks = Table(
    "cms_webhooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("vendor", String(64), nullable=False),
    Column("cms_id", String(64), nullable=False),
    Column("model", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("shared_secret", Text),
    Column("expires_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("details", JSON),
    UniqueConstraint("vendor", "cms_id"),
)

# -- people who use Matterline ------------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(256), nullable=False),
    Column("email", String(320), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # admin | attorney | staff
    Column("created_at", UTCDateTime(), nullable=False),
    Column("disabled_at", UTCDateTime()),
    Column("password_hash", String(256)),  # argon2id, with its own salt and parameters; None: no password
    Column("privacy_mode", Boolean),  # the person's own choice; None: the firm's default (MATTERLINE_PRIVACY_MODE)
    # The CMS user this person is (Clio's user id), recorded when they link it; sign-in with the CMS matches it.
    Column("cms_user_id", String(64), unique=True),
)

# A one-time link that sets a password (an invite, or a reset). Only the SHA-256 of its token is kept, as the id.
signin_links = Table(
    "signin_links",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("purpose", String(8), nullable=False),  # invite | reset
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),  # a newer link for the same person and purpose, or a password set since
)

# A person's own CMS tokens (from "Sign in with Clio"), sealed with MATTERLINE_SECRET_KEY: custom actions
# are per user in Clio, and a click's nonce is checked with the clicker's token.
cms_user_tokens = Table(
    "cms_user_tokens",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text),
    Column("expires_at", UTCDateTime()),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# An OAuth `state` handed to the CMS's authorize page: bound to the browser by a cookie, used once.
# Only a SHA-256 of the value is kept; `user_id` is set when a signed-in person links their account.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("purpose", String(16), nullable=False),  # signin | link
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE")),
    Column("next_path", String(512), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, index=True),
)

# A signed-in browser. The cookie holds a random token; only its SHA-256 is kept, as the id.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime()),
)

# Failed sign-ins, kept in the store so every process counts the same ones (the throttle).
signin_failures = Table(
    "signin_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("email", String(320), nullable=False, index=True),
    Column("address", String(64), nullable=False, index=True),
)

# Only a SHA-256 of each token is kept: a stolen database does not hand out working tokens.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
)

# -- conversations ------------------------------------------------------------------------------------

# One conversation per firm number × client phone, whichever matter it is about at the moment.
threads = Table(
    "threads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("firm_number", String(PARTY), nullable=False),
    Column("client_phone", String(PARTY), nullable=False),
    Column("state", String(16), nullable=False),  # filed | needs_filing
    Column("matter_cms_id", String(64), index=True),
    Column("client_cms_id", String(64), index=True),
    Column("filing_rule", String(32), nullable=False),
    Column("assignee_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), index=True),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("message_count", Integer, nullable=False, default=0),
    Column("last_message_at", UTCDateTime(), index=True),
    Column("last_inbound_at", UTCDateTime()),
    Column("last_message_id", Integer),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("firm_number", "client_phone"),
    Index("ix_threads_state_last", "state", "last_message_at"),
    # The inbox lists newest activity first, keyset-paged on (last_message_at, id); each filter has an
    # index in that order so a page is a short range scan, never a sort of every matching thread.
    Index("ix_threads_last_message_at_id", "last_message_at", "id"),
    Index("ix_threads_urgent_last", "urgent", "last_message_at", "id"),
    Index("ix_threads_assignee_last", "assignee_id", "last_message_at", "id"),
    # Opted-out threads are found from the (small) ledger by phone; the unique key leads with firm_number.
    Index("ix_threads_client_phone", "client_phone"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    # Null while an inbound text waits for intake (threading and filing happen in the worker).
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE")),
    # Twilio's MessageSid: unique, so a webhook retried or posted twice stores one row.
    Column("sid", String(64), unique=True),
    Column("direction", String(8), nullable=False),  # inbound | outbound
    # message | urgent (an inbound text escalation flagged) | confirmation | help | auto_reply
    Column("kind", String(16), nullable=False, default="message"),
    Column("purpose", String(16)),  # conversation | reminder | notice (messaging.purpose); every text has one
    Column("from_number", String(PARTY), nullable=False),
    Column("to_number", String(PARTY), nullable=False),
    Column("body", Text, nullable=False, default=""),
    Column("encoding", String(8)),
    Column("num_segments", Integer),
    Column("num_media", Integer, nullable=False, default=0),
    Column("media", JSON),
    Column("status", String(24), nullable=False),
    Column("error_code", Integer),
    Column("error_message", Text),
    Column("matter_cms_id", String(64), index=True),
    Column("author_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("raw", JSON),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    # Why intake could not take this text in (it waits, listed for an admin, instead of blocking the others).
    Column("intake_error", Text),
    # The conversation window the message was written back in; null until its window closes.
    Column("window_id", Integer, index=True),
    # Quiet hours: when a held text may go (its status is "scheduled" until then).
    Column("scheduled_for", UTCDateTime()),
    # Sent outside quiet hours on purpose: an attorney's override, or a reply to a text the client just sent.
    Column("quiet_hours_exempt", Boolean),
    # Retention: once the body and media are purged, the SHA-256 of the body proves what it was.
    Column("body_sha256", String(64)),
    Column("purged_at", UTCDateTime()),
    Index("ix_messages_thread_id_id", "thread_id", "id"),
    Index("ix_messages_to_number_created_at", "to_number", "created_at"),
)

# Texts the webhook stored that intake has yet to take in. One set aside by intake (its reason in
# `intake_error`) is not waiting: it is held for an admin, and nothing may wait on it.
WAITING_FOR_INTAKE = and_(messages.c.thread_id.is_(None), messages.c.intake_error.is_(None))

# Every Twilio status callback as it came, in arrival order; the message keeps the furthest status.
status_events = Table(
    "status_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), index=True),
    Column("sid", String(64), nullable=False, index=True),
    Column("status", String(24), nullable=False),
    Column("error_code", Integer),
    Column("raw", JSON),
    Column("received_at", UTCDateTime(), nullable=False),
)
# Twilio repeats a callback it thinks went unanswered: the same (MessageSid, status, error code) is kept once.
# NULLs are distinct in a unique index on both engines, hence the code as -1 when there is none.
Index(
    "uq_status_events_sid_status_code",
    status_events.c.sid,
    status_events.c.status,
    func.coalesce(status_events.c.error_code, -1),
    unique=True,
)

# Why each message sits on its matter: the rule that filed it, or the person who re-filed it.
filing_decisions = Table(
    "filing_decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), index=True),
    Column("matter_cms_id", String(64)),
    Column("previous_matter_cms_id", String(64)),
    Column("rule", String(32), nullable=False),
    Column("detail", Text),
    Column("actor_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime(), nullable=False),
)

# The opt-out ledger: append-only; a number's state is its newest row.
opt_outs = Table(
    "opt_outs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("phone", String(PARTY), nullable=False),
    Column("action", String(8), nullable=False),  # opt_out | opt_in
    Column("source", String(32), nullable=False),
    Column("keyword", String(64)),
    Column("message_sid", String(64)),
    Column("firm_number", String(PARTY)),
    Column("actor_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_opt_outs_phone_id", "phone", "id"),
)

# The consent ledger: append-only; a number's consent is its newest row (grant or revoke).
consents = Table(
    "consents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("phone", String(PARTY), nullable=False),
    Column("action", String(8), nullable=False),  # grant | revoke
    Column("method", String(32), nullable=False),  # engagement_letter | verbal | web_form | inbound_text | cms_field
    Column("scope", String(256), nullable=False),
    Column("source", Text),  # where it is written down: a document, a form id, the CMS field's name
    Column("captured_by", String(128), nullable=False),
    Column("client_cms_id", String(64)),
    Column("matter_cms_id", String(64)),
    Column("captured_at", UTCDateTime(), nullable=False),  # when the client gave (or withdrew) it
    Column("created_at", UTCDateTime(), nullable=False),  # when it was recorded here
    Index("ix_consents_phone_id", "phone", "id"),
)

# Legal holds: append-only; a matter is on hold while its newest row is "set".
legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("matter_cms_id", String(64), nullable=False),
    Column("action", String(8), nullable=False),  # set | release
    Column("reason", Text, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_legal_holds_matter_cms_id_id", "matter_cms_id", "id"),
)

thread_reads = Table(
    "thread_reads",
    metadata,
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("last_read_message_id", Integer, nullable=False),
    Column("read_at", UTCDateTime(), nullable=False),
)

# The threads each person has unread: a row while a client text in the thread came after the person's read
# mark (thread_reads) and the thread was theirs to answer (assigned to them, or to nobody) when it came, or
# they marked it unread. An index kept beside the marks so the badge and the Unread filter cost what the
# person has unread, not what the firm has ever received (a read-everything person scanned every thread).
thread_unread = Table(
    "thread_unread",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True, index=True),
)

# Who has a thread open now: the thread page's poll writes the viewer's row at most every few seconds, and a
# row older than a poll or two is someone who left. Not audited: being there changes nothing.
thread_presence = Table(
    "thread_presence",
    metadata,
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("seen_at", UTCDateTime(), nullable=False),
)

# A composer's one-time key for each draft it shows: a second submit of the same draft (a double click,
# a resent form) finds the text the first one stored instead of storing another.
send_keys = Table(
    "send_keys",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE")),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, index=True),
)

# Work that leaves the building (texts now; CMS writes later), written in the same transaction as the
# state it carries, leased by workers, retried with backoff, dead-lettered when it keeps failing.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False),  # pending | done | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("leased_until", UTCDateTime()),
    Column("lease_owner", String(64)),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_outbox_state_next", "state", "next_attempt_at"),
)

# Each call to Twilio's create, recorded before it is made, so an unanswered one is looked up, not repeated.
send_attempts = Table(
    "send_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),  # started | sent | refused | ambiguous | adopted | not_sent
    Column("sid", String(64)),
    Column("error_code", Integer),
    Column("detail", Text),
    # A call under way is its worker's alone until then; after that (a worker killed mid-call) it is looked up.
    Column("owner", String(128)),
    Column("claimed_until", UTCDateTime()),
)

# Append-only and hash-chained: each entry holds the hash of the one before; no message bodies.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(48), nullable=False),
    Column("subject_type", String(32), nullable=False),
    Column("subject_id", String(64)),
    Column("matter_cms_id", String(64), index=True),
    Column("request_id", String(64)),
    Column("details", JSON),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    # 1: plain SHA-256 (entries written before the chain was keyed); 2: HMAC-SHA256 under the audit key.
    Column("chain_version", Integer, nullable=False, server_default="1"),
)

# A signed statement of the audit chain's head (its newest entry and how many there were), so entries
# cut off the end show; each is also printed for the admin to keep away from the store.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("entry_id", Integer, nullable=False),  # no foreign key: deleting the entry must stay possible, and show
    Column("entry_hash", String(64), nullable=False),
    Column("entries", Integer, nullable=False),
    Column("signature", String(64), nullable=False),
)

# -- write-back ---------------------------------------------------------------------------------------

# A conversation window: a thread's messages about one matter between two pauses; closed windows are
# written back to the matter.
windows = Table(
    "windows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("matter_cms_id", String(64), nullable=False, index=True),
    Column("sequence", Integer, nullable=False),  # 1 for a matter's first window in this thread, then follow-ups
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime(), nullable=False),
    Column("close_reason", String(16), nullable=False),  # idle | day_end | manual
    Column("message_count", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Each record Matterline writes into the CMS, with the marker that makes it findable (and so never
# written twice) after an ambiguous failure.
writebacks = Table(
    "writebacks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # transcript | summary | correction | task
    Column("window_id", Integer, ForeignKey("windows.id", ondelete="CASCADE"), index=True),
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("matter_cms_id", String(64), nullable=False, index=True),
    Column("part", Integer, nullable=False, default=1),
    Column("marker", String(64), nullable=False, unique=True),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),  # queries.writebacks.STATES
    Column("cms_record_id", String(64)),
    Column("ambiguous", Boolean, nullable=False, default=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("written_at", UTCDateTime()),
)

# Documents edited on the admin pages (mapping override, content rules, reply templates), append-only: a kind's
# newest row is in force in the app and every worker; one with no body hands the kind back to its file or default.
firm_documents = Table(
    "firm_documents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False, index=True),  # services.documents.KINDS
    Column("body", Text),
    Column("digest", String(64), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("reason", Text),
    Column("changed_at", UTCDateTime(), nullable=False),
)
