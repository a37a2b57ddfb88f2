"""An independent client: Schemathesis reads `/api/openapi.json` and calls every operation as an admin.

What it generates comes from the document alone (valid, boundary and invalid values for every path id,
query parameter and body field), so it finds what a hand-written test does not think of: ids beyond the
store's integer range, enums the code enforces but the document does not state, answers that break their
schema. Every check runs but positive-data acceptance: a request that fits the schema can still be rightly
refused by a business rule (an unknown matter is 422), and the document says so. The run is bounded and
derandomized, so it is fast and every CI run tries the same cases; it runs on SQLite and on PostgreSQL,
against one store per backend synced from the sandbox CMS.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import Engine, select

from connector.cms.connect import build_client
from connector.sandbox import DEFAULT_TOKEN, ClioState, SandboxServer, generate_firm
from connector.settings import load_settings
from connector.store import make_engine, upgrade
from connector.store.tables import contact_phones
from connector.sync.syncer import Syncer
from mappings import load_mapping
from tests.support.firm import settings as firm_settings
from tests.support.people import add_user
from tests.support.stores import BACKENDS, empty_store_url
from tests.webhooks.api.harness import text_in
from webhooks import create_app

EXAMPLES = 25

# The document as the app serves it; fetching it touches no store. (Loaded here rather than through
# `schemathesis.pytest.from_fixture`, whose subtests need `Function._nodeid`, gone in pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", create_app(firm_settings(), make_engine("sqlite://")))
# A body over the server's limit is refused with 413 before it is read (the document says so for every operation
# with a body); schemathesis's list of the ways to refuse a bad request lacks it.
schema.config.checks.negative_data_rejection.expected_statuses.append("413")


@dataclass(frozen=True)
class Served:
    app: Flask
    headers: dict[str, str]


def _sync(engine: Engine) -> None:
    """Fill the store from a small sandbox firm, as `matterline sync --full` does."""
    with SandboxServer(ClioState(generate_firm(12, 10, seed=5))) as sandbox:
        cms = load_settings(
            {"MATTERLINE_CMS_BASE_URL": sandbox.base_url, "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN}, env_file=None
        )
        clio = load_mapping("clio")
        Syncer(engine, build_client(cms, clio, engine), clio, progress=False).run(full=True)


@pytest.fixture(scope="module", params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app on a synced store with three clients' threads, and an admin's bearer token."""
    with empty_store_url(request.param, tmp_path_factory) as url:
        engine = make_engine(url)
        upgrade(engine)
        _sync(engine)
        app = create_app(firm_settings(), engine)
        with engine.connect() as conn:
            phones = conn.execute(
                select(contact_phones.c.e164).where(contact_phones.c.e164.is_not(None)).order_by(contact_phones.c.id)
            ).scalars()
            first = list(dict.fromkeys(phones))[:3]
        for phone in first:
            text_in(app.test_client(), phone, "Is my hearing still on?")
        _, token = add_user(engine, name="The admin", email="admin@firm.example", role="admin")
        yield Served(app, {"Authorization": f"Bearer {token}"})
        engine.dispose()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_an_independent_client_finds_no_server_error_and_no_answer_the_document_does_not_promise(
    case: Any, served: Served
) -> None:
    case.call_and_validate(app=served.app, headers=served.headers, excluded_checks=[positive_data_acceptance])
