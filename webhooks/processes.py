"""Several web processes: the app under gunicorn on Linux, for `matterline serve --workers N` (N > 1).

One waitress process is what `matterline serve` runs by default (`webhooks.server`); it is bound by one
interpreter's lock. gunicorn forks N workers that share the listening socket and answer on
`server_threads` threads each (the gthread worker), within the same limits as waitress where gunicorn has
them. Each worker builds its own app, and so its own engine, after the fork: a connection pool must never
be shared by two processes, so nothing from the master's store reaches a worker.

Prometheus counters from several processes are only right when every process writes them to
PROMETHEUS_MULTIPROC_DIR, which prometheus_client reads when it is first imported: `ensure_metrics_dir`
re-executes the command with a fresh temporary directory set when the admin set none.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from flask import Flask
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]  # gunicorn ships no type hints

from connector import const
from connector.settings import Settings

__all__ = [
    "METRICS_DIR_VARIABLE",
    "WebProcesses",
    "cannot_fork",
    "ensure_metrics_dir",
    "gunicorn_options",
    "remove_own_metrics_dir",
    "serve",
]

LOGGER: Final = logging.getLogger("matterline.webhooks.processes")

# prometheus_client's own variable: where each process keeps its counters for /metrics to add up.
METRICS_DIR_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"
# Left in a metrics directory `serve` made itself, so it removes that one (and never an admin's) at exit.
_OWN_DIR_MARKER: Final = ".made-by-matterline-serve"
# gunicorn clamps the request line to this; waitress's 64 KiB header limit still applies to each field.
_GUNICORN_MAX_REQUEST_LINE: Final = 8190


def cannot_fork() -> str | None:
    """Why this system cannot run several web processes, or None when it can (gunicorn forks on Linux)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return f"several web processes need Linux (gunicorn forks them); this is {sys.platform}: use --workers 1"
    return None


def gunicorn_options(settings: Settings, host: str, port: int, workers: int) -> dict[str, Any]:
    """gunicorn's settings for `workers` processes: waitress's limits where gunicorn has them.

    The body limit has no gunicorn counterpart: the app refuses a body over MAX_CONTENT_LENGTH with 413,
    unread, from its Content-Length (and the Twilio endpoint checks it before reading). No access log: the
    app logs each request itself. No control socket: its default path is one per user, so two servers on a
    machine (or a test beside a running one) would take each other's.
    """
    return {
        "bind": [f"{host}:{port}"],
        "workers": workers,
        "worker_class": "gthread",
        "threads": settings.server_threads,
        "worker_connections": settings.server_connection_limit,
        "keepalive": settings.server_idle_seconds,
        "limit_request_line": min(const.MAX_HEADER_BYTES, _GUNICORN_MAX_REQUEST_LINE),
        "limit_request_field_size": const.MAX_HEADER_BYTES,
        "graceful_timeout": const.SERVER_GRACEFUL_SECONDS,
        "preload_app": False,
        "accesslog": None,
        "loglevel": settings.log_level.lower(),
        "proc_name": "matterline",
        "control_socket_disable": True,
        "child_exit": _child_exit,
    }


def _child_exit(_arbiter: object, worker: Any) -> None:
    """A worker ended (stopped, crashed or killed): its live gauges must stop counting in /metrics."""
    if os.environ.get(METRICS_DIR_VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


class WebProcesses(BaseApplication):  # type: ignore[misc]  # its base is untyped
    """A WSGI app under gunicorn with `options`; `load` builds the app in each worker, after the fork."""

    def __init__(self, options: dict[str, Any], load: Callable[[], Flask]) -> None:
        self._options = options
        self._load = load
        super().__init__()

    def load_config(self) -> None:
        """Hand gunicorn the options (no command line, no config file: `serve`'s options are the config)."""
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """Called in each worker after the fork (preload_app is off), so each opens its own engine."""
        return self._load()


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve the app on `host:port` in `workers` processes until SIGTERM (what `serve --workers N` runs).

    gunicorn restarts a worker that dies; SIGTERM stops accepting, lets each worker finish its requests
    (up to const.SERVER_GRACEFUL_SECONDS) and exits 0.
    """

    def load() -> Flask:
        from webhooks.app import create_app  # in the worker: its engine is made after the fork

        return create_app(settings)

    LOGGER.info("serve.listening host=%s port=%s workers=%s threads=%s", host, port, workers, settings.server_threads)
    WebProcesses(gunicorn_options(settings, host, port, workers), load).run()


def ensure_metrics_dir(argv: Sequence[str]) -> None:
    """Make sure prometheus_client writes per-process files: set a fresh directory and re-execute if unset.

    prometheus_client reads PROMETHEUS_MULTIPROC_DIR at import, so setting it now is too late for this
    process: the same command starts again (same pid, same arguments) with it set. Returns only when it
    was already set; a directory made here is removed when the command exits, however it ends (a refusal
    after the re-exec, SIGTERM), but for SIGKILL.
    """
    if os.environ.get(METRICS_DIR_VARIABLE):
        if (Path(os.environ[METRICS_DIR_VARIABLE]) / _OWN_DIR_MARKER).exists():  # made before the re-exec
            atexit.register(remove_own_metrics_dir, os.getpid())
        return
    made = Path(tempfile.mkdtemp(prefix="matterline-metrics-"))
    (made / _OWN_DIR_MARKER).touch()
    os.environ[METRICS_DIR_VARIABLE] = str(made)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "connector.cli", *argv])  # noqa: S606  # this same command, no shell


def remove_own_metrics_dir(owner: int) -> None:
    """At exit: remove the metrics directory `ensure_metrics_dir` made (never one the admin set).

    Only in the process that registered it: gunicorn's workers were forked from it and run its exit
    handlers too, while the master still serves.
    """
    directory = os.environ.get(METRICS_DIR_VARIABLE)
    if os.getpid() == owner and directory and (Path(directory) / _OWN_DIR_MARKER).exists():
        shutil.rmtree(directory, ignore_errors=True)
