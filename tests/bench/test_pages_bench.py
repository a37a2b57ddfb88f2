"""Staff pages benchmark (`make bench`): the inbox, a thread and the live poll with 1,000,000 messages.

Targets (issue 11), on SQLite and PostgreSQL with 1,000,000 messages in 50,000 threads:
- server time for the inbox page and a thread page: p95 under 50 ms;
- the poll answering "nothing new": p95 under 5 ms;
- 200 staff polling every 5 seconds: the CPU this costs, as a share of one core.

Server time is measured in process through the WSGI app (the Flask test client), so it is the app's own
time without a network; the baseline is the same pages on a store of 1,000 messages in the same run.
The CPU share is measured on the real server (waitress in its own process) under 200 signed-in
sessions polling on their 5-second clock, read from the server process's own CPU counters.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import Engine

from connector.staff import sessions
from connector.store.engine import utcnow
from tests.bench.test_inbox_bench import PER_THREAD, THREADS, UNREAD, _seed, _store, read_all_but
from tests.support.firm import settings
from tests.support.inbox import stranger, text_in
from tests.support.people import add_user
from webhooks import create_app
from webhooks.pages.auth import COOKIE

pytestmark = pytest.mark.bench

RUNS = 40
STAFF = 200
POLL_EVERY = 5.0
LOAD_SECONDS = 20.0
SECRET = "a bench secret key, long enough"
_POLLER = re.compile(r"""id="poller"[^>]*?hx-(get|post)="([^"]+)"[^>]*?hx-vals='([^']+)'""", re.S)


def _timed(fn: Callable[[], Any]) -> tuple[float, float]:
    fn()  # warm
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def _session(engine: Engine, user_id: int) -> str:
    with engine.begin() as conn:
        return sessions.open_session(conn, user_id, utcnow())


def _ok(client: FlaskClient, url: str, status: int = 200) -> Callable[[], Any]:
    def call() -> Any:
        answer = client.get(url)
        assert answer.status_code == status, (url, answer.status_code)
        return answer

    return call


@dataclass(frozen=True)
class Poller:
    """How a drawn page polls: its method, URL and values (the stamp among them)."""

    method: str
    url: str
    values: dict[str, Any]


def _poller(html: str) -> Poller:
    found = _POLLER.search(html)
    assert found, "the page has no live poller"
    return Poller(found.group(1), unescape(found.group(2)), json.loads(unescape(found.group(3))))


def _pages(engine: Engine, thread_id: int) -> dict[str, Callable[[], Any]]:
    user, _ = add_user(engine, name="Bench Attorney", email="bench@firm.example", role="attorney")
    read_all_but(engine, user.id, min(UNREAD, thread_id))
    app = create_app(settings(MATTERLINE_DATABASE_URL=str(engine.url), MATTERLINE_SECRET_KEY=SECRET), engine)
    client = app.test_client()
    client.set_cookie(COOKIE, _session(engine, user.id))
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/inbox").get_data(as_text=True))
    assert csrf is not None
    quiet = {"X-Matterline-Poll": "1", "HX-Request": "true", "X-CSRFToken": csrf.group(1)}

    def poll(path: str) -> Callable[[], Any]:
        drawn: list[Poller] = []

        def call() -> Any:
            if not drawn:  # drawn at the first (warm-up) call, as a person opens the page and then waits
                drawn.append(_poller(client.get(path).get_data(as_text=True)))
            poller = drawn[0]
            if poller.method == "post":
                answer = client.post(poller.url, data=poller.values, headers=quiet)
            else:
                answer = client.get(poller.url, query_string=poller.values, headers=quiet)
            assert answer.status_code == 204, (poller.url, answer.status_code)

        return call

    return {
        "inbox page": _ok(client, "/inbox"),
        "inbox page, urgent": _ok(client, "/inbox?filter=urgent"),
        "inbox page, unread": _ok(client, "/inbox?filter=unread"),
        "thread page": _ok(client, f"/inbox/{thread_id}"),
        "poll, nothing new (inbox)": poll("/inbox"),
        "poll, nothing new (thread)": poll(f"/inbox/{thread_id}"),
    }


