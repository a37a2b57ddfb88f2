"""Serve an app in its own process for the webhook benchmark: `bare` or `matterline` on waitress, or
`bare-gunicorn`: the bare app in WORKERS gunicorn processes with `matterline serve --workers`'s options.

Usage: python serve_app.py (bare|matterline|bare-gunicorn) PORT [DATABASE_URL]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flask import Flask, Response
from twilio.twiml.messaging_response import MessagingResponse
from waitress import serve

THREADS = int(__import__("os").environ.get("BENCH_THREADS", "8"))
WORKERS = int(__import__("os").environ.get("BENCH_WORKERS", "2"))


def bare_app() -> Flask:
    """The floor: a Flask app that only answers empty TwiML."""
    app = Flask("bare")

    @app.post("/webhooks/twilio/sms")
    def sms() -> Response:
        return Response(str(MessagingResponse()), mimetype="text/xml")

    return app


def matterline_app(database_url: str) -> Flask:
    """The real app on a seeded store."""
    from sqlalchemy import event

    from connector.store import make_engine
    from tests.support.firm import settings
    from webhooks import create_app

    engine = make_engine(database_url)
    relaxed = os.environ.get("BENCH_SQLITE_SYNCHRONOUS")
    if relaxed and engine.dialect.name == "sqlite":
        # Only to price the durability setting: the product always runs SQLite with synchronous=FULL.
        def _relax(dbapi_connection: object, _record: object) -> None:
            dbapi_connection.execute(f"PRAGMA synchronous={relaxed}")  # type: ignore[attr-defined]

        event.listen(engine, "connect", _relax)
    pages = {}
    if os.environ.get("BENCH_SECRET_KEY"):
        # The pages benchmark signs in over plain http: its public URL must say so, or the session and CSRF
        # cookies are Secure and a client on http never sends them back.
        pages = {
            "MATTERLINE_SECRET_KEY": os.environ["BENCH_SECRET_KEY"],
            "MATTERLINE_PUBLIC_URL": os.environ["BENCH_PUBLIC_URL"],
        }
    return create_app(settings(MATTERLINE_DATABASE_URL=database_url, **pages), engine)


def main() -> None:
    if os.environ.get("BENCH_SWITCH"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH"]))
    kind, port = sys.argv[1], int(sys.argv[2])
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, for tests.support
    if kind == "bare-gunicorn":
        serve_bare_on_gunicorn(port)
        return
    app = bare_app() if kind == "bare" else matterline_app(sys.argv[3])
    print("ready", flush=True)
    # Both apps on the server limits `matterline serve` runs with (waitress's own defaults stop accepting at
    # 100 sockets: 200 staff with a kept-alive connection each would lock the 101st out).
    from tests.support.firm import settings
    from webhooks.server import waitress_options

    options = waitress_options(settings(), threads=THREADS)
    serve(app, host="127.0.0.1", port=port, _quiet=True, **options)


def serve_bare_on_gunicorn(port: int) -> None:
    """The floor for several processes: the bare app built in each gunicorn worker, as `serve` builds its own."""
    from tests.support.firm import settings
    from webhooks.processes import WebProcesses, gunicorn_options

    options = gunicorn_options(settings(MATTERLINE_SERVER_THREADS=str(THREADS)), "127.0.0.1", port, WORKERS)
    print("ready", flush=True)
    WebProcesses(options, bare_app).run()


if __name__ == "__main__":
    main()
