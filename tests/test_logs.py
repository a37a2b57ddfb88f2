"""One structured line per event: key=value a person can read, JSON a shipper can parse, never a secret or number."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from connector import logs
from tests.support.firm import JANE, settings

SECRET_KEY = "Kumquat-Sextant-5519-secret"
METRICS_TOKEN = "Pangolin-Metrics-7731-token"
DB_PASSWORD = "Walrus-Db-Pass-0042"


def record(msg: str, *args: object, level: int = logging.INFO, name: str = "matterline.test", **extra: object) -> str:
    """`msg % args` logged through a real logger into a fresh keyvalue handler; the line it wrote."""
    return emit("keyvalue", lambda log: log.log(level, msg, *args, extra=extra or None), name)


def emit(style: str, write: object, name: str = "matterline.test") -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.Formatter(style, (SECRET_KEY, METRICS_TOKEN, DB_PASSWORD)))
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        write(logger)  # type: ignore[operator]
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


def test_an_event_message_becomes_its_event_and_fields_with_spaced_values_quoted() -> None:
    line = record("readyz.store_unreachable error=%s step=%s", "CmsError: HTTP 500", "intake")
    assert line.endswith('event=readyz.store_unreachable error="CmsError: HTTP 500" step=intake\n')
    assert line.startswith("ts=")
    assert " level=info logger=matterline.test " in line
    assert line.count("\n") == 1


def test_any_other_message_is_kept_whole_as_msg_and_quotes_and_newlines_are_escaped() -> None:
    line = record('send job %s failed "badly"\nsecond line', 7)
    assert line.endswith('msg="send job 7 failed \\"badly\\"\\nsecond line"\n')
    assert line.count("\n") == 1


def test_a_field_named_like_a_line_key_does_not_overwrite_it() -> None:
    line = record("cms.webhook.ignored event=%s resource=%s", "created", "matters")
    assert "event=cms.webhook.ignored event_=created resource=matters" in line


def test_json_is_one_parseable_object_per_line_with_the_same_keys() -> None:
    text = emit("json", lambda log: logs.log_event(log, logging.WARNING, "request", route="/x/<int:id>", status=404))
    (line,) = text.splitlines()
    parsed = json.loads(line)
    assert parsed["level"] == "warning"
    assert parsed["event"] == "request"
    assert parsed["route"] == "/x/<int:id>"
    assert parsed["status"] == 404
    assert parsed["ts"].endswith("Z")


def test_secrets_are_replaced_and_phone_numbers_masked_in_every_field() -> None:
    line = record(
        "cms.failed url=%s to=%s",
        f"postgresql://app:{DB_PASSWORD}@db/x?token={METRICS_TOKEN}",
        "+14158675309",
        fields={"note": f"key {SECRET_KEY} for %2B14158675309"},
    )
    for leaked in (SECRET_KEY, METRICS_TOKEN, DB_PASSWORD, "4158675309"):
        assert leaked not in line
    assert line.count("[secret]") == 3
    assert line.count("[phone]") == 2


def test_an_exception_is_one_line_with_its_described_traceback_and_no_exception_text() -> None:
    def fail(log: logging.Logger) -> None:
        said = "Tangerine"  # as a client's text arrives: in a variable, not in the source line the frame shows
        try:
            raise ValueError(f"{JANE} said: {said}")
        except ValueError:
            log.exception("worker.step_failed step=%s", "intake")

    (line,) = emit("keyvalue", fail).splitlines()
    assert "event=worker.step_failed step=intake" in line
    assert 'traceback="Traceback (most recent call last):\\n' in line
    assert "ValueError" in line
    assert "Tangerine" not in line
    assert "8675309" not in line


def test_the_request_and_job_ids_in_context_are_on_every_line() -> None:
    rid = logs.request_id.set("req-12345678")
    jid = logs.job_id.set("42")
    try:
        line = record("twilio.duplicate sid=%s", "SM1")
    finally:
        logs.request_id.reset(rid)
        logs.job_id.reset(jid)
    assert line.endswith("sid=SM1 request_id=req-12345678 job_id=42\n")
    assert "request_id" not in record("twilio.duplicate sid=%s", "SM1")


@pytest.fixture
def root_handler() -> Iterator[list[logging.Handler]]:
    """Undo whatever `configure` leaves on the root logger and the matterline level."""
    level = logging.getLogger("matterline").level
    made: list[logging.Handler] = []
    yield made
    for handler in made:
        logging.getLogger().removeHandler(handler)
    logging.getLogger("matterline").setLevel(level)


def test_configure_is_idempotent_takes_the_settings_secrets_and_keeps_libraries_to_warnings(
    root_handler: list[logging.Handler],
) -> None:
    firm = settings(
        MATTERLINE_SECRET_KEY=SECRET_KEY,
        MATTERLINE_LOG_FORMAT="json",
        MATTERLINE_LOG_LEVEL="DEBUG",
        MATTERLINE_DATABASE_URL=f"postgresql://app:{DB_PASSWORD}@127.0.0.1/x",
    )
    stream = io.StringIO()
    for _ in range(3):
        root_handler.append(logs.configure(firm, stream=stream))
    ours = [h for h in logging.getLogger().handlers if h in root_handler]
    assert ours == root_handler[-1:]
    logging.getLogger("matterline.x").debug("a.b key=%s db=%s", SECRET_KEY, DB_PASSWORD)
    logging.getLogger("urllib3.connectionpool").info("Starting new HTTPS connection")
    logging.getLogger("urllib3.connectionpool").warning("Retrying")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["logger"], line.get("event"), line.get("msg")) for line in lines] == [
        ("matterline.x", "a.b", None),
        ("urllib3.connectionpool", None, "Retrying"),
    ]
    assert lines[0]["key"] == "[secret]"
    assert lines[0]["db"] == "[secret]"
    assert "test-twilio-auth-token" in logs.secrets_of(firm)


@dataclass
class Counts:
    sent: int = 0
    retried: int = 0


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    attempts: int


def test_each_job_sets_the_job_id_and_logs_one_line_with_the_counter_it_moved() -> None:
    counts = Counts()
    seen: list[str | None] = []

    def work(log: logging.Logger) -> None:
        for job in logs.each_job([Job(7, "sms_send", 1), Job(8, "sms_send", 3), Job(9, "sms_send", 1)], counts, log):
            seen.append(logs.job_id.get())
            if job.id == 7:
                counts.sent += 1
            elif job.id == 8:
                counts.retried += 1

    lines = emit("keyvalue", work).splitlines()
    assert seen == ["7", "8", "9"]
    assert logs.job_id.get() is None
    assert [line.split(" event=")[1] for line in lines] == [
        "job kind=sms_send outcome=sent attempt=1 ms=" + lines[0].split("ms=")[1],
        "job kind=sms_send outcome=retried attempt=3 ms=" + lines[1].split("ms=")[1],
        "job kind=sms_send outcome=skipped attempt=1 ms=" + lines[2].split("ms=")[1],
    ]
    assert all(line.endswith(f"job_id={n}") for line, n in zip(lines, (7, 8, 9), strict=True))
