"""MMS media: fetched only from Twilio's own hosts, with Twilio's credentials, never from anywhere else.

A media URL arrives inside the webhook form. Even after the signature checks out, sending the Twilio
credentials to whatever host a URL names would hand them to anyone who can get a URL into a message
(reference: chatwoot's credential leak). So the host must be Twilio's API host (or the configured
stand-in's in tests) before Basic auth is attached, and redirects are followed only after that check.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from connector.const import HTTP_TIMEOUT
from connector.settings import Settings

MAX_MEDIA_BYTES = 5 * 1024 * 1024  # Twilio's own limit per message
_TWILIO_HOSTS = ("api.twilio.com",)


class MediaError(ValueError):
    """A media URL Matterline will not fetch, or a fetch that failed."""


@dataclass(frozen=True, slots=True)
class Media:
    """Fetched bytes and what they are."""

    content: bytes
    content_type: str


def trusted(url: str, settings: Settings) -> bool:
    """Whether `url` is on Twilio's API host (or the configured Twilio API base, for the stand-in)."""
    parts = urlsplit(url)
    configured = urlsplit(settings.twilio_api_url)
    if (parts.scheme, parts.netloc) == (configured.scheme, configured.netloc):
        return True
    return parts.scheme == "https" and (parts.hostname or "") in _TWILIO_HOSTS


def fetch(url: str, settings: Settings, session: requests.Session | None = None) -> Media:
    """Download one media item with the Twilio credentials.

    Raises:
        MediaError: the URL is not Twilio's, credentials are missing, or the download failed or is too big.
    """
    if not trusted(url, settings):
        raise MediaError(f"refusing to fetch media from {urlsplit(url).netloc or url!r}: not a Twilio host")
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        raise MediaError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are needed to fetch media")
    http = session or requests.Session()
    response = http.get(
        url,
        auth=(settings.twilio_account_sid, settings.twilio_auth_token),
        timeout=HTTP_TIMEOUT,
        allow_redirects=False,
        stream=True,
    )
    if response.is_redirect:  # Twilio hands media out through its CDN: follow without the credentials
        location = response.headers.get("Location", "")
        response = http.get(location, timeout=HTTP_TIMEOUT, stream=True)
    if response.status_code != 200:
        raise MediaError(f"media fetch answered HTTP {response.status_code}")
    content = response.raw.read(MAX_MEDIA_BYTES + 1, decode_content=True)
    if len(content) > MAX_MEDIA_BYTES:
        raise MediaError(f"media is larger than {MAX_MEDIA_BYTES} bytes")
    return Media(content, response.headers.get("Content-Type", "application/octet-stream"))
