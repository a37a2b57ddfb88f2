"""`serve` (the web app on waitress) and `demo` (the whole loop on the embedded defaults)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from connector.cli.context import Context, handled, pass_ctx


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@pass_ctx
@handled
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the webhooks and API with the production WSGI server (waitress)."""
    from webhooks import create_app  # the web app loads only for the commands that serve it
    from webhooks.server import serve as run

    ctx.settings.require("secret_key", why="by `serve`: it signs sessions and seals stored tokens")
    ctx.require_current_store()
    ctx.note_mapping()
    click.echo(f"serving on http://{host}:{port} (health: /healthz, readiness: /readyz)")
    run(create_app(ctx.settings, ctx.engine), host, port)


@click.command()
@click.option("--once", is_flag=True, help="Run the scripted part and exit instead of serving.")
@click.option("--dir", "workdir", default=".matterline-demo", show_default=True, help="Where the demo store goes.")
@handled
def demo(once: bool, workdir: str) -> None:
    """The demo on the embedded defaults: sandbox CMS, sync into SQLite, the app, CMS webhooks."""
    from connector.demo import run_demo  # the sandbox loads only for the demo

    sys.exit(run_demo(once=once, workdir=Path(workdir), echo=click.echo))


COMMANDS = (serve, demo)
