"""`users add|list|disable|role|away|back|end-sessions|password|invite|reset` and `users token list|revoke|rotate`: the
people who use Matterline, their one-time password links and their API tokens (every change is audited)."""

from __future__ import annotations

from datetime import datetime

import click

from connector import queries, services
from connector.cli.context import Context, as_option, emit, handled, json_option, pass_ctx
from connector.services.invites import Purpose
from connector.staff.users import ROLES


@click.group()
def users() -> None:
    """The people who use Matterline and their API tokens."""


@users.command("add")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--password-prompt", is_flag=True, help="Ask for a password to sign in with (twice, not echoed).")
@as_option("Add them as this user (email or id).")
@json_option
@pass_ctx
@handled
def users_add(
    ctx: Context, name: str, email: str, role: str, password_prompt: bool, as_user: str | None, as_json: bool
) -> None:
    """Add a user and print their API token (shown this once; only a hash is kept)."""
    ctx.require_current_store()
    password = _ask_password() if password_prompt else None
    added = services.users.add(
        ctx.engine, name=name, email=email, role=role, actor=ctx.actor(as_user), password=password
    )
    user = added.user
    if as_json:
        emit({"id": user.id, "name": user.name, "email": user.email, "role": user.role, "token": added.token})
        return
    click.echo(f"user {user.id}: {user.name} <{user.email}> ({user.role})")
    click.echo(f"API token (shown once, keep it safe): {added.token}")


@users.command("password")
@click.argument("user")
@as_option("Set it as this user (email or id).")
@pass_ctx
@handled
def users_password(ctx: Context, user: str, as_user: str | None) -> None:
    """Set a user's sign-in password (asked twice, never echoed); their open sessions end (audited)."""
    ctx.require_current_store()
    person = services.users.set_password(ctx.engine, user, _ask_password(), actor=ctx.actor(as_user))
    click.echo(f"password set for {person.email}; their open sessions have ended")


def _link_command(purpose: Purpose, help_text: str) -> click.Command:
    """`users invite` and `users reset`: the same command, one purpose each."""

    @click.argument("user")
    @as_option("Send it as this user (email or id; an admin).")
    @json_option
    @pass_ctx
    @handled
    def command(ctx: Context, user: str, as_user: str | None, as_json: bool) -> None:
        public_url = ctx.settings.public_url
        if not public_url:
            # Checked first: a link nobody can open would only revoke the one the person may already have.
            raise click.ClickException(
                "MATTERLINE_PUBLIC_URL is not set, so there is no address to put in the link; set it to the "
                "address staff open Matterline at (e.g. https://matterline.firm.example)"
            )
        ctx.require_current_store()
        issued = services.invites.issue_link(ctx.engine, user, purpose, actor=ctx.actor(as_user))
        url = public_url.rstrip("/") + issued.path
        if as_json:
            emit(
                {
                    "id": issued.user.id,
                    "email": issued.user.email,
                    "purpose": purpose,
                    "url": url,
                    "expires_at": issued.expires_at,
                }
            )
            return
        until = issued.expires_at.astimezone(ctx.settings.zone)
        click.echo(f"{purpose} link for {issued.user.email} (works once, until {until:%Y-%m-%d %H:%M %Z}):")
        click.echo(url)

    return users.command(purpose, help=help_text)(command)


_link_command(
    "invite",
    "Print a one-time link (valid 7 days) for a user to set their password; an older invite stops working.",
)
_link_command(
    "reset",
    "Print a one-time link (valid 1 hour) for a user to set a new password; it ends their sessions when used.",
)


def _ask_password() -> str:
    """The password, typed twice without echo; click asks again when the two differ."""
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


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


@users.command("role")
@click.argument("user")
@click.argument("role", type=click.Choice(ROLES))
@as_option("Change it as this user (email or id; an admin).")
@pass_ctx
@handled
def users_role(ctx: Context, user: str, role: str, as_user: str | None) -> None:
    """Give a user (email or id) another role, in force on their next request (audited); the last active admin
    cannot be demoted."""
    ctx.require_current_store()
    person = services.users.set_role(ctx.engine, user, role, actor=ctx.actor(as_user))
    click.echo(f"{person.email} is now {person.role}")


_WHEN = click.DateTime(["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"])


def _firm_time(ctx: Context, moment: datetime) -> datetime:
    """A time typed at the prompt, read in the firm's zone (MATTERLINE_TIMEZONE), as people say times."""
    return moment.replace(tzinfo=ctx.settings.zone)


def _local(ctx: Context, moment: datetime) -> str:
    return f"{moment.astimezone(ctx.settings.zone):%Y-%m-%d %H:%M %Z}"


