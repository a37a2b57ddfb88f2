"""Who may export a matter (`connector/services/exports.py`): attorneys, admins and operators; staff are refused
by the service itself, before anything is written or audited, whichever front end asked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from connector import services
from connector.errors import Kind, MatterlineError
from connector.staff.users import Actor
from tests.support.firm import JANE, NOW, seed, settings
from tests.support.inbox import audit_rows
from tests.support.matter_history import text_in
from tests.support.people import add_user


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    text_in(engine, JANE, "Is my hearing still on?", NOW + timedelta(days=1))
    return engine


def test_staff_are_refused_and_nothing_is_written_or_audited(store: Engine, tmp_path: Path) -> None:
    staff, _ = add_user(store, name="Pat Paralegal", email="pat@firm.example", role="staff")
    out = tmp_path / "export"
    for target in (None, out):
        with pytest.raises(MatterlineError) as refused:
            services.exports.export_matter(store, settings(), "101", actor=Actor.of(staff), out_dir=target)
        assert (refused.value.kind, refused.value.code) == (Kind.FORBIDDEN, "forbidden_role")
        assert refused.value.details == {"role": "staff", "allowed": ["admin", "attorney"]}
    assert not out.exists()
    assert audit_rows(store, "export") == []


@pytest.mark.parametrize("role", ["attorney", "admin"])
def test_attorneys_and_admins_export(store: Engine, role: str) -> None:
    person, _ = add_user(store, name="Avery Counsel", email="avery@firm.example", role=role)
    result = services.exports.export_matter(store, settings(), "101", actor=Actor.of(person))
    assert result.messages == 1
    assert {f.name for f in result.files} == {"export.json", "messages.csv", "transcript.html", "manifest.json"}
    assert [(e.actor, e.matter_cms_id) for e in audit_rows(store, "export")] == [(person.actor, "101")]


def test_an_operator_at_the_command_line_exports(store: Engine, tmp_path: Path) -> None:
    result = services.exports.export_matter(store, settings(), "101", actor=Actor("cli:root"), out_dir=tmp_path / "x")
    assert result.out_dir == str(tmp_path / "x")
    assert len(audit_rows(store, "export")) == 1
