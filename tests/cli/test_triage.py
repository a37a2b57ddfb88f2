"""`matterline triage`: train on a small sample (and the firm's corrected texts) and judge the model on the
held-out slice and on those texts; staff correcting a decision, showing one, and exporting the corrections."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from connector import queries
from connector.triage.model import Model
from tests.support.command import run
from tests.support.firm import JANE, OMAR
from tests.support.matter_history import text_in

AuditLog = Callable[..., list[dict[str, Any]]]
AddUser = Callable[..., dict[str, Any]]


def test_train_writes_a_model_that_evaluate_judges_on_the_heldout_slice(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "model.json.gz"
    code, stdout, _ = run(env, "triage", "train", "--sample", "200", "--out", str(out))
    assert code == 0, stdout
    assert "on 200 texts" in stdout
    assert out.is_file()
    code, stdout, _ = run(env, "triage", "evaluate", "--model", str(out), "--json")
    assert code == 0, stdout
    figures = json.loads(stdout)
    assert figures["texts"] >= 400
    assert figures["model"].startswith("triage-")
    assert 0.0 <= figures["precision"] <= 1.0
    assert 0.0 <= figures["recall"] <= 1.0
    assert "self_harm_crisis" in figures["by_category"]


def test_evaluate_names_a_file_that_is_not_a_model(env: dict[str, str], tmp_path: Path) -> None:
    bogus = tmp_path / "model.json.gz"
    bogus.write_bytes(b"not gzip")
    code, _, stderr = run(env, "triage", "evaluate", "--model", str(bogus))
    assert code == 1
    assert "not a triage model" in stderr


# -- staff correcting triage, and what the corrections are for -------------------------------------------------

NY = ZoneInfo("America/New_York")
TUESDAY_10AM = datetime(2026, 11, 24, 10, 0, tzinfo=NY)
ARREST = "They arrested my son last night, he's in county jail"
ROUTINE = "Thanks, see you at the meeting next month"


@pytest.fixture
def corrected(texting: dict[str, str], store: Engine, user: AddUser) -> dict[str, int]:
    """Two client texts triage got wrong, both corrected by Pat at the command line: their message ids."""
    user("Pat Paralegal", "pat@firm.example", "staff")
    ids = {
        "arrest": text_in(store, JANE, ARREST, TUESDAY_10AM),
        "routine": text_in(store, OMAR, ROUTINE, TUESDAY_10AM),
    }
    code, _, err = run(texting, "triage", "correct", str(ids["arrest"]), "--not-urgent", "--as", "pat@firm.example")
    assert code == 0, err
    code, _, err = run(
        texting,
        "triage",
        "correct",
        str(ids["routine"]),
        "--urgent",
        "--category",
        "housing",
        "--as",
        "pat@firm.example",
    )
    assert code == 0, err
    return ids


def test_correct_says_what_changed_and_what_triage_had_said(
    texting: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    user("Pat Paralegal", "pat@firm.example", "staff")
    arrest = text_in(store, JANE, ARREST, TUESDAY_10AM)
    routine = text_in(store, OMAR, ROUTINE, TUESDAY_10AM)
    version = queries.triage.require(store, arrest).version

    code, out, err = run(
        texting,
        "triage",
        "correct",
        str(arrest),
        "--not-urgent",
        "--note",
        "his son is home",
        "--as",
        "pat@firm.example",
    )
    assert code == 0, err
    assert out == (
        f"message {arrest}: marked not urgent by pat@firm.example; "
        f"triage had said urgent (arrest or custody) ({version})\n"
    )
    code, out, err = run(
        texting,
        "triage",
        "correct",
        str(routine),
        "--urgent",
        "--category",
        "court_deadline",
        "--as",
        "pat@firm.example",
    )
    assert code == 0, err
    assert out == (
        f"message {routine}: marked urgent (court date or deadline) by pat@firm.example; "
        f"triage had said not urgent ({version})\n"
    )
    code, out, err = run(texting, "triage", "correct", str(routine), "--urgent", "--as", "pat@firm.example", "--json")
    assert code == 0, err
    view = json.loads(out)
    assert (view["urgent"], view["category"], len(view["corrections"])) == (True, "court_deadline", 2)
    assert [t["urgent"] for t in json.loads(run(texting, "threads", "--json")[1])] == [True, False]  # Omar's, Jane's

    entries = audit_log("triage_corrected")
    assert [e["subject_id"] for e in entries] == [str(arrest), str(routine), str(routine)]
    assert all(e["actor"].endswith(":pat@firm.example") for e in entries)
    assert "home" not in json.dumps(entries)  # never the note
    assert "jail" not in json.dumps(entries)  # nor the text


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("--as", "pat@firm.example"), 2, "say --urgent or --not-urgent"),
        (("--urgent",), 2, "Missing option '--as'"),
        (("--urgent", "--category", "aliens", "--as", "pat@firm.example"), 2, "'aliens' is not one of"),
        (("--not-urgent", "--category", "housing", "--as", "pat@firm.example"), 1, "category_needs_urgent"),
        (("--urgent", "--note", "x" * 501, "--as", "pat@firm.example"), 1, "note_too_long"),
        (("--urgent", "--as", "nobody@firm.example"), 1, "no user 'nobody@firm.example'"),
    ],
)
def test_correct_refuses_what_it_cannot_keep(
    texting: dict[str, str], store: Engine, user: AddUser, args: tuple[str, ...], code: int, said: str
) -> None:
    user("Pat Paralegal", "pat@firm.example", "staff")
    routine = text_in(store, OMAR, ROUTINE, TUESDAY_10AM)
    exit_code, _, err = run(texting, "triage", "correct", str(routine), *args)
    assert exit_code == code
    assert said in err
    assert queries.triage.require(store, routine).corrections == ()


def test_correct_and_show_name_a_text_triage_never_decided(texting: dict[str, str], user: AddUser) -> None:
    user("Pat Paralegal", "pat@firm.example", "staff")
    for args in (("correct", "9999", "--urgent", "--as", "pat@firm.example"), ("show", "9999")):
        code, _, err = run(texting, "triage", *args)
        assert code == 1
        assert err.startswith("matterline: not_found: ")


def test_show_gives_the_decision_its_reasons_and_the_corrections(
    texting: dict[str, str], store: Engine, corrected: dict[str, int]
) -> None:
    view = queries.triage.require(store, corrected["arrest"])
    code, out, err = run(texting, "triage", "show", str(corrected["arrest"]))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"message {corrected['arrest']}: not urgent, as corrected"
    assert lines[1].startswith(
        f"triage ({view.version}, 2026-11-24 15:00 UTC): urgent (arrest or custody), probability "
    )
    assert lines[2] == f"  reasons: {'; '.join(view.reasons)}"
    assert lines[3] == f"  date read: {view.date_read}"
    assert lines[4] == "corrections (oldest first):"
    assert lines[5].endswith(" UTC  Pat Paralegal said not urgent")

    code, out, err = run(texting, "triage", "show", str(corrected["routine"]), "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["urgent"], shown["situation"], shown["decided_urgent"]) == (
        True,
        "housing lockout or eviction",
        False,
    )
    assert [c["by"] for c in shown["corrections"]] == ["Pat Paralegal"]


def test_corrections_exports_every_corrected_text_with_its_newest_label(
    texting: dict[str, str], store: Engine, corrected: dict[str, int], audit_log: AuditLog, tmp_path: Path
) -> None:
    run(texting, "triage", "correct", str(corrected["routine"]), "--urgent", "--as", "pat@firm.example")
    run(
        texting,
        "triage",
        "correct",
        str(corrected["routine"]),
        "--urgent",
        "--category",
        "court_deadline",
        "--as",
        "pat@firm.example",
    )
    out = tmp_path / "corrections.jsonl"
    code, stdout, err = run(texting, "triage", "corrections", "--out", str(out))
    assert code == 0, err
    assert stdout == ""
    assert err == f"wrote 2 corrected texts to {out}\n"
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["text"], r["urgent"], r["category"]) for r in rows] == [
        (f"msg-{corrected['arrest']}", ARREST, False, "none"),
        (f"msg-{corrected['routine']}", ROUTINE, True, "court_deadline"),  # the newest of its three labels
    ]
    assert rows[0]["received_at"] == "2026-11-24T07:00:00"  # Jane's own time (Pacific), as her words are read
    assert {r["corrected_by"] for r in rows} == {"Pat Paralegal"}

    code, stdout, err = run(texting, "triage", "corrections")
    assert code == 0, err
    assert [json.loads(line) for line in stdout.splitlines()] == rows
    assert err == "wrote 2 corrected texts\n"
    exports = audit_log("export")
    assert [e["details"] for e in exports] == [{"texts": 2}, {"texts": 2}]
    assert ARREST not in json.dumps(exports)

    code, _, err = run(texting, "triage", "corrections", "--as", "pat@firm.example")
    assert code == 1
    assert "forbidden_role" in err
    code, _, err = run(texting, "triage", "corrections", "--out", str(tmp_path / "no" / "such.jsonl"))
    assert code == 2
    assert "is not a directory" in err
    assert len(audit_log("export")) == 2  # neither refusal is an export


def test_evaluate_firm_scores_the_model_on_the_corrected_texts(
    texting: dict[str, str], corrected: dict[str, int]
) -> None:
    code, out, err = run(texting, "triage", "evaluate", "--firm", "--json")
    assert code == 0, err
    figures = json.loads(out)
    assert figures["texts"] >= 400  # the held-out slice, as before
    firm_figures = figures["firm"]
    assert (firm_figures["texts"], firm_figures["urgent"]) == (2, 1)
    # The model said what triage said: the arrest urgent (now a false alarm), the routine text not (now missed).
    assert (firm_figures["precision"], firm_figures["recall"]) == (0.0, 0.0)
    assert firm_figures["by_category"] == {"housing": [1, 0]}
    assert firm_figures["missed"] == [f"msg-{corrected['routine']}"]

    code, out, err = run(texting, "triage", "evaluate", "--firm")
    assert code == 0, err
    assert "on the firm's corrected texts: 2 texts, 1 urgent\nprecision 0.000  recall 0.000\n" in out
    assert "  housing            recall 0.000 (0/1)" in out


def test_evaluate_firm_says_plainly_when_nothing_was_corrected(texting: dict[str, str]) -> None:
    code, out, err = run(texting, "triage", "evaluate", "--firm")
    assert code == 0, err
    assert out.endswith(
        "the firm's corrected texts: none yet, so nothing to score (`matterline triage correct` adds one)\n"
    )
    code, out, err = run(texting, "triage", "evaluate", "--firm", "--json")
    assert code == 0, err
    assert json.loads(out)["firm"] is None


def test_evaluate_without_firm_needs_no_store(tmp_path: Path) -> None:
    unreachable = {"MATTERLINE_DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/store.db"}
    code, out, err = run(unreachable, "triage", "evaluate", "--json")
    assert code == 0, err
    assert "firm" not in json.loads(out)


def _corrections_file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "corrections.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


GOOD = json.dumps(
    {
        "id": "msg-7",
        "text": "The landlord changed the locks, my kids are outside",
        "urgent": True,
        "category": "housing",
        "received_at": "2026-11-24T10:00:00",
        "corrected_by": "Pat Paralegal",
        "corrected_at": "2026-11-25T09:00:00+00:00",
        "was_urgent": False,
        "version": "triage-0123456789ab",
    }
)


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        ("{not json", "corrections.jsonl:3: not JSON"),
        (GOOD.replace("true", '"yes"'), "corrections.jsonl:3: {'urgent': ['Not a valid boolean.']}"),
        (GOOD.replace('"housing"', '"aliens"'), "corrections.jsonl:3: {'category': ['Must be one of"),
        (GOOD.replace('"housing"', '"none"'), "corrections.jsonl:3: an urgent text needs its situation"),
        (GOOD.replace("2026-11-24T10:00:00", "yesterday"), "corrections.jsonl:3: {'received_at': ["),
        (GOOD.replace('"text"', '"txt"'), "corrections.jsonl:3: {"),
        (GOOD, "corrections.jsonl:3: id msg-7 is also at corrections.jsonl:1"),
    ],
)
def test_train_names_the_line_of_a_corrections_file_it_cannot_read(tmp_path: Path, bad: str, said: str) -> None:
    path = _corrections_file(tmp_path, GOOD, "", bad)
    out = tmp_path / "model.json.gz"
    code, _, err = run({}, "triage", "train", "--sample", "50", "--corrections", str(path), "--out", str(out))
    assert code == 1
    assert said in err
    assert not out.exists()  # refused before any training


def test_train_adds_the_corrected_texts_to_the_training_texts(
    texting: dict[str, str], corrected: dict[str, int], tmp_path: Path
) -> None:
    exported = tmp_path / "corrections.jsonl"
    assert run(texting, "triage", "corrections", "--out", str(exported))[0] == 0
    out = tmp_path / "model.json.gz"
    code, stdout, err = run(
        texting, "triage", "train", "--sample", "200", "--corrections", str(exported), "--out", str(out)
    )
    assert code == 0, err
    assert "on 202 texts" in stdout
    assert f"  of which 2 corrected texts from {exported}\n" in stdout
    assert Model.load(out).version.startswith("triage-")
