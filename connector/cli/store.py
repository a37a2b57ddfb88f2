"""`matterline init`: create the store or bring it to this version's schema."""

from __future__ import annotations

import click

from connector.cli.context import Context, cli_actor, handled, pass_ctx, safe_url
from connector.compliance import audit
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
    if audit.keyed(ctx.engine):
        # The first keyed entry closes the plain chain written before a key was set; see `audit rekey`.
        entry = audit.rekey(ctx.engine, actor=cli_actor())
        if entry is not None:
            click.echo(f"audit log: the plain chain verified and is keyed from entry {entry} on")


COMMANDS = (init,)
