"""The mapping in force: the override file, until an admin saves an override, which replaces the file while it
is in force; going back hands the mapping to the file again."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import Engine

from connector.cms.in_force import mapping_in_force
from connector.services import documents
from connector.settings import Settings
from connector.staff.users import Actor
from tests.support.firm import settings

OPERATOR = Actor("operator:root")


def _name_path(firm: Settings, engine: Engine) -> str:
    return str(mapping_in_force(firm, engine).resources["clients"].fields["name"])


def test_a_saved_override_replaces_the_file_until_the_admin_goes_back(engine: Engine, tmp_path: Path) -> None:
    file = tmp_path / "override.json"
    file.write_text(json.dumps({"id": "clio", "resources": {"clients": {"fields": {"name": "first_name"}}}}))
    firm = settings(MATTERLINE_MAPPING_FILE=str(file))
    assert _name_path(firm, engine) == "first_name"
    saved = {"id": "clio", "resources": {"clients": {"fields": {"name": "last_name"}}}}
    documents.save(engine, firm, "mapping", json.dumps(saved), actor=OPERATOR)
    assert _name_path(firm, engine) == "last_name"
    documents.save(engine, firm, "mapping", None, actor=OPERATOR)
    assert _name_path(firm, engine) == "first_name"
    assert _name_path(settings(), engine) == "name"  # no file: the shipped mapping


def test_an_edited_override_file_is_read_again(engine: Engine, tmp_path: Path) -> None:
    file = tmp_path / "override.json"
    file.write_text(json.dumps({"id": "clio", "resources": {"clients": {"fields": {"name": "first_name"}}}}))
    firm = settings(MATTERLINE_MAPPING_FILE=str(file))
    assert _name_path(firm, engine) == "first_name"
    file.write_text(json.dumps({"id": "clio", "resources": {"clients": {"fields": {"name": "last_name"}}}}))
    os.utime(file, (2_000_000_000, 2_000_000_000))
    assert _name_path(firm, engine) == "last_name"
