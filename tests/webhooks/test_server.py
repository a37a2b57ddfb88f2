"""The app served by waitress over real HTTP, as `matterline serve` and the demo run it."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine

from connector.settings import Settings
from tests.support.http_load import MIB, closed_by_server, idle_connections, push_body, serve_process
from webhooks import create_app
from webhooks.server import ServerThread


def test_given_app_in_server_thread_then_healthz_answers_over_http(sqlite_engine: Engine) -> None:
    app = create_app(Settings(database_url="sqlite://"), sqlite_engine)
    with ServerThread(app) as server:
        assert server.url.startswith("http://127.0.0.1:")
        response = requests.get(f"{server.url}/healthz", timeout=5)
        ready = requests.get(f"{server.url}/readyz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["Server"] == "Matterline"
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_given_server_stopped_then_port_is_closed(sqlite_engine: Engine) -> None:
    app = create_app(Settings(database_url="sqlite://"), sqlite_engine)
    with ServerThread(app) as server:
        port = int(server.url.rsplit(":", 1)[1])
        requests.get(f"{server.url}/healthz", timeout=5)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    with pytest.raises(RuntimeError):
        _ = server.url


def test_given_concurrent_requests_then_each_answered(sqlite_engine: Engine) -> None:
    app = create_app(Settings(database_url="sqlite://"), sqlite_engine)
    with ServerThread(app, threads=4) as server, ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: requests.get(f"{server.url}/readyz", timeout=5).status_code, range(20)))
        error = requests.get(f"{server.url}/nowhere", timeout=5)
    assert statuses == [200] * 20
    assert error.status_code == 404
    assert error.json()["error"]["code"] == "not_found"


# -- limits: nobody without credentials can exhaust the server (both as `matterline serve` and in a thread) --


@pytest.fixture(params=["thread", "process"])
def served(request: pytest.FixtureRequest, tmp_path: Path, sqlite_engine: Engine) -> Iterator[str]:
    """The app under the server's limits, with idle connections closed after 2 s."""
    db_url = str(sqlite_engine.url)
    if request.param == "thread":
        app = create_app(Settings(database_url=db_url, server_idle_seconds=2), sqlite_engine)
        with ServerThread(app) as server:
            yield server.url
        return
    env = {
        "MATTERLINE_DATABASE_URL": db_url,
        "MATTERLINE_SECRET_KEY": "a-test-secret-of-32-characters!!",
        "MATTERLINE_SERVER_IDLE_SECONDS": "2",
    }
    with serve_process(env, tmp_path) as url:
        yield url


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_given_a_40_mib_body_then_it_is_refused_before_it_is_read(served: str, chunked: bool) -> None:
    declared = 40 * MIB
    accepted, answer = push_body(served, "/webhooks/twilio/sms", declared, chunked=chunked)
    print(f"\n{'chunked' if chunked else 'declared'} 40 MiB body: {accepted / MIB:.2f} MiB sent before the refusal")
    assert accepted < 8 * MIB
    assert answer.startswith(b"HTTP/1.1 413") or answer == b""
    assert requests.get(f"{served}/healthz", timeout=5).status_code == 200


def test_given_200_idle_connections_then_healthz_answers_within_a_second(served: str) -> None:
    with idle_connections(served, 200):
        started = time.monotonic()
        response = requests.get(f"{served}/healthz", timeout=1)
        elapsed = time.monotonic() - started
    print(f"\n/healthz with 200 idle connections open: {elapsed * 1000:.0f} ms")
    assert response.status_code == 200


def test_given_an_idle_connection_then_the_server_closes_it(served: str) -> None:
    with idle_connections(served, 1) as (sock,):
        assert closed_by_server(sock, within=10)
