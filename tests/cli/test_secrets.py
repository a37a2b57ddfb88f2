"""`matterline secrets reseal`: after a secret-key rotation, every stored secret moves to the new key, with
nothing lost and the old key no longer needed; what no key opens is counted and left for a reconnect."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from connector import crypto
from connector.cms.auth import TokenStore
from connector.store import make_engine
from connector.store.tables import oauth_tokens
from tests.support.command import run

OLD_KEY = "old-secret-key-0123456789"
NEW_KEY = "new-secret-key-9876543210"
STRANGER_KEY = "someone-elses-key-000000"


@pytest.fixture
def store(env: dict[str, str]) -> Iterator[Engine]:
    assert run(env, "init")[0] == 0
    engine = make_engine(env["MATTERLINE_DATABASE_URL"])
    yield engine
    engine.dispose()
    crypto.accept_previous(None)


def test_reseal_moves_stored_tokens_to_the_new_key(env: dict[str, str], store: Engine) -> None:
    TokenStore(store, "clio", OLD_KEY).save("access-1", "refresh-1", 3600)
    TokenStore(store, "mycase", STRANGER_KEY).save("access-2", None, None)
    rotated = {**env, "MATTERLINE_SECRET_KEY": NEW_KEY, "MATTERLINE_PREVIOUS_SECRET_KEY": OLD_KEY}

    code, out, err = run(rotated, "secrets", "reseal", "--json")

    assert code == 0, err
    assert json.loads(out) == {"resealed": 2, "unreadable": 1}
    crypto.accept_previous(None)  # the old key is gone: only the new one opens what was moved
    assert TokenStore(store, "clio", NEW_KEY).load() == ("access-1", "refresh-1")
    assert TokenStore(store, "clio", OLD_KEY).load() == (None, None)
    with store.connect() as conn:
        left = conn.execute(select(oauth_tokens.c.access_token).where(oauth_tokens.c.vendor == "mycase")).scalar()
    crypto.accept_previous(STRANGER_KEY)
    assert crypto.SecretBox(NEW_KEY).open(left) == "access-2"  # untouched: its own key still opens it
    [entry] = json.loads(run(rotated, "audit", "--json", "--action", "secrets_resealed")[1])
    assert entry["details"] == {"resealed": 2, "unreadable": 1}


def test_reseal_says_what_to_do_about_values_no_key_opens(env: dict[str, str], store: Engine) -> None:
    TokenStore(store, "clio", OLD_KEY).save("access-1", None, None)

    code, out, err = run({**env, "MATTERLINE_SECRET_KEY": NEW_KEY}, "secrets", "reseal")

    assert code == 0, err
    assert out.splitlines() == [
        "0 stored secrets sealed under the current key",
        "1 could not be opened with the current or the previous key: connect the CMS again (admin connection "
        "page) and renew the CMS webhooks (`matterline webhooks renew`)",
    ]
    code, out, err = run(env, "secrets", "reseal")
    assert (code, err.strip()) == (
        1,
        "matterline: no_secret_key: MATTERLINE_SECRET_KEY is not set: there is no key to seal under",
    )
