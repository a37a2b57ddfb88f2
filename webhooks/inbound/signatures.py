"""The signature checks machine callers must pass before anything they send is read: Twilio's and the CMS's.

Both fail closed: no secret configured, no signature, or one that does not match means 403 (the CMS's
missing header: 400) and nothing is stored. Comparisons are constant-time, and a CMS delivery is
tried against every known secret, so timing says neither whether nor which one matched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from twilio.request_validator import RequestValidator, compare
from werkzeug.datastructures import MultiDict

from connector.errors import forbidden

__all__ = ["Secret", "decode_signature", "equal", "match", "sign", "signed_by", "verify_twilio"]

LOGGER: Final = logging.getLogger("matterline.webhooks.signatures")
_DIGEST_SIZE: Final = hashlib.sha256().digest_size
_HEX_DIGEST: Final = re.compile(r"[0-9a-fA-F]{64}")


def verify_twilio(
    auth_token: str | None, url: str, form: MultiDict[str, str], signature: str, *, secondary: str | None = None
) -> None:
    """Raise 403 unless `signature` is Twilio's for `url` and the full `form`, under `auth_token` or `secondary`.

    `secondary` (TWILIO_AUTH_TOKEN_SECONDARY) is accepted too, so rotating the auth token leaves no moment
    when Twilio signs with a token Matterline refuses: Twilio switches tokens the instant the admin promotes
    the new one, and no process can be restarted at that instant. It never replaces the primary: without
    TWILIO_AUTH_TOKEN everything is still refused.

    Raises:
        MatterlineError: forbidden `twilio_auth_token_missing`, `signature_missing` or `signature_invalid`.
    """
    if not auth_token:
        raise forbidden("twilio_auth_token_missing", "TWILIO_AUTH_TOKEN is not configured; refusing unsigned traffic")
    if not signature:
        raise forbidden("signature_missing", "the X-Twilio-Signature header is missing")
    tokens = [auth_token] if not secondary or secondary == auth_token else [auth_token, secondary]
    validators = [RequestValidator(token) for token in tokens]
    # The exact URL under the primary first (one HMAC, the usual case); Twilio's library then also tries it with
    # and without the default port, because Twilio has signed both ways.
    if not (
        any(compare(validator.compute_signature(url, form), signature) for validator in validators)
        or any(validator.validate(url, form, signature) for validator in validators)
    ):
        LOGGER.warning("twilio.signature_invalid")
        raise forbidden("signature_invalid", "the X-Twilio-Signature does not match this request")


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret a CMS delivery may be signed with; `subscription_id` is its `cms_webhooks` row, if stored."""

    value: str = field(repr=False)
    subscription_id: int | None = None


def sign(secret: str, body: bytes) -> bytes:
    """HMAC-SHA256 of `body` keyed by `secret`: what the CMS puts in the signature header."""
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def decode_signature(header: str, prefix: str | None = None) -> list[bytes]:
    """The digests a signature header may stand for: hex (any case) and/or base64 (standard or URL-safe).

    An optional `prefix` (e.g. `sha256=`) is stripped first. Only 32-byte results are kept, so a
    header that decodes to anything else matches nothing.
    """
    text = header.strip()
    if prefix and text.startswith(prefix):
        text = text[len(prefix) :].strip()
    found: list[bytes] = []
    if _HEX_DIGEST.fullmatch(text):
        found.append(bytes.fromhex(text))
    # URL-safe base64 differs only in two letters; padding is optional in the wild.
    standard = text.replace("-", "+").replace("_", "/")
    standard += "=" * (-len(standard) % 4)
    try:
        digest = base64.b64decode(standard.encode("ascii"), validate=True)
    except (binascii.Error, ValueError):
        return found
    if len(digest) == _DIGEST_SIZE and digest not in found:
        found.append(digest)
    return found


def equal(a: str, b: str) -> bool:
    """Constant-time string equality."""
    return hmac.compare_digest(a.encode(), b.encode())


def signed_by(secret: Secret, body: bytes, digests: Sequence[bytes]) -> bool:
    """Whether `body` was signed with `secret`, comparing against every digest the header may stand for."""
    expected = sign(secret.value, body)
    results = [hmac.compare_digest(expected, digest) for digest in digests]
    return any(results)


def match(secrets: Sequence[Secret], accepts: Callable[[Secret], bool]) -> Secret | None:
    """The first secret `accepts`, after trying every one, so timing does not tell which one matched."""
    matched: Secret | None = None
    for secret in secrets:
        if accepts(secret) and matched is None:
            matched = secret
    return matched
