"""Constants shared across Matterline, kept in one place so that a tuning change is one edit."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

DOMAIN: Final = "matterline"
LOGGER: Final = logging.getLogger(DOMAIN)

ENV_PREFIX: Final = "MATTERLINE_"
DEFAULT_DATABASE_URL: Final = "sqlite:///matterline.db"
DEFAULT_CMS: Final = "clio"
DEFAULT_REGION: Final = "US"
DEFAULT_TIMEZONE: Final = "America/New_York"
DEFAULT_TWILIO_API_URL: Final = "https://api.twilio.com"

# HTTP: every outbound call has a timeout (connect, read), and retries are bounded in count and time.
HTTP_TIMEOUT: Final = (5.0, 30.0)
RETRY_MAX_ATTEMPTS: Final = 6
RETRY_MAX_SECONDS: Final = 300.0
RETRY_BACKOFF_BASE: Final = 0.5
RETRY_BACKOFF_MAX: Final = 30.0
# An outbox job waits at most this long between tries (a Retry-After may ask for longer). With the default
# 20 tries (MATTERLINE_OUTBOX_MAX_ATTEMPTS) the first come within seconds and the waits then grow to ten
# minutes, so a text or CMS write outlasts a Twilio or CMS outage of about 40 minutes before it is a dead
# letter (the sum of the waits: 48 minutes on average, under 30 about once in a hundred).
JOB_BACKOFF_MAX: Final = 600.0
# A Retry-After beyond this is treated as "come back later" rather than slept through in-process.
RETRY_AFTER_CEILING: Final = 120.0
# A 503 without Retry-After holds every CMS request this long, doubling while 503s keep coming.
UNAVAILABLE_PAUSE: Final = 0.25

# Sync: records updated in the last moments before a run started can be missed by a CMS whose clock
# or index lags; each incremental run therefore re-reads this much before its bookmark.
BOOKMARK_OVERLAP: Final = timedelta(minutes=5)

# -- the worker and its queue -------------------------------------------------------------------------
# A leased outbox job is another worker's to take after this long (a crashed worker's lease expires).
LEASE: Final = timedelta(minutes=2)
# A call to Twilio's create is its worker's alone this long (well past the longest call TWILIO_TIMEOUT
# allows): a second worker leaves the text alone until then (a worker killed mid-call holds it that long).
SEND_CLAIM: Final = timedelta(minutes=2)
# A call that ended without an answer (a timeout, a lost answer, a 5xx) is looked up at Twilio only this
# long after it began: Twilio may still carry out a create it held past our timeout, and a look-up before
# then finds nothing and sends the text again (the fault run saw that with creates held for 20 s).
LOOK_UP_SETTLE: Final = timedelta(seconds=60)
# How many send jobs one round leases; each lease is renewed just before its call, so a slow batch never
# lets a text still being sent go to another worker.
SEND_BATCH: Final = 10
# How many of a recipient's messages the sender reads per page when it looks an unanswered create up.
LOOK_UP_PAGE: Final = 50
# How many waiting inbound texts one intake transaction threads and files.
INTAKE_BATCH: Final = 200
# While a client's newest text waits for intake, a send to them waits this long and looks again.
INTAKE_WAIT: Final = timedelta(seconds=2)
# While the CMS refuses the credentials, the write-back queue waits this long between checks.
AUTH_PAUSE: Final = timedelta(minutes=5)
# The worker renews CMS webhook subscriptions this often, and purges past retention this often.
RENEW_EVERY: Final = timedelta(hours=1)
PURGE_EVERY: Final = timedelta(hours=24)
# How often the worker looks for client texts past the reply limit: a minute late is on time for an alert,
# and the look covers every thread active in the last month.
REPLY_ALERTS_EVERY: Final = timedelta(minutes=1)
# The worker signs an audit checkpoint (the chain's head) this often, so a cut-off tail shows.
AUDIT_CHECKPOINT_EVERY: Final = timedelta(hours=24)
# How far ahead `worker --drain` waits for retries before it calls the rest "later".
DRAIN_HORIZON: Final = timedelta(minutes=10)
# Concurrent inbound webhooks share one transaction, up to this many texts.
GROUP_COMMIT_MAX: Final = 64

# -- Twilio ----------------------------------------------------------------------------------------------
TWILIO_TIMEOUT: Final = 15.0
# How far before an unanswered attempt the sender looks when matching a message Twilio may have created.
TWILIO_CLOCK_SKEW: Final = timedelta(minutes=5)
# Twilio's limit of media per message, inbound and outbound.
MAX_MEDIA: Final = 10

# -- people and messages -----------------------------------------------------------------------------------
# A text that has not gone yet: queued, or held for the recipient's quiet hours.
UNSENT_STATUSES: Final = ("pending", "scheduled")
# One emergency auto-reply per thread in this long, however many urgent texts arrive.
AUTO_REPLY_QUIET: Final = timedelta(hours=12)
# A blast done one text at a time (guardrails/operational.bulk): the same body sent by staff to this many
# other numbers within the window refuses the next. Shorter bodies ("Thanks, got it.") are everyday replies
# to many clients, not a blast. The check reads at most the store's newest BULK_SCAN messages (bounded cost).
BULK_WINDOW: Final = timedelta(minutes=10)
BULK_OTHER_NUMBERS: Final = 3
BULK_MIN_CHARS: Final = 30
BULK_SCAN: Final = 2000
# A token's first use after this long without one is recorded as a login; its last use is written at most
# this often (reads must not all become writes).
SESSION_GAP: Final = timedelta(hours=8)
TOKEN_TOUCH_EVERY: Final = timedelta(minutes=1)
# CMS webhook subscriptions are renewed this long before they expire; a handshake may take this long.
SUBSCRIPTION_MARGIN: Final = timedelta(hours=1)
HANDSHAKE_GRACE: Final = timedelta(minutes=10)

# Every id is an INTEGER column: 32-bit on PostgreSQL (SQLite's hold 64), and one store's ids must fit the
# other's. An id or cursor beyond this names nothing; passed to SQL, it was an exception (a 500).
STORE_ID_MAX: Final = 2**31 - 1
# A JSON body's integer beyond the signed 64-bit range is refused before any code sees it.
JSON_INT_MIN: Final = -(2**63)
JSON_INT_MAX: Final = 2**63 - 1
# A JSON body nested deeper than this is refused (no API body nests more than two levels).
JSON_MAX_DEPTH: Final = 32

# SQLite waits this long for a lock instead of failing at once ("database is locked").
SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
POSTGRES_CONNECT_TIMEOUT_S: Final = 5

# -- the web server (waitress) ---------------------------------------------------------------------------
# Webhook bodies are small (Clio sends one record; Twilio a form): the most any request may carry.
MAX_BODY_BYTES: Final = 1024 * 1024
# Headers beyond this are refused (a Twilio signature and a bearer token need a few hundred bytes).
MAX_HEADER_BYTES: Final = 64 * 1024
# How often idle connections past their time are closed (waitress's cleanup_interval), in seconds.
SERVER_CLEANUP_SECONDS: Final = 2
# After SIGTERM, how long each of several web processes (gunicorn) may finish its requests before it is killed.
SERVER_GRACEFUL_SECONDS: Final = 10
# `serve --workers`: at most this many web processes (each holds a pool of store connections).
SERVER_MAX_WORKERS: Final = 64

USER_AGENT: Final = "Matterline/0.1 (+https://github.com/matterline)"

# Staff sign-in: a password shorter than this is refused; failed sign-ins within the window are counted
# per account and per client address, and past either limit sign-in is refused until the oldest ages out.
PASSWORD_MIN_CHARS: Final = 12
SIGNIN_WINDOW: Final = timedelta(minutes=15)
SIGNIN_FAILURES_PER_ACCOUNT: Final = 5
SIGNIN_FAILURES_PER_ADDRESS: Final = 20
# A session's last-seen time is written at most this often, so page views do not all become writes.
SESSION_TOUCH_EVERY: Final = timedelta(minutes=1)
# A one-time link that sets a password: an invite waits a week for a new person to find it in their mail;
# a reset is asked for by someone at their desk, so it lasts an hour (a forwarded or leaked one dies soon).
INVITE_LINK_LIFETIME: Final = timedelta(days=7)
RESET_LINK_LIFETIME: Final = timedelta(hours=1)

# `matterline restore --replace` keeps the store it replaces beside it, named `<name>.before-restore-<when>`.
RESTORE_KEPT_SUFFIX: Final = ".before-restore-"
RESTORE_KEPT_STAMP: Final = "%Y%m%dT%H%M%SZ"
