"""Staff passwords: argon2id at a cost that resists a stolen database, and weaker hashes upgraded on sign-in."""

from __future__ import annotations

from argon2 import PasswordHasher

from connector.staff import passwords
from tests.conftest import PRODUCTION_HASHER


def test_the_program_hashes_with_argon2id_at_64_mib_and_three_passes() -> None:
    stored = PRODUCTION_HASHER.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "m=65536,t=3," in stored
    assert PRODUCTION_HASHER.verify(stored, "correct horse battery")


def test_a_hash_weaker_than_the_programs_is_upgraded() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("correct horse battery")
    assert PRODUCTION_HASHER.check_needs_rehash(weak)
    assert passwords.verify(weak, "correct horse battery")
    assert not passwords.verify(weak, "wrong horse battery")
    assert not passwords.verify(None, "correct horse battery")
