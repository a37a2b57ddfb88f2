"""`python -m connector.sandbox`: the sandbox CMS as a standalone process (for benchmarks and the demo).

Prints its API base URL on one line, flushes, then serves until killed. `python -m connector.sandbox
twilio [options]` runs the Twilio stand-in instead and prints its origin (see `twilio_server.main`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from connector.sandbox.clio.state import ClioState
from connector.sandbox.firm import generate_firm
from connector.sandbox.server import DEFAULT_HOST, SandboxServer
from connector.sandbox.twilio_server import main as twilio_main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m connector.sandbox", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=500, help="contacts to generate (default 500)")
    parser.add_argument("--matters", type=int, default=250, help="matters to generate (default 250)")
    parser.add_argument("--users", type=int, default=12, help="firm users (default 12)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument("--host", default=DEFAULT_HOST, help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--rate-limit", type=int, default=None, help="requests per window per token")
    parser.add_argument("--rate-window", type=float, default=60.0, help="rate-limit window in seconds")
    parser.add_argument("--allow-http-webhooks", action="store_true", help="accept http:// webhook URLs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Build the firm, bind, announce the base URL, serve (or hand over to the Twilio stand-in)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["twilio"]:
        return twilio_main(args[1:])
    options = _parser().parse_args(args)
    state = ClioState(generate_firm(options.contacts, options.matters, options.seed, options.users))
    state.allow_http_webhooks = options.allow_http_webhooks
    if options.rate_limit is not None:
        state.set_rate_limit(options.rate_limit, options.rate_window)
    server = SandboxServer(state, host=options.host, port=options.port).bind()
    sys.stdout.write(f"{server.base_url}\n")
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
