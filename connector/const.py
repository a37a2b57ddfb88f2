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
# An outbox job waits at most this long between tries (a Retry-After may ask for longer).
JOB_BACKOFF_MAX: Final = 300.0
# A Retry-After beyond this is treated as "come back later" rather than slept through in-process.
RETRY_AFTER_CEILING: Final = 120.0
# A 503 without Retry-After holds every CMS request this long, doubling while 503s keep coming.
UNAVAILABLE_PAUSE: Final = 0.25

# Sync: records updated in the last moments before a run started can be missed by a CMS whose clock
# or index lags; each incremental run therefore re-reads this much before its bookmark.
BOOKMARK_OVERLAP: Final = timedelta(minutes=5)

# SQLite waits this long for a lock instead of failing at once ("database is locked").
SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
POSTGRES_CONNECT_TIMEOUT_S: Final = 5

USER_AGENT: Final = "Matterline/0.1 (+https://github.com/matterline)"
