"""Run a sandbox stand-in on a real socket, so clients exercise real HTTP (timeouts, dropped connections).

`WsgiServerThread` owns the werkzeug server lifecycle (bind on 127.0.0.1 with an ephemeral port, serve
from a daemon thread, stop); each stand-in subclasses it with its own state and app. `SandboxServer`
serves a `ClioState`, `TwilioServer` a `TwilioState`; use either as a context manager in tests and the demo.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Final, Self

from twilio.rest import Client
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from connector.sandbox.clio.app import create_sandbox_app
from connector.sandbox.clio.constants import API_PREFIX
from connector.sandbox.clio.state import ClioState
from connector.sandbox.twilio.app import create_twilio_app
from connector.sandbox.twilio.state import TwilioState

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

DEFAULT_HOST: Final = "127.0.0.1"
SHUTDOWN_POLL_SECONDS: Final = 0.05


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, minus a log line per request (a benchmark makes thousands) and stray reads."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip per-request access logging."""

    def connection_dropped(self, error: BaseException, environ: WSGIEnvironment | None = None) -> None:
        """After a dropped connection, read nothing more: an unread request body is not a new request."""
        self.close_connection = True


class WsgiServerThread(ABC):
    """A threaded werkzeug server for one stand-in's WSGI app, started on `start()` or `with`."""

    thread_prefix: ClassVar[str] = "sandbox"

    def __init__(self, *, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def make_app(self) -> WSGIApplication:
        """The WSGI app to serve (built once, when the socket is bound)."""

    @property
    def port(self) -> int:
        """The bound port (only known once started)."""
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return int(self._server.server_port)

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://{self._host}:{self.port}"

    def bind(self) -> Self:
        """Bind the socket without serving yet, so the port is known before serving starts."""
        if self._server is None:
            self._server = make_server(
                self._host, self._port, self.make_app(), threaded=True, request_handler=QuietRequestHandler
            )
        return self

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns self."""
        if self._thread is not None:
            return self
        self.bind()
        assert self._server is not None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name=f"{self.thread_prefix}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until interrupted (the standalone `python -m` mode)."""
        self.bind()
        assert self._server is not None
        self._server.serve_forever(poll_interval=SHUTDOWN_POLL_SECONDS)

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        if thread is not None:
            server.shutdown()
            thread.join(timeout=5)
        server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class SandboxServer(WsgiServerThread):
    """The sandbox CMS (a `ClioState`) on a real socket; `/oauth/token` and `/_sandbox/` live at `origin`."""

    thread_prefix: ClassVar[str] = "sandbox-cms"

    def __init__(self, state: ClioState | None = None, *, host: str = DEFAULT_HOST, port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.state = state if state is not None else ClioState()

    def make_app(self) -> WSGIApplication:
        """The Clio v4 stand-in over this server's state."""
        return create_sandbox_app(self.state)

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT/api/v4`: the Clio API base."""
        return f"{self.origin}{API_PREFIX}"

    def url(self, path: str) -> str:
        """A full API URL for a path such as `/contacts.json`."""
        return f"{self.base_url}/{path.lstrip('/')}"


class TwilioServer(WsgiServerThread):
    """The Twilio stand-in on a real socket; binding tells the state its origin (for `MediaUrl{N}`)."""

    thread_prefix: ClassVar[str] = "sandbox-twilio"

    def __init__(self, state: TwilioState | None = None, *, host: str = DEFAULT_HOST, port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.state = state if state is not None else TwilioState()

    def make_app(self) -> WSGIApplication:
        """The Api v2010 stand-in over this server's state."""
        return create_twilio_app(self.state)

    def bind(self) -> Self:
        """Bind, then point the state's media URLs at this server."""
        super().bind()
        self.state.api_origin = self.origin
        return self

    def url(self, path: str = "") -> str:
        """A full account URL, e.g. `url("/Messages.json")`."""
        return f"{self.origin}{self.state.account_path(path)}"

    def client(self) -> Client:
        """A real `twilio.rest.Client` for this account, with its Api domain pointed at this server."""
        client = Client(self.state.account_sid, self.state.auth_token)
        client.api.base_url = self.origin
        return client
