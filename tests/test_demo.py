"""`matterline demo --once`: the scripted demo runs the whole loop on the embedded defaults and exits 0."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from connector.cli import main


def test_demo_once_syncs_serves_and_applies_cms_webhooks(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--once", "--dir", str(tmp_path / "demo")], catch_exceptions=False)
    out = result.stdout
    assert result.exit_code == 0, out
    assert re.search(r"clients: 600 fetched, 600 new", out)
    assert re.search(r"matters: 400 fetched, 400 new", out)
    assert "(/healthz, /readyz: ready)" in out
    assert "handshakes answered: [200, 200]" in out
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
