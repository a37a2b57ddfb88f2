"""Inbound reliability benchmark (`make bench`): no text lost under bursts, with odd payloads mixed in.

10,101 signed texts, 10,000 ordinary and 101 odd (BENCH_INBOUND_TEXTS for a quick run), posted over real
HTTP to the app on waitress in its own process, in bursts of 32 concurrent requests. The odd ones: a NUL
in the body, a huge NumSegments, an over-long From, a NumMedia that does not match its media, bytes that
are not UTF-8, a 2,000-character body, emoji, an empty body, a duplicate MessageSid... On PostgreSQL when
MATTERLINE_TEST_DATABASE_URL is set, SQLite otherwise. Prints: ordinary texts stored exactly once (the
goal is all of them), what became of each kind of odd text, the number of 5xx answers (the goal is
none), wall time and rate. No timed assert.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import func, select, text
from twilio.request_validator import RequestValidator

from connector.store import make_engine, upgrade
from connector.store.tables import messages
from tests.bench.test_webhook_bench import served, twilio_params
from tests.support.firm import PUBLIC_URL, TWILIO_TOKEN, seed

pytestmark = pytest.mark.bench

PATH = "/webhooks/twilio/sms"
TEXTS = int(os.environ.get("BENCH_INBOUND_TEXTS", "10101"))  # every 100th is odd: 10,000 ordinary
BURST = 32
ODD_EVERY = 100  # 1%


@dataclass(frozen=True, slots=True)
class Post:
    """One request: its kind ("ordinary" or the odd case), its SID, the bytes sent and their signature."""

    kind: str
    sid: str
    body: bytes
    signature: str


def _base(n: int) -> dict[str, str]:
    return twilio_params(n)


def _sign(params: dict[str, str]) -> str:
    return str(RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC_URL}{PATH}", params))


def _form(kind: str, params: dict[str, str]) -> Post:
    return Post(kind, params["MessageSid"], urlencode(params).encode(), _sign(params))


def _non_utf8(params: dict[str, str]) -> Post:
    """A Latin-1 é on the wire; the signature covers what the server reads (U+FFFD), as in the tests."""
    fields = {k: v for k, v in params.items() if k != "Body"}
    body = urlencode(fields).encode() + b"&Body=caf%E9"
    return Post("non_utf8_bytes", params["MessageSid"], body, _sign({**fields, "Body": "caf\ufffd"}))


# Each odd case: how it changes an ordinary text. The duplicate reuses the SID of the text just before it.
ODD: dict[str, Callable[[dict[str, str]], Post]] = {
    "nul_in_body": lambda p: _form("nul_in_body", {**p, "Body": "before\x00after"}),
    "huge_num_segments": lambda p: _form("huge_num_segments", {**p, "NumSegments": "99999999999999999999"}),
    "non_numeric_num_segments": lambda p: _form("non_numeric_num_segments", {**p, "NumSegments": "two"}),
    "over_long_from": lambda p: _form("over_long_from", {**p, "From": "+1" + "4" * 60}),
    "num_media_mismatch": lambda p: _form("num_media_mismatch", {**p, "NumMedia": "3"}),
    "num_media_over_10": lambda p: _form("num_media_over_10", {**p, "NumMedia": "11"}),
    "non_utf8_bytes": _non_utf8,
    "body_2000_chars": lambda p: _form("body_2000_chars", {**p, "Body": "word " * 400}),
    "emoji": lambda p: _form("emoji", {**p, "Body": "👍🏽 see you at 3 🙏 " * 20}),
    "empty_body": lambda p: _form("empty_body", {**p, "Body": ""}),
    "over_long_service_sid": lambda p: _form("over_long_service_sid", {**p, "MessagingServiceSid": "MG" + "c" * 80}),
}


def load(count: int) -> list[Post]:
    """`count` signed requests; every ODD_EVERY-th is odd (the kinds in turn), and each odd tenth a duplicate."""
    made: list[Post] = []
    kinds = list(ODD)
    odd_seen = 0
    for n in range(count):
        params = _base(n)
        if n % ODD_EVERY == ODD_EVERY - 1:
            if odd_seen % (len(kinds) + 1) == len(kinds) and made:
                previous = made[-1]
                made.append(Post("duplicate_sid", previous.sid, previous.body, previous.signature))
            else:
                made.append(ODD[kinds[odd_seen % (len(kinds) + 1)]](params))
            odd_seen += 1
        else:
            made.append(_form("ordinary", params))
    return made


@contextmanager
def database(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(backend, URL) of a fresh, migrated, seeded store; PostgreSQL gets a schema of its own."""
    base = os.environ.get("MATTERLINE_TEST_DATABASE_URL")
    if not base:
        url = f"sqlite:///{tmp_path}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        seed(engine)
        engine.dispose()
        yield "sqlite", url
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"
    try:
        engine = make_engine(url)
        upgrade(engine)
        seed(engine)
        engine.dispose()
        yield "postgresql", url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def fire(port: int, posts: list[Post]) -> list[tuple[int, str]]:
    """Post in bursts of BURST concurrent requests (each waits for the burst before it): (status, body)."""
    local = threading.local()

    def one(item: Post) -> tuple[int, str]:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": item.signature}
        try:
            conn.request("POST", PATH, body=item.body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            local.conn = None
            return 599, type(exc).__name__

    answers: list[tuple[int, str]] = []
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        for start in range(0, len(posts), BURST):
            answers.extend(pool.map(one, posts[start : start + BURST]))
    return answers


def _reason(status: int, body: str) -> str:
    if status == 200:
        return "200"
    try:
        return f"{status} {json.loads(body)['error']['code']}"
    except (ValueError, KeyError, TypeError):
        return str(status)


def test_no_inbound_text_is_lost_in_bursts_with_odd_payloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    posts = load(TEXTS)
    monkeypatch.setenv("BENCH_THREADS", str(BURST))  # the served process reads it: one thread per request
    with database(tmp_path) as (backend, url), served("matterline", url) as port:
        started = time.perf_counter()
        answers = fire(port, posts)
        elapsed = time.perf_counter() - started
        engine = make_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(
                select(messages.c.sid, func.count()).where(messages.c.direction == "inbound").group_by(messages.c.sid)
            ).all()
        engine.dispose()
    stored: dict[str, int] = dict(rows)  # type: ignore[arg-type]
    ordinary = [p for p in posts if p.kind == "ordinary"]
    once = sum(1 for p in ordinary if stored.get(p.sid) == 1)
    fivexx = sum(1 for status, _ in answers if status >= 500)
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    for item, (status, body) in zip(posts, answers, strict=True):
        if item.kind != "ordinary":
            outcomes[item.kind][f"{_reason(status, body)}, {'stored' if stored.get(item.sid) else 'not stored'}"] += 1
    print()
    rate = len(posts) / elapsed
    print(f"[{backend}] {len(posts):,} signed texts in bursts of {BURST}: {elapsed:.1f} s, {rate:,.0f} texts/s")
    print(f"[{backend}] ordinary texts stored exactly once: {once:,} of {len(ordinary):,} (goal: all)")
    print(f"[{backend}] 5xx answers: {fivexx} (goal 0)")
    for kind, seen in sorted(outcomes.items()):
        print(f"[{backend}]   odd {kind}: " + "; ".join(f"{n}x {outcome}" for outcome, n in sorted(seen.items())))
    assert len(answers) == len(posts)