@users.command("away")
@click.argument("user")
@click.option("--backup", required=True, help="Who covers meanwhile (email or id).")
@click.option("--until", "until", required=True, type=_WHEN, help="When they are back, in the firm's time zone.")
@click.option("--from", "starts", type=_WHEN, help="When they leave, in the firm's time zone (default: now).")
@click.option("--reason", help="Why, for colleagues (kept in the audit log).")
@as_option("Set it as this user (email or id): the person themself, or an admin.")
@json_option
@pass_ctx
@handled
def users_away(
    ctx: Context,
    user: str,
    backup: str,
    until: datetime,
    starts: datetime | None,
    reason: str | None,
    as_user: str | None,
    as_json: bool,
) -> None:
    """Mark a user (email or id) away until a time, with a backup: urgent-text tasks, threads assigned to them
    and reply alerts go to the backup meanwhile (audited)."""
    ctx.require_current_store()
    person, cover = ctx.user(user), ctx.user(backup)
    assert person is not None  # a name was given
    assert cover is not None
    period = services.coverage.set_away(
        ctx.engine,
        user_id=person.id,
        backup_id=cover.id,
        starts_at=None if starts is None else _firm_time(ctx, starts),
        ends_at=_firm_time(ctx, until),
        reason=reason,
        actor=ctx.actor(as_user),
    )
    if as_json:
        emit(period)
        return
    click.echo(
        f"{period.email} is away {_local(ctx, period.starts_at)} to {_local(ctx, period.ends_at)}; "
        f"{period.backup_email} is covering (period {period.id})"
    )


@users.command("back")
@click.argument("user")
@as_option("End it as this user (email or id): the person themself, or an admin.")
@pass_ctx
@handled
def users_back(ctx: Context, user: str, as_user: str | None) -> None:
    """End a user's time away now (or call off the next one, when they are not away yet) (audited)."""
    ctx.require_current_store()
    person = ctx.user(user)
    assert person is not None  # a name was given
    periods = queries.coverage.upcoming(ctx.engine, [person.id])[person.id]
    if not periods:
        raise click.ClickException(f"{person.email} is not away and has no time away coming")
    ended = services.coverage.end_away(ctx.engine, periods[0].id, actor=ctx.actor(as_user))
    said = "called off" if ended.starts_at > (ended.ended_at or ended.starts_at) else "ended"
    click.echo(f"{ended.email} is back: time away {ended.id} {said}; {ended.backup_email} no longer covers")


@users.command("end-sessions")
@click.argument("user")
@as_option("End them as this user (email or id; an admin).")
@pass_ctx
@handled
def users_end_sessions(ctx: Context, user: str, as_user: str | None) -> None:
    """Sign a user (email or id) out of every browser now; their API tokens go on working (audited)."""
    ctx.require_current_store()
    ended = services.users.end_sessions(ctx.engine, user, actor=ctx.actor(as_user))
    click.echo(f"ended {ended} session{'' if ended == 1 else 's'} of {user}")


@users.group("token")
def token() -> None:
    """A person's API tokens: list them, revoke a leaked one, or rotate it."""


@token.command("list")
@click.argument("user")
@json_option
@pass_ctx
@handled
def token_list(ctx: Context, user: str, as_json: bool) -> None:
    """List a user's API tokens (email or id): id, first characters, when used and revoked; never the token."""
    ctx.require_current_store()
    person = ctx.user(user)
    assert person is not None  # a name was given
    found = queries.users.tokens(ctx.engine, person.id)
    if as_json:
        emit(found)
        return
    for t in found:
        used = f"last used {t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
        gone = f"  (revoked {t.revoked_at:%Y-%m-%d %H:%M})" if t.revoked_at else ""
        click.echo(f"{t.id:>4}  {t.prefix}…  created {t.created_at:%Y-%m-%d %H:%M}  {used}{gone}")


@token.command("revoke")
@click.argument("token_id", type=int)
@as_option("Revoke it as this user (email or id).")
@pass_ctx
@handled
def token_revoke(ctx: Context, token_id: int, as_user: str | None) -> None:
    """Revoke one API token (by id, from `users token list`): it stops working at once (audited)."""
    ctx.require_current_store()
    revoked = services.users.revoke_token(ctx.engine, token_id, actor=ctx.actor(as_user))
    person = ctx.user(str(revoked.user_id))
    click.echo(f"revoked API token {revoked.id} ({revoked.prefix}…) of {person.email if person else revoked.user_id}")


@token.command("rotate")
@click.argument("token_id", type=int)
@as_option("Rotate it as this user (email or id).")
@json_option
@pass_ctx
@handled
def token_rotate(ctx: Context, token_id: int, as_user: str | None, as_json: bool) -> None:
    """Replace one API token: the old one stops working now; the new one is printed once (audited)."""
    ctx.require_current_store()
    rotated = services.users.rotate_token(ctx.engine, token_id, actor=ctx.actor(as_user))
    if as_json:
        emit({"id": rotated.user.id, "email": rotated.user.email, "token_id": rotated.token_id, "token": rotated.token})
        return
    click.echo(f"API token for {rotated.user.email} (shown once, keep it safe): {rotated.token}")


COMMANDS = (users,)
