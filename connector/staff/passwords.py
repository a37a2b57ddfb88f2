"""Staff passwords, hashed with argon2id: a stolen database does not hand out passwords."""

from __future__ import annotations

from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from connector.const import PASSWORD_MIN_CHARS
from connector.errors import invalid

__all__ = ["check_strength", "hash_password", "needs_rehash", "verify"]

_HASHER: Final = PasswordHasher()
# Verified against when the email is unknown, so an unknown email costs as long as a wrong password.
_DECOY: Final = _HASHER.hash("matterline decoy password")


def check_strength(password: str) -> None:
    """Refuse a password too short to resist guessing (never echoing it).

    Raises:
        MatterlineError: invalid `password_too_short`.
    """
    if len(password) < PASSWORD_MIN_CHARS:
        raise invalid(
            "password_too_short",
            f"the password must be at least {PASSWORD_MIN_CHARS} characters",
            {"field": "password"},
        )


def hash_password(password: str) -> str:
    """The argon2id hash, with its salt and parameters, to store."""
    return _HASHER.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`; with no stored hash, a decoy is checked so timing says nothing."""
    try:
        return _HASHER.verify(stored or _DECOY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(stored)
