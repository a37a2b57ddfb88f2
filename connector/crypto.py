"""Keys from MATTERLINE_SECRET_KEY: the encryption of stored secrets (CMS tokens, webhook secrets), and
keys for other uses derived with HKDF under their own label, so no two uses share a key.

Rotating the secret key must not strand what was sealed under the old one: while
MATTERLINE_PREVIOUS_SECRET_KEY is set (`accept_previous`), a box opens what either key sealed and seals
only under the new one, and `reseal` moves a stored value to the new key so the old one can be dropped.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_CONTEXT = b"matterline/stored-secrets/v1"
# The secret key before the current one (MATTERLINE_PREVIOUS_SECRET_KEY), accepted for opening only.
_previous: str | None = None


def accept_previous(secret_key: str | None) -> None:
    """Let every box of this process also open values sealed under `secret_key` (None: only the current key).

    Process-wide, like the log redaction: the key is a deployment fact, set once from the settings where the
    store is opened (the CLI's context, the web app's factory), not something each caller passes along.
    """
    global _previous
    _previous = secret_key


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(_CONTEXT + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class SecretBox:
    """Fernet (AES-128-CBC + HMAC-SHA256) keyed by a hash of the configured secret key (and the previous one)."""

    def __init__(self, secret_key: str) -> None:
        keys = [_fernet(secret_key)]
        if _previous and _previous != secret_key:
            keys.append(_fernet(_previous))
        self._fernet = MultiFernet(keys)

    def seal(self, plaintext: str) -> str:
        """Encrypt and authenticate `plaintext`."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """Decrypt `sealed`; None when it was sealed under another key or was altered."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None

    def reseal(self, sealed: str) -> str | None:
        """`sealed` sealed again under the current key; None when no key this box knows opens it."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken:
            return None


def derive_key(secret: str, label: bytes) -> bytes:
    """A 32-byte key for one use (`label`) from a configured secret (HKDF-SHA256).

    A key derived under one label tells nothing about the key under another, nor about the secret.
    """
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret.encode())
