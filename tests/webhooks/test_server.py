"""The app served by waitress over real HTTP, as `matterline serve` and the demo run it."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import Engine

from connector.settings import Settings
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
