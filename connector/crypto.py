"""Keys from MATTERLINE_SECRET_KEY: the encryption of stored secrets (CMS tokens, webhook secrets), and
keys for other uses derived with HKDF under their own label, so no two uses share a key."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_CONTEXT = b"matterline/stored-secrets/v1"


class SecretBox:
    """Fernet (AES-128-CBC + HMAC-SHA256) keyed by a hash of the configured secret key."""

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(_CONTEXT + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, plaintext: str) -> str:
        """Encrypt and authenticate `plaintext`."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """Decrypt `sealed`; None when it was sealed under another key or was altered."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None


def derive_key(secret: str, label: bytes) -> bytes:
    """A 32-byte key for one use (`label`) from a configured secret (HKDF-SHA256).

    A key derived under one label tells nothing about the key under another, nor about the secret.
    """
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret.encode())
