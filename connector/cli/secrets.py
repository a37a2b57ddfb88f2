"""`matterline secrets reseal`: after rotating MATTERLINE_SECRET_KEY, seal stored secrets under the new key."""

from __future__ import annotations

import click

from connector import services
from connector.cli.context import Context, emit, handled, json_option, pass_ctx

__all__ = ["COMMANDS"]


@click.group(name="secrets")
def secrets_cmd() -> None:
    """Stored secrets (CMS tokens and webhook secrets, sealed under MATTERLINE_SECRET_KEY)."""


@secrets_cmd.command("reseal")
@json_option
@pass_ctx
@handled
def reseal(ctx: Context, as_json: bool) -> None:
    """Seal every stored secret again under the current key, so MATTERLINE_PREVIOUS_SECRET_KEY can be unset."""
    ctx.require_current_store()
    done = services.secrets.reseal(ctx.engine, ctx.settings, ctx.actor(None))
    if as_json:
        emit(done)
        return
    click.echo(f"{done.resealed} stored secrets sealed under the current key")
    if done.unreadable:
        click.echo(
            f"{done.unreadable} could not be opened with the current or the previous key: connect the CMS again "
            "(admin connection page) and renew the CMS webhooks (`matterline webhooks renew`)"
        )
    else:
        click.echo("nothing is left under the previous key: MATTERLINE_PREVIOUS_SECRET_KEY may be unset")


COMMANDS = (secrets_cmd,)
