"""Run the Twilio stand-in on a real socket, so the `twilio` library exercises real HTTP.

`TwilioServer` serves a `TwilioState` from a background thread on 127.0.0.1 with an ephemeral port;
its `origin` is what `client.api.base_url` is set to. `python -m connector.sandbox twilio` runs it as
a standalone process (see `main`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Self

from twilio.rest import Client

from connector.sandbox.server import DEFAULT_HOST, WsgiServerThread
from connector.sandbox.twilio.app import create_twilio_app
from connector.sandbox.twilio.constants import (
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    SANDBOX_FIRM_NUMBER,
    SANDBOX_MESSAGING_SERVICE_SID,
    SANDBOX_POOL_NUMBERS,
)
from connector.sandbox.twilio.state import TwilioState

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m connector.sandbox twilio", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST, help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--account-sid", default=SANDBOX_ACCOUNT_SID, help="the account SID (AC + 32 hex)")
    parser.add_argument("--auth-token", default=SANDBOX_AUTH_TOKEN, help="the auth token")
    parser.add_argument(
        "--number",
        action="append",
        dest="numbers",
        help=f"a firm number, E.164; repeatable (default {SANDBOX_FIRM_NUMBER})",
    )
    parser.add_argument(
        "--messaging-service",
        action="store_true",
        help=f"add Messaging Service {SANDBOX_MESSAGING_SERVICE_SID} with pool {', '.join(SANDBOX_POOL_NUMBERS)}",
    )
    parser.add_argument("--lenient-numbers", action="store_true", help="accept any E.164 'To' (e.g. +1555 numbers)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Build the account, bind, announce the origin (the `api.base_url`), serve until killed."""
    options = _parser().parse_args(argv)
    state = TwilioState(
        account_sid=options.account_sid,
        auth_token=options.auth_token,
        incoming_numbers=options.numbers or (SANDBOX_FIRM_NUMBER,),
        messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID if options.messaging_service else None,
        messaging_service_numbers=SANDBOX_POOL_NUMBERS if options.messaging_service else (),
    )
    state.strict_numbers = not options.lenient_numbers
    server = TwilioServer(state, host=options.host, port=options.port).bind()
    sys.stdout.write(f"{server.origin}\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
