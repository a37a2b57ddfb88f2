"""`matterline reminders`: plan the reminders of the calendar entries the sync changed now (the worker does it
each round), and list reminders with their state and why one was cancelled or skipped."""

from __future__ import annotations

from dataclasses import asdict

import click

from connector import queries
from connector.cli.context import Context, emit, handled, json_option, pass_ctx
from connector.reminders import planner
from connector.store.engine import utcnow


@click.group()
def reminders() -> None:
    """Court-date and appointment reminders planned from the CMS calendar."""


@reminders.command("plan")
@json_option
@pass_ctx
@handled
def plan_command(ctx: Context, as_json: bool) -> None:
    """Plan the reminders of every calendar entry changed since the last plan (new, moved, cancelled)."""
    ctx.require_current_store()
    counts = planner.plan(ctx.engine, ctx.settings, now=utcnow())
    if as_json:
        emit(asdict(counts))
        return
    click.echo(
        f"planned {counts.entries} calendar entries: {counts.planned} reminders planned, {counts.moved} moved, "
        f"{counts.cancelled} cancelled, {counts.unchanged} unchanged"
    )
    if counts.no_number:
        click.echo(f"{counts.no_number} entries have no reminders: their client has no number to text")


@reminders.command("list")
@click.option("--matter", "matter_cms_id", help="Only this matter's reminders (its CMS id).")
@click.option("--state", type=click.Choice(queries.reminders.STATES), help="Only reminders in this state.")
@json_option
@pass_ctx
@handled
def list_command(ctx: Context, matter_cms_id: str | None, state: str | None, as_json: bool) -> None:
    """Reminders by when they go, with the entry, rule and moment each is for and why one did not go."""
    ctx.require_current_store()
    rows = queries.reminders.listing(ctx.engine, matter_cms_id=matter_cms_id, state=state)
    if as_json:
        emit(rows)
        return
    zone = ctx.settings.zone
    for row in rows:
        why = f"  ({row.reason})" if row.reason else ""
        click.echo(
            f"{row.id:>6}  {row.due_at.astimezone(zone):%Y-%m-%d %H:%M %Z}  {row.state:<9}  matter "
            f"{row.matter_cms_id or '-':<8} entry {row.entry_cms_id}  {row.rule}: {row.moment}  to {row.client_phone}"
            f"{why}"
        )
    click.echo(f"{len(rows)} reminders")


COMMANDS = (reminders,)
