"""`matterline report response`: a small realistic month (tests/support/response_traffic.month_of_traffic)
printed as JSON with the figures the month's own record of its waits gives, and as a table for people."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine

from tests.support import firm
from tests.support.command import run
from tests.support.response_traffic import add_staff, expected, month_of_traffic, seed_traffic

START = date(2026, 10, 5)  # a Monday


def test_a_month_as_json_and_as_a_table(engine: Engine, env: dict[str, str]) -> None:
    settings = firm.settings()
    office, zone = settings.office, settings.zone
    exchanges, assignees = month_of_traffic(START, office, zone, threads=40, days=14, seed=3)
    staff = add_staff(engine)
    seed_traffic(engine, exchanges, staff, assignees=assignees)
    last = START + timedelta(days=13)
    begins = datetime.combine(START, time(0), zone).astimezone(UTC)

    code, out, err = run(env, "report", "response", "--from", str(START), "--to", str(last), "--json")

    assert (code, err) == (0, "")
    shown = json.loads(out)
    assert (shown["start"], shown["end"], shown["timezone"]) == ("2026-10-05", "2026-10-18", "America/New_York")
    assert shown["weeks"] == ["2026-10-05", "2026-10-12"]
    whole = expected(exchanges, office, zone, begins=begins)
    total = shown["firm"]["total"]
    assert whole.answered > 20
    assert whole.unanswered > 0
    assert (total["answered"], total["unanswered"]) == (whole.answered, whole.unanswered)
    assert (total["median_business_minutes"], total["median_clock_minutes"], total["p90_clock_minutes"]) == (
        whole.median_business,
        whole.median_clock,
        whole.p90_clock,
    )
    second_week = datetime.combine(date(2026, 10, 12), time(0), zone).astimezone(UTC)
    week = expected(exchanges, office, zone, begins=second_week)
    assert shown["firm"]["weeks"][1]["answered"] == week.answered
    assert shown["firm"]["weeks"][1]["median_clock_minutes"] == week.median_clock
    people = {line["user_id"]: line for line in shown["people"]}
    for index, user_id in enumerate(staff):
        theirs = expected(exchanges, office, zone, responder=index, begins=begins)
        assert people[user_id]["total"]["answered"] == theirs.answered
        assert people[user_id]["total"]["median_business_minutes"] == theirs.median_business

    code, out, _ = run(env, "report", "response", "--from", str(START), "--to", str(last))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "First-response times, 2026-10-05 to 2026-10-18 (America/New_York)"
    assert lines[2] == "Whole firm"
    whole_period = next(line for line in lines if line.startswith("  whole period"))
    assert whole_period.split()[2:4] == [str(whole.answered), str(whole.unanswered)]
    assert "Avery Attorney" in lines

    code, _, err = run(env, "report", "response", "--from", str(last), "--to", str(START))
    assert code == 1
    assert "invalid_period" in err
