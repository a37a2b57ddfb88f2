"""`python -m connector.sandbox`: either stand-in as a standalone process (for benchmarks and the demo).

`python -m connector.sandbox [clio] [options]` runs the sandbox CMS and prints its API base URL;
`python -m connector.sandbox twilio [options]` runs the Twilio stand-in and prints its origin (what
`client.api.base_url` is set to). Either prints that one line, flushes, then serves until killed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Final

from connector.sandbox.clio.state import ClioState
from connector.sandbox.firm import generate_firm
from connector.sandbox.server import DEFAULT_HOST, SandboxServer, TwilioServer, WsgiServerThread
from connector.sandbox.twilio.constants import (
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    SANDBOX_FIRM_NUMBER,
    SANDBOX_MESSAGING_SERVICE_SID,
    SANDBOX_POOL_NUMBERS,
)
from connector.sandbox.twilio.state import TwilioState

DEFAULT_STAND_IN: Final = "clio"  # the bare `python -m connector.sandbox --contacts N` runs the CMS
HELP_FLAGS: Final = ("-h", "--help")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m connector.sandbox", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    listen = argparse.ArgumentParser(add_help=False)
    listen.add_argument("--host", default=DEFAULT_HOST, help="bind address (default 127.0.0.1)")
    listen.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    stand_ins = parser.add_subparsers(dest="stand_in", required=True)

    clio = stand_ins.add_parser(
        "clio", parents=[listen], help="the sandbox CMS (Clio Manage v4); the default", description="The sandbox CMS."
    )
    clio.add_argument("--contacts", type=int, default=500, help="contacts to generate (default 500)")
    clio.add_argument("--matters", type=int, default=250, help="matters to generate (default 250)")
    clio.add_argument("--users", type=int, default=12, help="firm users (default 12)")
    clio.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    clio.add_argument(
        "--calendar", type=int, default=None, help="calendar entries on open matters (default: some matters have one)"
    )
    clio.add_argument("--rate-limit", type=int, default=None, help="requests per window per token")
    clio.add_argument("--rate-window", type=float, default=60.0, help="rate-limit window in seconds")
    clio.add_argument("--allow-http-webhooks", action="store_true", help="accept http:// webhook URLs")

    twilio = stand_ins.add_parser(
        "twilio",
        parents=[listen],
        help="the Twilio stand-in (Api v2010 Messages)",
        description="The Twilio stand-in.",
    )
    twilio.add_argument("--account-sid", default=SANDBOX_ACCOUNT_SID, help="the account SID (AC + 32 hex)")
    twilio.add_argument("--auth-token", default=SANDBOX_AUTH_TOKEN, help="the auth token")
    twilio.add_argument(
        "--number",
        action="append",
        dest="numbers",
        help=f"a firm number, E.164; repeatable (default {SANDBOX_FIRM_NUMBER})",
    )
    twilio.add_argument(
        "--messaging-service",
        action="store_true",
        help=f"add Messaging Service {SANDBOX_MESSAGING_SERVICE_SID} with pool {', '.join(SANDBOX_POOL_NUMBERS)}",
    )
    twilio.add_argument("--lenient-numbers", action="store_true", help="accept any E.164 'To' (e.g. +1555 numbers)")
    return parser


def _clio(options: argparse.Namespace) -> tuple[WsgiServerThread, str]:
    """The sandbox CMS over a generated firm, bound; announced by its API base URL."""
    state = ClioState(generate_firm(options.contacts, options.matters, options.seed, options.users, options.calendar))
    state.allow_http_webhooks = options.allow_http_webhooks
    if options.rate_limit is not None:
        state.set_rate_limit(options.rate_limit, options.rate_window)
    server = SandboxServer(state, host=options.host, port=options.port).bind()
    return server, server.base_url


def _twilio(options: argparse.Namespace) -> tuple[WsgiServerThread, str]:
    """The Twilio stand-in over a sandbox account, bound; announced by its origin (the `api.base_url`)."""
    state = TwilioState(
        account_sid=options.account_sid,
        auth_token=options.auth_token,
        incoming_numbers=options.numbers or (SANDBOX_FIRM_NUMBER,),
        messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID if options.messaging_service else None,
        messaging_service_numbers=SANDBOX_POOL_NUMBERS if options.messaging_service else (),
    )
    state.strict_numbers = not options.lenient_numbers
    server = TwilioServer(state, host=options.host, port=options.port).bind()
    return server, server.origin


STAND_INS: Final[dict[str, Callable[[argparse.Namespace], tuple[WsgiServerThread, str]]]] = {
    "clio": _clio,
    "twilio": _twilio,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Build the chosen stand-in, bind, announce where it listens, serve until killed."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in STAND_INS and args[0] not in HELP_FLAGS):
        args.insert(0, DEFAULT_STAND_IN)
    options = _parser().parse_args(args)
    server, announcement = STAND_INS[options.stand_in](options)
    sys.stdout.write(f"{announcement}\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
