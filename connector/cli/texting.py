"""Texting from the command line: `send`, `cancel`, `check`, `threads` (and what staff do to one), `messages`,
`optouts` and `consent`. Each command calls the service or query the API calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from connector import queries, services
from connector.cli.context import (
    Context,
    as_option,
    emit,
    handled,
    json_option,
    pass_ctx,
    phone_option,
    pick,
    reason_option,
)
from connector.guardrails.consent import METHODS
from connector.messaging.purpose import CONVERSATION, PURPOSES

_THREAD_FIELDS = (
    "id",
    "firm_number",
    "client_phone",
    "client_cms_id",
    "matter_cms_id",
    "state",
    "filing_rule",
    "urgent",
    "assignee",
    "message_count",
    "last_message_at",
)
_MESSAGE_FIELDS = ("id", "sid", "direction", "body", "status", "error_code", "matter_cms_id", "author", "created_at")
# The CLI spells the inbox's filters with dashes, as options are spelt.
_FILTERS = tuple(name.replace("_", "-") for name in queries.threads.FILTERS)


@click.command()
@click.option("--thread", "thread_id", type=int, help="Send on this thread.")
@click.option("--matter", "matter_cms_id", help="Text the client of this matter (CMS id).")
@click.option("--to", help="Text this number (E.164 or as typed).")
@click.option("--body", required=True, help="The text.")
@click.option("--media", "media_urls", multiple=True, help="An https:// media URL (repeatable).")
@as_option("Send as this user (email or id); the audit log names them.")
@reason_option("Send despite content-rule warnings, saying why (audited).", required=False, name="--override-reason")
@reason_option(
    "Send now during the recipient's quiet hours, saying why (attorneys and admins).",
    required=False,
    name="--quiet-hours-reason",
)
@click.option(
    "--purpose",
    type=click.Choice(PURPOSES),
    default=CONVERSATION,
    show_default=True,
    help="A notice is a reply template as written (give --template); reminders come from the CMS calendar.",
)
@click.option("--template", "template", help="The reply template (its id) a notice is sent from.")
@json_option
@pass_ctx
@handled
def send(
    ctx: Context,
    thread_id: int | None,
    matter_cms_id: str | None,
    to: str | None,
    body: str,
    media_urls: tuple[str, ...],
    as_user: str | None,
    override_reason: str | None,
    quiet_hours_reason: str | None,
    purpose: str,
    template: str | None,
    as_json: bool,
) -> None:
    """Queue a text; the worker sends it. A refused send (opted out, no consent, a content rule, a promotion,
    several numbers in --to) exits 1 with the reason; outside the recipient's 8am-8pm it is held as `scheduled`
    unless --quiet-hours-reason is given."""
    ctx.require_current_store()
    queued = services.messages.send(
        ctx.engine,
        ctx.settings,
        body=body,
        thread_id=thread_id,
        matter_cms_id=matter_cms_id,
        to=to,
        media_urls=media_urls,
        actor=ctx.actor(as_user),
        override_reason=override_reason,
        quiet_hours_reason=quiet_hours_reason,
        purpose=purpose,
        template=template,
    )
    if as_json:
        emit(queued)
    elif queued.scheduled_for is not None:
        click.echo(
            f"held message {queued.id} to {queued.to}: quiet hours where they are; it goes at "
            f"{queued.scheduled_for:%Y-%m-%d %H:%M} UTC"
        )
    else:
        click.echo(
            f"queued message {queued.id} to {queued.to} ({queued.segments} segment(s), {queued.encoding}); "
            "`matterline worker --once` sends it"
        )


@click.command()
@click.argument("message_id", type=int)
@reason_option("Why (kept in the audit log).")
@as_option("Cancel as this user (email or id).")
@pass_ctx
@handled
def cancel(ctx: Context, message_id: int, reason: str, as_user: str | None) -> None:
    """Take back a text that has not gone (queued, or held for quiet hours); exits 1 once it is sending or sent."""
    ctx.require_current_store()
    services.messages.cancel(ctx.engine, message_id, reason=reason, actor=ctx.actor(as_user))
    click.echo(f"canceled message {message_id}; it will not be sent")


@click.command()
@click.argument("body")
@json_option
@pass_ctx
@handled
def check(ctx: Context, body: str, as_json: bool) -> None:
    """What the content rules find in a draft (BODY); sends and stores nothing. Exits 1 when a rule blocks it."""
    draft = services.messages.check_draft(ctx.engine, ctx.settings, body)
    if as_json:
        emit(draft)
    else:
        for f in draft.findings:
            click.echo(f"{f.action} {f.rule}: {f.match!r} - {f.message} {f.suggestion}")
        verdict = "needs --override-reason to send" if draft.needs_override_reason else "may be sent"
        click.echo("blocked: cannot be sent" if not draft.sendable else verdict)
    if not draft.sendable:
        raise SystemExit(1)


# -- threads ---------------------------------------------------------------------------------------------


@click.group(name="threads", invoke_without_command=True)
@click.option("--filter", "filters", multiple=True, type=click.Choice(_FILTERS), help="Repeatable.")
@click.option("--matter", "matter_cms_id", help="Only threads about this matter (CMS id).")
@click.option("--client", "client_cms_id", help="Only threads with this client (CMS id).")
@as_option("Whose view: 'mine' and unread counts are per person (email or id).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, queries.threads.MAX_LIMIT))
@json_option
@click.pass_context
@handled
def threads_cmd(
    click_ctx: click.Context,
    filters: tuple[str, ...],
    matter_cms_id: str | None,
    client_cms_id: str | None,
    as_user: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Conversations, newest first; the subcommands change one (assign, read, unread, urgent, refile)."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx = click_ctx.ensure_object(Context)
    ctx.require_current_store()
    user = ctx.user(as_user)
    for personal in ("mine", "unread"):
        if personal in filters and user is None:
            raise click.ClickException(f"--filter {personal} needs --as USER")
    views, _cursor = queries.threads.listing(
        ctx.engine,
        user_id=user.id if user else None,
        mine="mine" in filters,
        unassigned="unassigned" in filters,
        unread="unread" in filters,
        needs_filing="needs-filing" in filters,
        urgent="urgent" in filters,
        waiting="waiting" in filters,
        opted_out="opted-out" in filters,
        matter_cms_id=matter_cms_id,
        client_cms_id=client_cms_id,
        limit=limit,
    )
    if as_json:
        emit([pick(v, _THREAD_FIELDS) for v in views])
        return
    for v in views:
        where = v.matter_display_number or ("NEEDS FILING" if v.state == "needs_filing" else "-")
        flags = ("URGENT " if v.urgent else "") + ("OPTED OUT " if v.opted_out else "")
        unread = f"{v.unread:>3} unread  " if user else ""  # read state is per person: only with --as
        click.echo(
            f"{v.id:>6}  {v.client_phone:<14} {(v.client_name or 'unknown')[:24]:<24} {where:<16} "
            f"{v.message_count:>4} msgs  {unread}{flags}{v.assignee or ''}"
        )
    click.echo(f"{len(views)} threads")


def _echo_thread(view: queries.threads.ThreadView, as_json: bool, said: str) -> None:
    if as_json:
        emit(view)
    else:
        click.echo(f"thread {view.id}: {said}")


@threads_cmd.command("assign")
@click.argument("thread_id", type=int)
@click.option("--to", "assignee", help="Email or user id; leave out to unassign.")
@as_option("Assign as this user (email or id).")
@json_option
@pass_ctx
@handled
def threads_assign(ctx: Context, thread_id: int, assignee: str | None, as_user: str | None, as_json: bool) -> None:
    """Give a thread to a person, or to nobody (audited)."""
    ctx.require_current_store()
    done = services.threads.assign(ctx.engine, thread_id, assignee, actor=ctx.actor(as_user))
    away = done.covering_for
    note = (
        ""
        if away is None
        else f" (covering for {away.name}, away until {away.until.astimezone(ctx.settings.zone):%Y-%m-%d %H:%M %Z})"
    )
    _echo_thread(done.thread, as_json, f"assigned to {done.thread.assignee or 'nobody'}{note}")


@threads_cmd.command("read")
@click.argument("thread_id", type=int)
@click.option("--up-to", "message_id", type=int, help="Read up to this message; default: the newest.")
@click.option("--as", "as_user", required=True, help="Whose read state (email or id): it is per person.")
@pass_ctx
@handled
def threads_read(ctx: Context, thread_id: int, message_id: int | None, as_user: str) -> None:
    """Mark a thread read for a person (audited)."""
    ctx.require_current_store()
    mark = services.threads.mark_read(ctx.engine, thread_id, actor=ctx.actor(as_user), up_to_message_id=message_id)
    click.echo(f"thread {thread_id}: read up to message {mark}")


@threads_cmd.command("unread")
@click.argument("thread_id", type=int)
@click.option("--from", "message_id", type=int, help="Unread from this message on; default: the newest client text.")
@click.option("--as", "as_user", required=True, help="Whose read state (email or id): it is per person.")
@pass_ctx
@handled
def threads_unread(ctx: Context, thread_id: int, message_id: int | None, as_user: str) -> None:
    """Mark a thread unread for a person (audited)."""
    ctx.require_current_store()
    mark = services.threads.mark_unread(ctx.engine, thread_id, actor=ctx.actor(as_user), from_message_id=message_id)
    click.echo(f"thread {thread_id}: read up to message {mark}; the rest is unread")


@threads_cmd.command("urgent")
@click.argument("thread_id", type=int)
@click.option("--on/--off", "urgent", default=True, help="Flag it (default) or clear the flag.")
@as_option("Flag as this user (email or id).")
@json_option
@pass_ctx
@handled
def threads_urgent(ctx: Context, thread_id: int, urgent: bool, as_user: str | None, as_json: bool) -> None:
    """Flag a thread urgent, or clear the flag (audited)."""
    ctx.require_current_store()
    view = services.threads.set_urgent(ctx.engine, thread_id, urgent, actor=ctx.actor(as_user))
    _echo_thread(view, as_json, "flagged urgent" if view.urgent else "not urgent")


@threads_cmd.command("refile")
@click.argument("thread_id", type=int)
@click.option("--matter", "matter_cms_id", required=True, help="The matter's CMS id.")
@as_option("File as this user (email or id).")
@json_option
@pass_ctx
@handled
def threads_refile(ctx: Context, thread_id: int, matter_cms_id: str, as_user: str | None, as_json: bool) -> None:
    """File a thread to a matter: its unfiled texts move there (audited)."""
    ctx.require_current_store()
    view, moved = services.threads.refile(ctx.engine, ctx.settings, thread_id, matter_cms_id, actor=ctx.actor(as_user))
    _echo_thread(view, as_json, f"filed to matter {matter_cms_id}; {moved} texts moved with it")


# -- messages, opt-outs, consent ----------------------------------------------------------------------------


@click.group(name="messages", invoke_without_command=True)
@click.option("--thread", "thread_id", type=int, help="The thread whose messages to list.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, queries.threads.MAX_LIMIT))
@json_option
@click.pass_context
@handled
def messages_cmd(click_ctx: click.Context, thread_id: int | None, limit: int, as_json: bool) -> None:
    """A thread's messages, oldest first (the newest `--limit`); `messages refile` moves one."""
    if click_ctx.invoked_subcommand is not None:
        return
    if thread_id is None:
        raise click.UsageError("give --thread ID")
    ctx = click_ctx.ensure_object(Context)
    ctx.require_current_store()
    views, _before = queries.messages.listing(ctx.engine, thread_id, limit=limit)
    views.reverse()
    if as_json:
        emit([pick(m, _MESSAGE_FIELDS) for m in views])
        return
    for m in views:
        arrow = "<-" if m.direction == "inbound" else "->"
        error = f" [error {m.error_code}]" if m.error_code else ""
        held = f" [goes {m.scheduled_for:%Y-%m-%d %H:%M} UTC]" if m.scheduled_for else ""
        click.echo(f"{m.created_at:%Y-%m-%d %H:%M} {arrow} {m.author or '':<24} {m.status:<10}{error}{held} {m.body}")