def _backends(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    yield "sqlite", f"sqlite:///{tmp_path}/small.db", f"sqlite:///{tmp_path}/big.db"
    url = os.environ.get("MATTERLINE_TEST_DATABASE_URL")
    if url:
        yield "postgresql", url, url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_pages_and_the_poll_with_a_million_messages(tmp_path: Path, backend: str) -> None:
    urls = {name: (small, big) for name, small, big in _backends(tmp_path)}
    if backend not in urls:
        pytest.skip("MATTERLINE_TEST_DATABASE_URL is not set")
    small_url, big_url = urls[backend]
    results: dict[str, dict[str, tuple[float, float]]] = {}
    for label, url, threads in (("baseline", small_url, 50), ("large", big_url, THREADS)):
        engine = _store(url)
        started = time.perf_counter()
        _seed(engine, threads, PER_THREAD)
        print(
            f"\n[{backend}] {label}: {threads * PER_THREAD:,} messages in {threads:,} threads "
            f"(loaded in {time.perf_counter() - started:.0f}s)"
        )
        results[label] = {name: _timed(fn) for name, fn in _pages(engine, threads // 2).items()}
        if label == "large":
            _cpu_share(engine, url, backend)
        engine.dispose()
    for name, (median, p95) in results["large"].items():
        base = results["baseline"][name][0]
        target = 5 if name.startswith("poll") else 50
        print(
            f"[{backend}]   {name:<28} median {median:6.2f} ms  p95 {p95:6.2f} ms (target {target} ms)  "
            f"baseline {base:5.2f} ms, ratio {median / base:5.2f}"
        )


# -- 200 staff polling --------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _server(url: str) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {**os.environ, "BENCH_SECRET_KEY": SECRET, "BENCH_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("serve_app.py")), "matterline", str(port), url],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(10)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_share(engine: Engine, url: str, backend: str) -> None:
    people = [
        add_user(engine, name=f"Staff {n}", email=f"staff{n}@firm.example", role="staff")[0] for n in range(STAFF)
    ]
    tokens = [_session(engine, person.id) for person in people]
    with _server(url) as (base, pid):
        for scenario, new_text_every in (("nothing new", None), ("a new text every 5 s", 5.0)):
            share, polls, changed = _load(base, pid, tokens, engine, new_text_every)
            print(
                f"[{backend}]   {STAFF} staff polling every {POLL_EVERY:.0f} s, {scenario}: "
                f"{share * 100:5.1f}% of one core ({polls} polls in {LOAD_SECONDS:.0f} s, {changed} with news)"
            )


def _load(
    base: str, pid: int, tokens: list[str], engine: Engine, new_text_every: float | None
) -> tuple[float, int, int]:
    """Each session opens the inbox once; then all poll it on their own 5-second clocks, staggered over
    the period, for LOAD_SECONDS, while the server process's CPU is read."""
    counts = {"polls": 0, "changed": 0, "failed": 0}
    lock = threading.Lock()
    ready = threading.Barrier(len(tokens) + 1)
    opening = threading.Semaphore(4)
    stop = threading.Event()

    def staff(index: int, token: str) -> None:
        http = requests.Session()
        http.cookies.set(COOKIE, token)
        try:
            with opening:  # people open the inbox over a few seconds, not all 200 in the same instant
                html = http.get(base + "/inbox", timeout=60).text
            poller = _poller(html)
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', html)
            assert csrf is not None
        except Exception:
            with lock:
                counts["failed"] += 1
            raise
        finally:
            ready.wait()
        headers = {"X-Matterline-Poll": "1", "HX-Request": "true", "X-CSRFToken": csrf.group(1)}
        if stop.wait(POLL_EVERY * index / len(tokens)):
            return
        while not stop.is_set():
            if poller.method == "post":
                answer = http.post(base + poller.url, data=poller.values, headers=headers, timeout=30)
            else:
                answer = http.get(base + poller.url, params=poller.values, headers=headers, timeout=30)
            with lock:
                counts["polls"] += 1
                counts["changed"] += answer.status_code == 200
                counts["failed"] += answer.status_code not in (200, 204)
            if answer.status_code == 200:
                poller = _poller(answer.text)
            stop.wait(POLL_EVERY)

    workers = [threading.Thread(target=staff, args=(i, t)) for i, t in enumerate(tokens)]
    for worker in workers:
        worker.start()
    ready.wait()  # every session has opened its page
    cpu_before, wall_before = _cpu_seconds(pid), time.monotonic()
    sent = 0
    while time.monotonic() - wall_before < LOAD_SECONDS:
        if new_text_every is not None:
            text_in(engine, stranger(sent % 50), f"bench text {sent}")
            sent += 1
            time.sleep(new_text_every)
        else:
            time.sleep(0.5)
    share = (_cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
    stop.set()
    for worker in workers:
        worker.join()
    assert counts["failed"] == 0, f"{counts['failed']} requests failed"
    return share, counts["polls"], counts["changed"]
