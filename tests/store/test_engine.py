"""Opening the store: a failing statement's error and SQLAlchemy's log lines never show its parameters."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from connector.redaction import describe

BODY = "Meet me behind the courthouse, ask for Marisol-5512"
PHONE = "+14158675309"


def test_a_failing_statement_keeps_its_parameters_out_of_the_error_and_the_log(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # SQLAlchemy holds its own loggers at WARNING
    insert = text("INSERT INTO no_such_table (body, phone) VALUES (:body, :phone)")
    with pytest.raises(DBAPIError) as failed, engine.begin() as conn:
        conn.execute(insert, {"body": BODY, "phone": PHONE})
    seen = "\n".join([str(failed.value), describe(failed.value), caplog.text])
    assert "no_such_table" in str(failed.value)  # the error still says what failed
    assert "INSERT INTO no_such_table" in caplog.text  # and SQLAlchemy did log the statement
    assert "Marisol-5512" not in seen
    assert "4158675309" not in seen
