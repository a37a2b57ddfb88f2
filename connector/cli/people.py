"""`users add|list|disable`: the people who use Matterline and their API tokens (adding and disabling is audited)."""

from __future__ import annotations

import click

from connector import queries, services
from connector.cli.context import Context, as_option, emit, handled, json_option, pass_ctx
from connector.staff.users import ROLES


@click.group()
def users() -> None:
    """The people who use Matterline and their API tokens."""


@users.command("add")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@as_option("Add them as this user (email or id).")
@json_option
@pass_ctx
@handled
def users_add(ctx: Context, name: str, email: str, role: str, as_user: str | None, as_json: bool) -> None:
    """Add a user and print their API token (shown this once; only a hash is kept)."""
    ctx.require_current_store()
    added = services.users.add(ctx.engine, name=name, email=email, role=role, actor=ctx.actor(as_user))
    user = added.user
    if as_json:
        emit({"id": user.id, "name": user.name, "email": user.email, "role": user.role, "token": added.token})
        return
    click.echo(f"user {user.id}: {user.name} <{user.email}> ({user.role})")
    click.echo(f"API token (shown once, keep it safe): {added.token}")


@users.command("list")
@json_option
@pass_ctx
@handled
def users_list(ctx: Context, as_json: bool) -> None:
    """List users (never their tokens)."""
    ctx.require_current_store()
    people = queries.users.listing(ctx.engine)
    if as_json:
        emit(
            [
                {"id": u.id, "name": u.name, "email": u.email, "role": u.role, "disabled": u.disabled_at is not None}
                for u in people
            ]
        )
        return
    for u in people:
        gone = "  (disabled)" if u.disabled_at else ""
        click.echo(f"{u.id:>4}  {u.name:<28} {u.email:<32} {u.role}{gone}")


@users.command("disable")
@click.argument("user")
@as_option("Disable them as this user (email or id).")
@pass_ctx
@handled
def users_disable(ctx: Context, user: str, as_user: str | None) -> None:
    """Disable a user (email or id): their tokens stop working at once (audited)."""
    ctx.require_current_store()
    person = services.users.disable(ctx.engine, user, actor=ctx.actor(as_user))
    click.echo(f"disabled {person.email}; their API tokens no longer work")


COMMANDS = (users,)
