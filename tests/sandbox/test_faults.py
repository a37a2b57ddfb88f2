"""Injected faults, seen exactly as a client of the real API would see them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connector.sandbox import ClioState, Fault, FaultQueue, SandboxServer, generate_firm

AUTH = {"Authorization": "Bearer sandbox-token"}


@pytest.fixture
def state() -> ClioState:
    return ClioState(generate_firm(120, 60, seed=9))


@pytest.fixture
def server(state: ClioState) -> Iterator[SandboxServer]:
    with SandboxServer(state) as running:
        yield running


def contacts(server: SandboxServer, **params: Any) -> requests.Response:
    return requests.get(server.url("/contacts.json"), headers=AUTH, params={"fields": "id", **params}, timeout=10)


def post_note(server: SandboxServer, state: ClioState, subject: str) -> requests.Response:
    data = {"type": "Matter", "matter": {"id": state.ids("matters")[0]}, "subject": subject, "detail": "d"}
    return requests.post(server.url("/notes.json"), headers=AUTH, json={"data": data}, timeout=10)


def notes_with(state: ClioState, subject: str) -> list[dict[str, Any]]:
    return state.find("notes", lambda note: note["subject"] == subject)


def test_a_status_fault_answers_once_with_a_clio_error_body(server: SandboxServer, state: ClioState) -> None:
    state.faults.add(Fault("status", status=503))
    failed = contacts(server)
    assert failed.status_code == 503
    assert failed.headers["Content-Type"] == "application/json"
    assert failed.json()["error"]["type"] == "ServiceUnavailable"
    assert contacts(server).status_code == 200
    assert state.stats.faults_fired == 1


def test_faults_fire_times_times_in_order_and_only_where_they_match(server: SandboxServer, state: ClioState) -> None:
    state.faults.add(Fault("status", status=500, times=2, path="/contact*"))
    state.faults.add(Fault("status", status=502, path="/contacts.json"))
    state.faults.add(Fault("status", status=500, method="POST", path="/contacts.json"))
    assert requests.get(server.url("/matters.json"), headers=AUTH, timeout=10).status_code == 200
    assert [contacts(server).status_code for _ in range(4)] == [500, 500, 502, 200]
    assert len(state.faults) == 1


def test_a_rate_limit_fault_is_a_429_with_retry_after(server: SandboxServer, state: ClioState) -> None:
    state.faults.add(Fault("rate_limit", retry_after=7))
    limited = contacts(server)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json()["error"]["type"] == "RateLimited"
    assert state.stats.rate_limited == 1


def test_a_slow_fault_delays_and_can_time_a_client_out(server: SandboxServer, state: ClioState) -> None:
    state.faults.add(Fault("slow", delay=0.3))
    started = time.perf_counter()
    assert contacts(server).status_code == 200
    assert time.perf_counter() - started >= 0.3
    state.faults.add(Fault("slow", delay=0.5))
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(server.url("/contacts.json"), headers=AUTH, timeout=0.1)


def test_a_drop_closes_the_connection_before_anything_is_applied(server: SandboxServer, state: ClioState) -> None:
    state.faults.add(Fault("drop"))
    with pytest.raises(requests.exceptions.ConnectionError):
        contacts(server)
    state.faults.add(Fault("drop", method="POST", path="/notes.json"))
    with pytest.raises(requests.exceptions.ConnectionError):
        post_note(server, state, "dropped [ml:1]")
    assert notes_with(state, "dropped [ml:1]") == []
    assert contacts(server).status_code == 200


def test_a_drop_on_a_kept_alive_session_is_still_a_connection_error(server: SandboxServer, state: ClioState) -> None:
    with requests.Session() as session:
        session.headers.update(AUTH)
        assert session.get(server.url("/users.json"), timeout=10).status_code == 200
        state.faults.add(Fault("drop", path="/users.json"))
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(server.url("/users.json"), timeout=10)
        assert session.get(server.url("/users.json"), timeout=10).status_code == 200


def test_applied_lost_writes_the_record_but_the_client_never_hears(server: SandboxServer, state: ClioState) -> None:
    state.faults.add(Fault("applied_lost", method="POST", path="/notes.json"))
    with pytest.raises(requests.exceptions.ConnectionError):
        post_note(server, state, "summary [ml:lost]")
    assert len(notes_with(state, "summary [ml:lost]")) == 1
    params = {"type": "Matter", "query": "ml:lost", "fields": "id"}
    found = requests.get(server.url("/notes.json"), headers=AUTH, params=params, timeout=10)
    assert len(found.json()["data"]) == 1


def test_an_html_fault_is_a_maintenance_page(server: SandboxServer, state: ClioState) -> None:
    state.faults.add(Fault("html"))
    page = contacts(server)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        page.json()


def test_broken_json_claims_json_but_does_not_parse(server: SandboxServer, state: ClioState) -> None:
    state.faults.add(Fault("broken_json"))
    page = contacts(server)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(page.text)


def test_repeat_token_sends_the_client_back_to_the_same_page(server: SandboxServer, state: ClioState) -> None:
    first = contacts(server, limit=20).json()
    second_url = first["meta"]["paging"]["next"]
    state.faults.add(Fault("repeat_token"))
    second = requests.get(second_url, headers=AUTH, timeout=10).json()
    assert second["meta"]["paging"]["next"] == second_url
    again = requests.get(second["meta"]["paging"]["next"], headers=AUTH, timeout=10).json()
    assert again["data"] == second["data"]
    assert again["meta"]["paging"]["next"] != second_url


def test_a_fault_armed_over_http_fires(server: SandboxServer, state: ClioState) -> None:
    fault = {"kind": "rate_limit", "path": "/contacts.json", "retry_after": 3, "times": 2}
    armed = requests.post(f"{server.origin}/_sandbox/faults", json=fault, timeout=10)
    assert armed.status_code == 200
    listed = requests.get(f"{server.origin}/_sandbox/faults", timeout=10).json()["result"]
    assert listed[0]["remaining"] == 2
    assert [contacts(server).status_code for _ in range(3)] == [429, 429, 200]
    bad = requests.post(f"{server.origin}/_sandbox/faults", json={"kind": "gremlins"}, timeout=10)
    assert bad.status_code == 400


def test_fault_validation_and_the_queue() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")
    with pytest.raises(ValueError, match="times"):
        Fault("status", times=0)
    with pytest.raises(ValueError, match="unknown fault field"):
        Fault.from_json({"kind": "status", "colour": "red"})
    queue = FaultQueue()
    queue.add(Fault("status", method="*", path="/notes*"))
    assert queue.take("GET", "/contacts.json") is None
    taken = queue.take("post", "/notes.json")
    assert taken is not None
    assert taken.kind == "status"
    assert queue.take("POST", "/notes.json") is None
    assert Fault.from_json(Fault("slow", delay=1.5).to_json()) == Fault("slow", delay=1.5)


def test_a_fault_with_a_probability_hits_about_that_share_and_the_seed_repeats_it() -> None:
    def hits(seed: int) -> list[bool]:
        queue = FaultQueue()
        queue.add(Fault("status", method="POST", path="/notes.json", times=10_000, probability=0.3, seed=seed))
        return [queue.take("POST", "/notes.json") is not None for _ in range(2_000)]

    first = hits(5)
    assert 0.25 < sum(first) / len(first) < 0.35
    assert hits(5) == first
    assert hits(6) != first


def test_a_probabilistic_fault_that_misses_lets_the_next_armed_fault_try(
    server: SandboxServer, state: ClioState
) -> None:
    state.faults.add(Fault("status", status=503, times=5, probability=0.5, seed=1))
    state.faults.add(Fault("status", status=500, times=100))
    codes = [contacts(server).status_code for _ in range(40)]
    assert codes.count(503) == 5
    assert set(codes) == {500, 503}
    listed = requests.post(
        f"{server.origin}/_sandbox/faults", json={"kind": "drop", "probability": 0.25, "seed": 3}, timeout=10
    ).json()["result"]
    assert (listed["probability"], listed["seed"]) == (0.25, 3)
    with pytest.raises(ValueError, match="probability"):
        Fault("status", probability=0)
    with pytest.raises(ValueError, match="probability"):
        Fault("status", probability=1.5)
