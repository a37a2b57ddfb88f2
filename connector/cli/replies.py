"""`matterline alerts`: reply alerts not yet dismissed (a person's with `--as`, every one without), and
`alerts dismiss ID`. The same query and service the inbox page uses."""

from __future__ import annotations

import click

from connector import queries, services
from connector.cli.context import Context, as_option, emit, handled, json_option, pass_ctx

__all__ = ["COMMANDS"]


@click.group(name="alerts", invoke_without_command=True)
@as_option("Whose alerts (email or id); an admin also sees those meant for nobody. Default: every one.")
@json_option
@click.pass_context
@handled
def alerts_cmd(click_ctx: click.Context, as_user: str | None, as_json: bool) -> None:
    """Client texts left unanswered past the firm's limit, newest first, until dismissed or answered."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx = click_ctx.ensure_object(Context)
    ctx.require_current_store()
    found = queries.replies.unseen(ctx.engine, ctx.user(as_user))
    if as_json:
        emit(found)
        return
    zone = ctx.settings.zone
    for a in found:
        who = a.client_name or a.client_phone
        covering = f"  (covering for {a.covering_for})" if a.covering_for else ""
        click.echo(
            f"{a.id:>6}  thread {a.thread_id:<6} {who[:24]:<24} waiting since "
            f"{a.waited_since.astimezone(zone):%Y-%m-%d %H:%M %Z}  {a.via}{covering}"
        )
    click.echo(f"{len(found)} alerts")


@alerts_cmd.command("dismiss")
@click.argument("alert_id", type=int)
@as_option("Dismiss as this user (email or id): their own alert, or any as an admin.")
@pass_ctx
@handled
def alerts_dismiss(ctx: Context, alert_id: int, as_user: str | None) -> None:
    """Take an alert off the list (the thread still waits until someone answers)."""
    ctx.require_current_store()
    seen = services.replies.dismiss(ctx.engine, alert_id, ctx.actor(as_user))
    click.echo(f"alert {alert_id}: dismissed at {seen.astimezone(ctx.settings.zone):%Y-%m-%d %H:%M %Z}")


COMMANDS = (alerts_cmd,)
