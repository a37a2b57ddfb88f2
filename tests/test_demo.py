"""`matterline demo --once`: the scripted demo runs the whole loop on the embedded defaults and exits 0."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from connector.cli import main
from connector.staff import passwords
from connector.store import make_engine
from connector.store.tables import messages, threads, users, writebacks


def test_demo_once_syncs_serves_applies_cms_webhooks_and_prints_who_to_sign_in_as(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--once", "--dir", str(tmp_path / "demo")], catch_exceptions=False)
    out = result.stdout
    assert result.exit_code == 0, out
    assert re.search(r"clients: 600 fetched, 600 new", out)
    assert re.search(r"matters: 400 fetched, 400 new", out)
    assert re.search(r"calendar_entries: ([1-9]\d*) fetched, \1 new", out)
    assert "(/healthz, /readyz: ready)" in out
    assert "handshakes answered: [200, 200, 200]" in out
    assert re.search(r"signed webhook deliveries -> statuses \[200, 200, 200\]", out)
    assert re.search(r"-> .*\(updated\) \['\+16178675309'", out)
    assert re.search(r"matter \S+: open -> closed", out)
    assert re.search(r"texts the firm -> HTTP 200; filed to \S+ by rule 'only_open_matter'", out)
    assert "an unknown number texts too -> HTTP 200; kept in 'needs filing'" in out
    assert re.search(r"worker sent \d+; Twilio callbacks .* -> status 'delivered'", out)
    assert "the next send is refused: 409 recipient_opted_out" in out
    assert "1 conversation window(s) closed; write-back to the CMS: 3 records written" in out
    assert re.search(r"transcript +#\d+ on matter \d+: http://127\.0\.0\.1:\d+/api/v4/communications\.json", out)
    assert re.search(r"summary +#\d+ on matter \d+: .*/notes\.json\?type=Matter", out)
    assert re.search(r"task +#\d+ on matter \d+: .*/tasks\.json", out)
    assert "is refused: 422 content_rule ['settlement_amount', 'ssn']" in out
    assert (tmp_path / "demo" / "matterline-demo.db").is_file()
    assert re.search(r"a text to .+ waits for their quiet hours: held until \d\d:\d\d", out)
    assert re.search(
        r"the matter is deleted in Clio before its task is written: 1 dead letter\(s\) \(matter \d+ was", out
    )
    assert re.search(r"the inbox: +http://127\.0\.0\.1:\d+/inbox", out)
    people = re.findall(r"^ +(attorney|admin) +(\S+@sandboxlaw\.example) +password: (\S+)$", out, re.MULTILINE)
    assert [role for role, _, _ in people] == ["attorney", "admin"]
    engine = make_engine(f"sqlite:///{tmp_path / 'demo' / 'matterline-demo.db'}")
    try:
        for (
            role,
            email,
            password,
        ) in people:  # the printed passwords are the kept ones
            with engine.connect() as conn:
                row = conn.execute(select(users.c.role, users.c.password_hash).where(users.c.email == email)).one()
            assert row.role == role
            assert passwords.verify(row.password_hash, password)
        with engine.connect() as conn:  # the inbox a newcomer signs in to has a thread in every state
            held = conn.execute(select(func.count()).where(messages.c.status == "scheduled")).scalar_one()
            dead = conn.execute(select(func.count()).where(writebacks.c.state == "dead")).scalar_one()
            urgent = conn.execute(select(func.count()).where(threads.c.urgent.is_(True))).scalar_one()
            states = set(conn.execute(select(threads.c.state)).scalars())
        assert (held, dead) == (1, 1)
        assert urgent >= 1
        assert states == {"filed", "needs_filing"}
    finally:
        engine.dispose()
