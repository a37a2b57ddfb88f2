"""`matterline init`: create the store or bring it to this version's schema; `backup` and `restore` it."""

from __future__ import annotations

import sys

import click

from connector import services
from connector.cli.context import EXIT_ERROR, Context, cli_actor, emit, handled, json_option, pass_ctx, safe_url
from connector.compliance import audit
from connector.store import backup, current_revision, upgrade


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


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace PATH when it exists.")
@json_option
@pass_ctx
@handled
def backup_cmd(ctx: Context, path: str, force: bool, as_json: bool) -> None:
    """Copy the SQLite store to PATH while the app and workers keep running, and check the copy.

    A PostgreSQL store is backed up with pg_dump: the command is printed, with no password in it."""
    copy = backup.backup(ctx.settings.database_url, path, force=force)
    if as_json:
        emit(copy.to_json())
        return
    click.echo(
        f"backup written to {copy.path}: {copy.bytes} bytes, revision {copy.revision}, {copy.messages} messages, "
        f"{copy.audit_entries} audit entries (integrity {copy.integrity})"
    )


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--replace", is_flag=True, help="Restore over a store that holds data (kept beside it).")
@json_option
@pass_ctx
@handled
def restore(ctx: Context, path: str, replace: bool, as_json: bool) -> None:
    """Restore the backup at PATH into the configured SQLite store, upgrade it and verify its audit log.

    Stop the app and the workers first. Exits 1 when the restored audit log does not verify."""
    done = services.backups.restore(ctx.engine, ctx.settings.database_url, path, replace=replace, actor=cli_actor())
    verdict = done.verdict
    if as_json:
        emit(done.to_json())
    else:
        where = safe_url(ctx.settings.database_url)
        click.echo(f"restored {path} into {where}" + (f"; the old store is kept as {done.kept}" if done.kept else ""))
        copy = done.backup
        click.echo(
            f"backup: {copy.bytes} bytes, revision {copy.revision}, {copy.messages} messages, "
            f"{copy.audit_entries} audit entries, sha256 {done.sha256}"
        )
        if done.revision != done.revision_before:
            click.echo(f"upgraded from revision {done.revision_before} to {done.revision}")
        if verdict.intact:
            keyed = "keyed" if verdict.keyed_from is not None else "NOT keyed: no audit key set"
            head = f"; head {verdict.head}" if verdict.head else ""
            click.echo(f"audit log intact: {verdict.entries} entries checked ({keyed}){head}")
        click.echo(f"the restore is audit entry {done.entry_id} (store_restored)")
        if copy.pending:
            jobs = ", ".join(f"{kind} {count}" for kind, count in copy.pending.items())
            first = done.looked_up_first
            click.echo(
                f"outbox: jobs pending at backup time ({jobs}) run when a worker starts; {first['texts']} texts "
                f"and {first['records']} CMS records are looked up at Twilio and the CMS first, so none goes twice"
            )
    if not verdict.intact:
        click.echo(f"matterline: audit log of the restored store broken: {verdict.describe()}", err=True)
        sys.exit(EXIT_ERROR)


COMMANDS = (init, backup_cmd, restore)
