"""`serve` (the web app on waitress, or gunicorn for several processes) and `demo` (the loop on the defaults)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy.engine import make_url

from connector import const
from connector.cli.context import EXIT_SETTINGS, Context, handled, pass_ctx


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1, max=const.SERVER_MAX_WORKERS),
    help="Web processes: 1 is waitress in this process; more run gunicorn (Linux, PostgreSQL).",
)
@pass_ctx
@handled
def serve(ctx: Context, host: str, port: int, workers: int) -> None:
    """Serve the webhooks and API with the production WSGI server (waitress; gunicorn with --workers N)."""
    if workers > 1:
        _serve_processes(ctx, host, port, workers)
        return
    from webhooks import create_app  # the web app loads only for the commands that serve it
    from webhooks.server import serve as run

    ctx.settings.require("secret_key", why="by `serve`: it signs sessions and seals stored tokens")
    ctx.require_current_store()
    ctx.note_mapping()
    click.echo(f"serving on http://{host}:{port} (health: /healthz, readiness: /readyz)")
    run(create_app(ctx.settings, ctx.engine), host, port)


def _serve_processes(ctx: Context, host: str, port: int, workers: int) -> None:
    """`workers` gunicorn processes, refused where they cannot work: a SQLite store, or no fork()."""
    from webhooks import processes  # gunicorn loads only for several processes

    refusal = processes.cannot_fork()
    if refusal is None and make_url(ctx.settings.database_url).get_backend_name() == "sqlite":
        refusal = (
            "several web processes need PostgreSQL; SQLite allows one writer: set MATTERLINE_DATABASE_URL "
            "to postgresql://… or use --workers 1"
        )
    if refusal is not None:
        click.echo(f"matterline: {refusal}", err=True)
        sys.exit(EXIT_SETTINGS)
    ctx.settings.require("secret_key", why="by `serve`: it signs sessions and seals stored tokens")
    processes.ensure_metrics_dir(sys.argv[1:])  # may start this command again, before the store is opened
    ctx.require_current_store()
    ctx.note_mapping()
    ctx.engine.dispose()  # the checks' connections stay in this process: each worker opens its own after the fork
    click.echo(
        f"serving on http://{host}:{port} with {workers} worker processes (health: /healthz, readiness: /readyz)"
    )
    processes.serve(ctx.settings, host, port, workers)


@click.command()
@click.option("--once", is_flag=True, help="Run the scripted part and exit instead of serving.")
@click.option("--dir", "workdir", default=".matterline-demo", show_default=True, help="Where the demo store goes.")
@handled
def demo(once: bool, workdir: str) -> None:
    """The demo on the embedded defaults: sandbox CMS, sync into SQLite, the app, CMS webhooks."""
    from connector.demo import run_demo  # the sandbox loads only for the demo

    sys.exit(run_demo(once=once, workdir=Path(workdir), echo=click.echo))


COMMANDS = (serve, demo)
