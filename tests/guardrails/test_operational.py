"""Client work only (`connector/guardrails/operational.py`): promotions found, ordinary legal texts left alone,
a blast done one text at a time seen in the store, and a notice recognised as its template's text."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from connector.const import BULK_WINDOW
from connector.guardrails import operational, pipeline
from connector.messaging import filing, purpose, reply_templates, texts
from tests.support.firm import ANN_LEE, CARA, FIRM_NUMBER, JANE, NOW, OMAR, seed, settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "operational"
BLAST = "Our office is closed on Friday for the holiday; we reopen Monday at 9am."


def texts_in(name: str) -> list[str]:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_ordinary_client_texts_are_not_promotions() -> None:
    ordinary = texts_in("ordinary.txt")
    assert len(ordinary) >= 30
    refused = {text: found.match for text in ordinary if (found := operational.promotion(text)) is not None}
    assert refused == {}


def test_promotional_texts_are_found_and_say_what_kind_they_are() -> None:
    promotional = texts_in("promotional.txt")
    assert len(promotional) >= 20
    missed = [text for text in promotional if operational.promotion(text) is None]
    assert missed == []
    found = operational.promotion("Thanks for trusting us! If you know anyone, REFER A FRIEND and get $50.")
    assert found is not None
    assert (found.rule_id, found.action, found.match) == ("marketing", "block", "REFER A FRIEND")
    assert "referral request" in found.message
    assert "marketing tool" in found.suggestion
    link = operational.promotion("Details: https://bit.ly/3xYzAb today")
    assert link is not None
    assert link.match == "https://bit.ly/3xYzAb"


def test_the_firms_own_content_rules_cannot_turn_it_off(tmp_path: Path, sqlite_engine: Engine) -> None:
    only_rule = {"id": "codeword", "action": "warn", "patterns": [r"\bpineapple\b"], "message": "m", "suggestion": "s"}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"version": 1, "rules": [only_rule]}))
    firm = settings(MATTERLINE_CONTENT_RULES_FILE=str(path))
    found = pipeline.findings(sqlite_engine, firm, "The pineapple is ripe: leave us a review on Google!")
    assert [(f.rule_id, f.action) for f in found] == [("codeword", "warn"), ("marketing", "block")]


@pytest.mark.parametrize(
    ("to", "named"),
    [
        (None, 0),
        ("+1 (415) 867-5309", 1),
        ("+14158675309, +12128675309", 2),
        ("+14158675309;+12128675309; +16178675309", 3),
        (["+14158675309"], 1),
        (["+14158675309", "+12128675309"], 2),
        ("not a number", 1),
    ],
)
def test_recipients_named(to: str | list[str] | None, named: int) -> None:
    assert operational.recipients_named(to) == named


def test_a_notice_is_its_templates_text_with_fields_filled_in() -> None:
    fields = reply_templates.MergeFields("Jane Doe", "00101-Doe", "Doe & Roe LLP", "Alice")
    for template in reply_templates.DEFAULT_TEMPLATES:
        body = reply_templates.merge(template, fields)
        assert operational.from_template(template.body, body)
        assert operational.from_template(template.body, body.upper().replace(" ", "\n  "))  # case, spacing aside
        assert not operational.from_template(template.body, body.replace("Thanks", "Hey").replace("Hi", "Yo"))
        assert not operational.from_template(template.body, body + " Also, 20% off wills this week!")


def sent(engine: Engine, phone: str, body: str, at: datetime, *, kind: str = "message", why: str | None = None) -> None:
    with engine.begin() as conn:
        thread = filing.thread_for(conn, FIRM_NUMBER, phone, at)
        texts.store(
            conn,
            thread_id=thread.id,
            kind=kind,
            firm_key=FIRM_NUMBER,
            to=phone,
            body=body,
            matter_cms_id=None,
            now=at,
            purpose=why,
        )


def is_bulk(engine: Engine, body: str, to: str, now: datetime) -> bool:
    with engine.connect() as conn:
        return operational.bulk(conn, body, to, now)


def test_the_same_body_to_three_other_numbers_within_the_window_is_a_blast(engine: Engine) -> None:
    seed(engine)
    assert purpose.REMINDER == operational.REMINDER
    sent(engine, JANE, BLAST, NOW)
    sent(engine, OMAR, BLAST.upper(), NOW + timedelta(minutes=1))  # case and spacing do not make it another text
    for _ in range(3):  # the same number again and again is one number
        sent(engine, JANE, BLAST, NOW + timedelta(minutes=2))
    # Texts that do not count: a reminder, Matterline's own texts, a different body.
    sent(engine, ANN_LEE, BLAST, NOW, why=purpose.REMINDER)
    sent(engine, ANN_LEE, BLAST, NOW, kind="auto_reply")
    sent(engine, ANN_LEE, BLAST + " See you then.", NOW)
    at = NOW + timedelta(minutes=5)
    assert not is_bulk(engine, BLAST, CARA, at)  # two other numbers so far
    assert not is_bulk(engine, BLAST, JANE, at)  # texting Jane again is not texting more people
    sent(engine, ANN_LEE, f"  {BLAST}\n", NOW + timedelta(minutes=3))
    assert is_bulk(engine, BLAST, CARA, at)  # the fourth number
    later = NOW + BULK_WINDOW + timedelta(minutes=2, seconds=30)
    assert not is_bulk(engine, BLAST, CARA, later)  # Jane's and Omar's have aged out: only Ann's is left
    assert not is_bulk(engine, "Thanks, got it.", CARA, at)  # short replies go to many clients every day