@messages_cmd.command("refile")
@click.argument("message_id", type=int)
@click.option("--matter", "matter_cms_id", required=True, help="The matter's CMS id.")
@as_option("Re-file as this user (email or id).")
@json_option
@pass_ctx
@handled
def messages_refile(ctx: Context, message_id: int, matter_cms_id: str, as_user: str | None, as_json: bool) -> None:
    """Move one message to another matter; a written text gets a correction note on both (audited)."""
    ctx.require_current_store()
    view = services.messages.refile(ctx.engine, ctx.settings, message_id, matter_cms_id, actor=ctx.actor(as_user))
    if as_json:
        emit(view)
    else:
        click.echo(f"message {message_id}: filed to matter {matter_cms_id}")


@click.command()
@json_option
@click.option("--all", "show_all", is_flag=True, help="Include numbers that opted back in.")
@pass_ctx
@handled
def optouts(ctx: Context, as_json: bool, show_all: bool) -> None:
    """Numbers that opted out (the ledger's current state)."""
    ctx.require_current_store()
    states = queries.optouts.listing(ctx.engine, only_opted_out=not show_all)
    if as_json:
        emit(states)
        return
    for s in states:
        flag = "opted out" if s.opted_out else "opted in"
        since = f"{s.since:%Y-%m-%d %H:%M}" if s.since else "-"
        click.echo(f"{s.phone:<16} {flag:<10} since {since} UTC ({s.source})")
    click.echo(f"{len(states)} numbers")


