"""Links into the CMS's web app (`connector/cms/links.py`): built from the configured API base and the vendor's
page patterns, none where they cannot be built."""

from __future__ import annotations

import pytest

from connector.cms.links import CmsLinks, links_for
from connector.settings import Settings
from mappings import load_mapping

CLIO = load_mapping("clio")


def test_clio_links_go_to_the_web_app_of_the_regions_host() -> None:
    links = links_for(Settings(), CLIO)
    assert links.matter("101") == "https://app.clio.com/nc/#/matters/101"
    assert links.record("transcript", "7001") == "https://app.clio.com/nc/#/communications/7001"
    assert links.record("summary", "7002") == "https://app.clio.com/nc/#/notes/7002"
    assert links.record("correction", "7003") == "https://app.clio.com/nc/#/notes/7003"
    assert links.record("task", "7004") == "https://app.clio.com/nc/#/tasks/7004"
    eu = links_for(Settings(cms_region="eu"), CLIO)
    assert eu.matter("101") == "https://eu.app.clio.com/nc/#/matters/101"


def test_a_configured_base_url_gives_its_own_host() -> None:
    links = links_for(Settings(cms_base_url="http://127.0.0.1:8123/api/v4"), CLIO)
    assert links.matter("101") == "http://127.0.0.1:8123/nc/#/matters/101"


@pytest.mark.parametrize(("kind", "record_id"), [("transcript", None), ("transcript", ""), ("unknown-kind", "7001")])
def test_no_link_without_a_record_id_or_for_a_kind_the_mapping_does_not_write(kind: str, record_id: str | None) -> None:
    assert links_for(Settings(), CLIO).record(kind, record_id) is None


def test_an_id_cannot_change_the_page_it_points_to() -> None:
    assert links_for(Settings(), CLIO).matter("1/../../users?x=1#y") == (
        "https://app.clio.com/nc/#/matters/1%2F..%2F..%2Fusers%3Fx%3D1%23y"
    )


def test_a_vendor_whose_pages_are_unknown_gets_no_links() -> None:
    links = links_for(Settings(cms="mycase"), load_mapping("mycase"))
    assert links == CmsLinks(None)
    assert links.matter("101") is None
    assert links.record("transcript", "7001") is None
