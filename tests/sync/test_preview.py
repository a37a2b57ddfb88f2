"""A mapping tried on live records: each resource's first page read as a sync would read it; one that fails
says why and the others still show."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.cms.connect import build_client
from connector.sandbox import DEFAULT_TOKEN, ClioState, Fault, SandboxServer, generate_firm
from connector.sync.preview import PREVIEW_RECORDS, preview
from mappings import load_mapping
from tests.support.firm import settings


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(ClioState(generate_firm(30, 5))) as running:
        yield running


def test_each_resource_shows_its_first_records_and_a_failing_one_says_why(server: SandboxServer) -> None:
    firm = settings(MATTERLINE_CMS_BASE_URL=server.base_url, MATTERLINE_CMS_ACCESS_TOKEN=DEFAULT_TOKEN)
    mapping = load_mapping("clio")
    server.state.faults.add(Fault("status", status=404, path="/matters.json", times=5))
    shown = {r.resource: r for r in preview(build_client(firm, mapping), mapping, default_region="US")}
    clients = shown["clients"]
    assert len(clients.records) == PREVIEW_RECORDS  # 30 contacts, the first page of ten
    first = dict(clients.records[0].fields)
    assert first["name"] == "Linda Kelly"
    assert "fingerprint" not in first
    assert shown["matters"].records == ()
    assert shown["matters"].error
    assert "404" in shown["matters"].error
    assert shown["relationships"].error is None