@click.group()
def consent() -> None:
    """The consent ledger: record, withdraw and list consent to texts (append-only, audited)."""


def _consent_options(fn: Any) -> Any:
    for option in reversed(
        (
            phone_option("The client's number (E.164 or as typed)."),
            click.option(
                "--method", required=True, type=click.Choice(METHODS), help="How the client gave (or withdrew) it."
            ),
            click.option("--scope", default="all matters", show_default=True, help="What it covers."),
            click.option("--source", help="Where it is written down (a document, a form id)."),
            click.option("--matter", "matter_cms_id", help="The matter it was given in (CMS id)."),
            click.option("--captured-at", type=click.DateTime(), help="When the client gave it (default: now, UTC)."),
            as_option("Who captured it (email or id); default: this operator."),
            click.option("--json", "as_json", is_flag=True, help="Print JSON."),
        )
    ):
        fn = option(fn)
    return fn


def _append(ctx: Context, grant: bool, given: dict[str, Any]) -> None:
    ctx.require_current_store()
    captured_at: datetime | None = given["captured_at"]
    action = services.consents.record if grant else services.consents.withdraw
    row = action(
        ctx.engine,
        ctx.settings,
        given["phone"],
        method=given["method"],
        scope=given["scope"],
        source=given["source"],
        matter_cms_id=given["matter_cms_id"],
        captured_at=captured_at.replace(tzinfo=UTC) if captured_at else None,
        actor=ctx.actor(given["as_user"]),
    )
    if given["as_json"]:
        emit(row)
    else:
        click.echo(f"{'recorded' if grant else 'withdrew'} consent #{row.id} for {row.phone}")


@consent.command(name="record")
@_consent_options
@pass_ctx
@handled
def consent_record(ctx: Context, /, **given: Any) -> None:
    """Record that a client agreed to be texted."""
    _append(ctx, True, given)


@consent.command(name="revoke")
@_consent_options
@pass_ctx
@handled
def consent_revoke(ctx: Context, /, **given: Any) -> None:
    """Record that a client withdrew consent; texts to the number stop until it is given again."""
    _append(ctx, False, given)


@consent.command(name="list")
@phone_option("Only this number's rows.", required=False)
@json_option
@pass_ctx
@handled
def consent_list(ctx: Context, phone: str | None, as_json: bool) -> None:
    """The ledger, oldest first."""
    ctx.require_current_store()
    rows = queries.consents.listing(ctx.engine, phone, region=ctx.settings.default_region)
    if as_json:
        emit(rows)
        return
    for row in rows:
        click.echo(
            f"{row.created_at:%Y-%m-%d %H:%M}  {row.phone:<16} {row.action:<7} {row.method:<18} "
            f"{row.scope}  (by {row.captured_by})"
        )
    click.echo(f"{len(rows)} entries")


COMMANDS = (send, cancel, check, threads_cmd, messages_cmd, optouts, consent)
