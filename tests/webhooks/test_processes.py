"""`matterline serve --workers 2` for real: gunicorn's processes on PostgreSQL, one of them killed mid-run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from connector import const
from connector.settings import load_settings
from connector.store import make_engine
from connector.store.tables import messages
from tests.support.firm import JANE, OMAR, inbound_form, process_env, seed, signed
from tests.support.http_load import MIB, push_body
from tests.support.stores import migrated_store_url
from webhooks.processes import gunicorn_options

PATH = "/webhooks/twilio/sms"
TEXTS = 40
KILL_AFTER = 12


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> set[int]:
    """The live processes whose parent is `pid` (gunicorn's workers), read from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _until(check: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def pg_firm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, seeded PostgreSQL database of its own (skips without MATTERLINE_TEST_DATABASE_URL)."""
    with migrated_store_url("postgresql", tmp_path_factory) as url:
        engine = make_engine(url)
        seed(engine)
        engine.dispose()
        yield url


@pytest.fixture
def served(pg_firm: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`matterline serve --workers 2` as an admin starts it (no metrics directory set), once it is ready."""
    port = _free_port()
    env = process_env(pg_firm, TMPDIR=str(tmp_path))  # TMPDIR: where serve makes its metrics directory
    with (tmp_path / "out.txt").open("w") as out, (tmp_path / "err.txt").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", "serve", "--workers", "2", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=err,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, (tmp_path / "err.txt").read_text()
        try:
            return requests.get(f"{url}/readyz", timeout=1).status_code == 200 and len(_children(proc.pid)) == 2
        except requests.ConnectionError:
            return False

    try:
        _until(ready, 30)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


@pytest.mark.postgres
def test_two_processes_store_every_text_once_while_one_is_killed(
    served: tuple[subprocess.Popen[str], str], pg_firm: str, tmp_path: Path
) -> None:
    proc, url = served
    first = _children(proc.pid)
    victim = min(first)
    forms = [inbound_form((JANE, OMAR)[n % 2], f"Question {n} about my case") for n in range(TEXTS)]
    answered = threading.Semaphore(0)

    def post(form: dict[str, str]) -> int:
        # Twilio posts again when a connection drops before the answer: a text is never lost, never stored twice.
        for _ in range(5):
            try:
                status = requests.post(f"{url}{PATH}", data=form, headers=signed(PATH, form), timeout=10).status_code
            except requests.ConnectionError:
                continue
            answered.release()
            return status
        return 0

    with ThreadPoolExecutor(8) as pool:
        results = pool.map(post, forms)
        for _ in range(KILL_AFTER):
            answered.acquire(timeout=10)
        os.kill(victim, signal.SIGKILL)
        statuses = list(results)

    assert statuses == [200] * TEXTS
    engine = make_engine(pg_firm)
    with engine.connect() as conn:
        stored = conn.scalars(select(messages.c.sid).where(messages.c.sid.in_([f["MessageSid"] for f in forms])))
        assert sorted(stored) == sorted(f["MessageSid"] for f in forms)
    engine.dispose()
    _until(lambda: len(_children(proc.pid)) == 2 and victim not in _children(proc.pid), 10)  # gunicorn replaced it

    sent, answer = push_body(url, PATH, 2 * MIB)  # gunicorn has no body limit: the app's refuses it unread
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert sent < 2 * MIB

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=8) == 0
    assert "with 2 worker processes" in (tmp_path / "out.txt").read_text()
    assert not list(tmp_path.glob("matterline-metrics-*"))  # the metrics directory serve made is gone with it


def test_the_options_hold_waitress_limits_where_gunicorn_has_them() -> None:
    settings = load_settings(
        {"MATTERLINE_SERVER_THREADS": "6", "MATTERLINE_SERVER_IDLE_SECONDS": "12", "MATTERLINE_LOG_LEVEL": "WARNING"},
        env_file=None,
    )
    options = gunicorn_options(settings, "0.0.0.0", 9000, 3)
    assert {key: options[key] for key in ("bind", "workers", "worker_class", "threads", "keepalive")} == {
        "bind": ["0.0.0.0:9000"],
        "workers": 3,
        "worker_class": "gthread",
        "threads": 6,
        "keepalive": 12,
    }
    assert options["worker_connections"] == settings.server_connection_limit
    assert options["limit_request_field_size"] == const.MAX_HEADER_BYTES
    assert options["preload_app"] is False  # each worker opens its own engine after the fork
    assert options["accesslog"] is None
    assert options["control_socket_disable"] is True
