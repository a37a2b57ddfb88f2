"""Write-back from the command line: close conversation windows (`file`), and the records for the CMS
(`writebacks`, with `show`, and `edit` and `file` for a summary draft staff review)."""

from __future__ import annotations

import click

from connector import queries, services
from connector.cli.context import Context, as_option, emit, handled, json_option, pass_ctx


@click.command(name="file")
@click.option("--thread", "thread_id", type=int, help="Close this thread's conversation windows now.")
@click.option("--all", "all_threads", is_flag=True, help="Close every open conversation window now.")
@as_option("Close them as this user (email or id).")
@json_option
@pass_ctx
@handled
def file_cmd(ctx: Context, thread_id: int | None, all_threads: bool, as_user: str | None, as_json: bool) -> None:
    """Close conversation windows now; their transcripts and summaries are queued for the CMS."""
    if (thread_id is None) == (not all_threads):
        raise click.UsageError("give --thread ID or --all")
    ctx.require_current_store()
    closed = services.threads.close_windows(ctx.engine, ctx.settings, actor=ctx.actor(as_user), thread_id=thread_id)
    if as_json:
        emit(closed)
        return
    for c in closed:
        click.echo(
            f"window {c.window_id}: thread {c.thread_id} -> matter {c.matter_cms_id}, "
            f"{c.messages} texts, {c.writebacks} records queued"
        )
    click.echo(f"{len(closed)} windows closed; `matterline worker --once` writes them to the CMS")


@click.group(invoke_without_command=True)
@click.option("--state", type=click.Choice(queries.writebacks.STATES), help="Only records in this state.")
@click.option("--matter", "matter_cms_id", help="Only this matter's records (CMS id).")
@json_option
@click.pass_context
@handled
def writebacks(click_ctx: click.Context, state: str | None, matter_cms_id: str | None, as_json: bool) -> None:
    """Records written (or waiting to be written) to the CMS."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx = click_ctx.ensure_object(Context)
    ctx.require_current_store()
    rows = queries.writebacks.listing(ctx.engine, state=state, matter_cms_id=matter_cms_id)
    if as_json:
        emit(rows)
        return
    for row in rows:
        error = f"  ({row.last_error})" if row.last_error else ""
        click.echo(
            f"{row.id:>6}  {row.kind:<10} matter {row.matter_cms_id:<12} {row.state:<8} "
            f"{row.cms_record_id or '-':<12} attempts {row.attempts}{error}"
        )


def _print(record: queries.writebacks.WritebackRecord, as_json: bool) -> None:
    if as_json:
        emit(record)
        return
    click.echo(f"{record.kind} {record.id} for matter {record.matter_cms_id} ({record.state})")
    click.echo(record.subject)
    click.echo("")
    click.echo(record.body)


@writebacks.command("show")
@click.argument("writeback_id", type=int)
@json_option
@pass_ctx
@handled
def writebacks_show(ctx: Context, writeback_id: int, as_json: bool) -> None:
    """One record with its text."""
    ctx.require_current_store()
    _print(queries.writebacks.get(ctx.engine, writeback_id), as_json)


@writebacks.command("edit")
@click.argument("writeback_id", type=int)
@click.option("--subject", help="The note's new subject (its marker is kept).")
@click.option("--body", help="The note's new text.")
@as_option("Edit as this user (email or id).")
@json_option
@pass_ctx
@handled
def writebacks_edit(
    ctx: Context, writeback_id: int, subject: str | None, body: str | None, as_user: str | None, as_json: bool
) -> None:
    """Edit a summary before it is written (audited); refused once its write may be under way."""
    if subject is None and body is None:
        raise click.UsageError("give --subject, --body or both")
    ctx.require_current_store()
    _print(
        services.summaries.edit(ctx.engine, writeback_id, subject=subject, body=body, actor=ctx.actor(as_user)), as_json
    )


@writebacks.command("file")
@click.argument("writeback_id", type=int)
@as_option("File as this user (email or id).")
@json_option
@pass_ctx
@handled
def writebacks_file(ctx: Context, writeback_id: int, as_user: str | None, as_json: bool) -> None:
    """Queue a reviewed summary draft for the CMS (audited)."""
    ctx.require_current_store()
    _print(services.summaries.file(ctx.engine, writeback_id, actor=ctx.actor(as_user)), as_json)


COMMANDS = (file_cmd, writebacks)
