"""The firm every API test works in: a seeded store, the app, and an admin, an attorney and staff with tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.support.firm import JANE, seed, settings
from tests.support.people import add_user
from tests.webhooks.api.harness import Api, Firm, text_in, thread_id_of
from webhooks import create_app


@pytest.fixture
def firm(engine: Engine) -> Firm:
    seed(engine)
    app = create_app(settings(), engine)
    client = app.test_client()
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    for role in ("admin", "attorney", "staff"):
        user, tokens[role] = add_user(engine, name=f"The {role}", email=f"{role}@firm.example", role=role)
        ids[role] = user.id
    base = Api(client, app, None)
    return Firm(
        engine, app, base.as_(tokens["admin"]), base.as_(tokens["attorney"]), base.as_(tokens["staff"]), base, ids
    )


@pytest.fixture
def jane(firm: Firm) -> int:
    """Jane's thread, filed to her only open matter (101), with two inbound texts."""
    text_in(firm.admin.client, JANE, "Is my hearing still on?")
    text_in(firm.admin.client, JANE, "Please call me")
    return thread_id_of(firm.store, JANE)
