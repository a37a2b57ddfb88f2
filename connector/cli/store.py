"""`matterline init`: create the store or bring it to this version's schema."""

from __future__ import annotations

import click

from connector.cli.context import Context, handled, pass_ctx, safe_url
from connector.store import current_revision, upgrade


@click.command()
@pass_ctx
@handled
def init(ctx: Context) -> None:
    """Create the store or upgrade it to this version; safe to run again."""
    before = current_revision(ctx.engine)
    upgrade(ctx.engine)
    after = current_revision(ctx.engine)
    where = safe_url(ctx.settings.database_url)
    if before == after:
        click.echo(f"store at {where} is current (revision {after})")
    else:
        click.echo(f"store at {where} upgraded from {before or 'empty'} to revision {after}")


COMMANDS = (init,)
