"""Serving the app with waitress, the production WSGI server, in the foreground or in a test thread.

Both run waitress with the same limits (`waitress_options`), so what the tests hold the server to is
what `matterline serve` runs: no one without credentials can tie it up with a huge body, a pile of idle
sockets or endless headers.
"""

from __future__ import annotations

import logging
import socket
import threading
from types import TracebackType
from typing import Any, Final

from flask import Flask
from waitress import serve as waitress_serve
from waitress import wasyncore
from waitress.server import create_server
from waitress.task import ThreadedTaskDispatcher

from connector import const
from connector.settings import Settings
from webhooks.state import app_state

__all__ = ["ServerThread", "serve", "waitress_options"]

LOGGER: Final = logging.getLogger("matterline.webhooks.server")

# How long the background loop waits on its sockets before checking whether it should stop.
_POLL_SECONDS: Final = 0.05
_JOIN_SECONDS: Final = 10.0


def waitress_options(settings: Settings, threads: int | None = None) -> dict[str, Any]:
    """Waitress's limits from the settings; its defaults read a 1 GiB body and stop accepting at 100 sockets.

    A body over the limit is refused with 413 from its Content-Length (or as soon as a chunked one
    passes it) before it is read; idle connections are closed after `server_idle_seconds`; poll()
    instead of select(), which fails past 1024 open sockets.
    """
    return {
        "threads": threads or settings.server_threads,
        "max_request_body_size": settings.server_max_body_bytes,
        "max_request_header_size": const.MAX_HEADER_BYTES,
        "connection_limit": settings.server_connection_limit,
        "channel_timeout": settings.server_idle_seconds,
        "cleanup_interval": const.SERVER_CLEANUP_SECONDS,
        "asyncore_use_poll": True,
        "ident": "Matterline",
    }


def serve(app: Flask, host: str, port: int) -> None:
    """Serve `app` on `host:port` until the process is stopped (what `matterline serve` runs).

    Waitress answers each request on one of its worker threads, so a slow request never holds up a
    Twilio or CMS webhook behind it. The Flask development server is never used.
    """
    options = waitress_options(app_state(app).settings)
    LOGGER.info(
        "serve.listening host=%s port=%s threads=%s connection_limit=%s",
        host,
        port,
        options["threads"],
        options["connection_limit"],
    )
    waitress_serve(app, host=host, port=port, **options)


class ServerThread:
    """`app` served by waitress on 127.0.0.1 and a free port, in a background thread, with `serve`'s limits.

    For tests and the demo, where a real HTTP client (or the sandbox CMS posting webhooks) must reach
    the app::

        with ServerThread(app) as server:
            requests.get(f"{server.url}/healthz", timeout=5)

    Leaving the block stops accepting, closes every connection and waits for the worker threads.
    """

    def __init__(self, app: Flask, threads: int | None = None) -> None:
        self._app = app
        self._threads = threads
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # waitress's socket map (fd → dispatcher); its stubs call the values sockets, hence Any.
        self._map: dict[int, Any] = {}
        self._port: int | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:54321`.

        Raises:
            RuntimeError: the server has not been started.
        """
        if self._port is None:
            raise RuntimeError("the server is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> None:
        """Bind a free port and start serving in a daemon thread.

        Raises:
            RuntimeError: the server is already running.
        """
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = int(sock.getsockname()[1])
        options = waitress_options(app_state(self._app).settings, self._threads)
        server = create_server(self._app, map=self._map, sockets=[sock], **options)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop,
            args=(server.task_dispatcher, bool(options["asyncore_use_poll"])),
            name=f"waitress:{self._port}",
            daemon=True,
        )
        self._thread.start()

    def _loop(self, dispatcher: ThreadedTaskDispatcher, use_poll: bool) -> None:
        # The socket loop runs here, and so does every close: waitress's sockets are not thread-safe.
        try:
            while not self._stop.is_set() and self._map:
                wasyncore.loop(timeout=_POLL_SECONDS, use_poll=use_poll, map=self._map, count=1)
        finally:
            wasyncore.close_all(self._map, ignore_all=True)
            dispatcher.shutdown()

    def stop(self) -> None:
        """Stop serving and wait for the thread; calling it twice is harmless.

        Raises:
            RuntimeError: the thread did not stop in time.
        """
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        thread.join(_JOIN_SECONDS)
        if thread.is_alive():
            raise RuntimeError("the waitress thread did not stop")
        self._thread = None
        self._port = None

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
