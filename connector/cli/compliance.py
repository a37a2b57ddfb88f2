"""Compliance from the command line: legal `hold`s, `retention purge`, a matter's `export`, and the `audit` log."""

from __future__ import annotations

import json
import sys

import click

from connector import queries, services
from connector.cli.context import (
    EXIT_ERROR,
    Context,
    as_option,
    cli_actor,
    emit,
    handled,
    json_option,
    pass_ctx,
    reason_option,
)
from connector.compliance import audit, retention


@click.group()
def hold() -> None:
    """Legal holds: a matter on hold is never purged (set and release are audited with their reason)."""


def _hold_change(change: services.holds.HoldChange, as_json: bool) -> None:
    if as_json:
        emit(change)
    elif change.on_hold:
        click.echo(f"matter {change.matter_cms_id} is on legal hold: its messages will not be purged")
    else:
        click.echo(f"matter {change.matter_cms_id} is no longer on legal hold")


@hold.command("set")
@click.option("--matter", "matter_cms_id", required=True, help="The matter's CMS id.")
@reason_option("Why (kept in the hold ledger and the audit log).")
@as_option("Set it as this user (email or id).")
@json_option
@pass_ctx
@handled
def hold_set(ctx: Context, matter_cms_id: str, reason: str, as_user: str | None, as_json: bool) -> None:
    """Put a matter on legal hold; refused when it already is."""
    ctx.require_current_store()
    _hold_change(services.holds.set_hold(ctx.engine, matter_cms_id, reason=reason, actor=ctx.actor(as_user)), as_json)


@hold.command("release")
@click.option("--matter", "matter_cms_id", required=True, help="The matter's CMS id.")
@reason_option("Why (kept in the hold ledger and the audit log).")
@as_option("Release it as this user (email or id).")
@json_option
@pass_ctx
@handled
def hold_release(ctx: Context, matter_cms_id: str, reason: str, as_user: str | None, as_json: bool) -> None:
    """Release a matter's legal hold; refused when it is not on hold."""
    ctx.require_current_store()
    _hold_change(services.holds.release(ctx.engine, matter_cms_id, reason=reason, actor=ctx.actor(as_user)), as_json)


@hold.command("list")
@json_option
@pass_ctx
@handled
def hold_list(ctx: Context, as_json: bool) -> None:
    """Matters on legal hold now."""
    ctx.require_current_store()
    rows = queries.holds.listing(ctx.engine)
    if as_json:
        emit(rows)
        return
    for row in rows:
        click.echo(f"{row.matter_cms_id:>10}  since {row.since:%Y-%m-%d %H:%M}  by {row.actor}: {row.reason}")
    click.echo(f"{len(rows)} matters on hold")


@click.group()
def retention_group() -> None:
    """Retention: purge message bodies and media the CMS has kept for MATTERLINE_RETENTION_DAYS."""


@retention_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Change nothing; report what a purge would do.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
@handled
def retention_purge(ctx: Context, dry_run: bool, as_json: bool) -> None:
    """Remove bodies and media (keeping metadata and a SHA-256 of each body); held matters are skipped."""
    ctx.require_current_store()
    report = retention.purge(ctx.engine, ctx.settings, dry_run=dry_run, actor=cli_actor())
    if as_json:
        emit(report.to_json())
        return
    verb = "would purge" if dry_run else "purged"
    click.echo(
        f"{verb} {report.purged} messages ({report.bytes_freed} bytes, {report.records_cleared} write-back records) "
        f"whose transcripts were written before {report.cutoff:%Y-%m-%d %H:%M} UTC"
    )
    for matter, count in report.skipped_on_hold.items():
        click.echo(f"skipped {count} messages of matter {matter}: on legal hold")
    if report.skipped_pending_writeback:
        reasons: dict[str, int] = {}
        for skipped in report.skipped_pending_writeback:
            reasons[skipped.reason] = reasons.get(skipped.reason, 0) + 1
        for reason, count in sorted(reasons.items()):
            click.echo(f"skipped {count} messages: {reason.replace('_', ' ')} (see --json for their ids)")


@click.command(name="export")
@click.option("--matter", "matter_cms_id", required=True, help="The matter's CMS id.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="A new or empty directory.")
@as_option("Export as this user (email or id).")
@json_option
@pass_ctx
@handled
def export_cmd(ctx: Context, matter_cms_id: str, out_dir: str, as_user: str | None, as_json: bool) -> None:
    """Export a matter's texts as JSON, CSV and a printable HTML transcript, with a SHA-256 manifest (audited)."""
    ctx.require_current_store()
    result = services.exports.export_matter(
        ctx.engine, ctx.settings, matter_cms_id, out_dir=out_dir, actor=ctx.actor(as_user)
    )
    if as_json:
        emit(
            {
                "matter_cms_id": result.matter_cms_id,
                "out_dir": result.out_dir,
                "messages": result.messages,
                "files": [{"name": f.name, "sha256": f.sha256, "bytes": f.bytes} for f in result.files],
                "audit_id": result.audit_id,
            }
        )
        return
    click.echo(f"exported {result.messages} messages of matter {matter_cms_id} to {result.out_dir}")
    for f in result.files:
        click.echo(f"  {f.name:<16} {f.bytes:>9} bytes  sha256 {f.sha256}")


@click.group(name="audit", invoke_without_command=True)
@click.option("--matter", "matter_cms_id", help="Only this matter's entries (CMS id).")
@click.option("--actor", help="Only this actor's entries (e.g. user:3:avery@firm.example).")
@click.option("--action", type=click.Choice([a.value for a in audit.Action]), help="Only this action.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N entries (still newest last).")
@json_option
@click.pass_context
@handled
def audit_group(
    click_ctx: click.Context,
    matter_cms_id: str | None,
    actor: str | None,
    action: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """The audit log, oldest first: who did what, when, in which matter (`audit verify` checks the chain)."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx = click_ctx.ensure_object(Context)
    ctx.require_current_store()
    rows = queries.audit.listing(ctx.engine, matter_cms_id=matter_cms_id, actor=actor, action=action, newest=limit)
    if as_json:
        emit(rows)
        return
    for row in rows:
        where = f" matter {row.matter_cms_id}" if row.matter_cms_id else ""
        subject = f"{row.subject_type} {row.subject_id}" if row.subject_id else row.subject_type
        details = json.dumps(row.details, default=str, sort_keys=True) if row.details else ""
        click.echo(
            f"{row.id:>7}  {row.at:%Y-%m-%d %H:%M:%S} UTC  {row.actor:<24} {row.action:<16} {subject}{where}  {details}"
        )
    click.echo(f"{len(rows)} entries")


@audit_group.command("verify")
@click.option("--expect-head", help="A head hash an earlier verify printed; it must still be in the log.")
@click.option("--checkpoint", "kept", help="A checkpoint `audit checkpoint` printed; the log must still hold it.")
@json_option
@pass_ctx
@handled
def audit_verify(ctx: Context, expect_head: str | None, kept: str | None, as_json: bool) -> None:
    """Recompute the keyed hash chain and check every checkpoint; exit 1 naming the first entry (or checkpoint)
    that was edited, deleted, moved or forged.

    Entries cut off the end show against the checkpoints the store keeps; keep the printed checkpoint
    somewhere else (a ticket, the CMS) and `--checkpoint` catches them even when the checkpoints went too."""
    ctx.require_current_store()
    checkpoint = audit.Checkpoint.parse(kept) if kept is not None else None
    verdict = audit.verify(ctx.engine, expect_head=expect_head, kept=checkpoint)
    if as_json:
        emit(verdict.to_json())
    elif verdict.intact:
        keyed = "keyed" if verdict.keyed_from is not None else "NOT keyed (no audit key set)"
        click.echo(
            f"audit log intact: {verdict.entries} entries checked ({keyed}), {verdict.checkpoints} checkpoints; "
            f"head {verdict.head}"
        )
        if verdict.last_checkpoint is not None:
            last = verdict.last_checkpoint
            click.echo(f"last checkpoint {last.id} at {last.at:%Y-%m-%d %H:%M} UTC: {last.entries} entries")
    if not verdict.intact:
        if verdict.broken_id is not None:
            where = f"at entry {verdict.broken_id}"
        elif verdict.broken_checkpoint_id is not None:
            where = f"at checkpoint {verdict.broken_checkpoint_id}"
        else:
            where = "at its end"
        click.echo(f"matterline: audit log broken {where}: {verdict.reason}", err=True)
        sys.exit(EXIT_ERROR)


@audit_group.command("checkpoint")
@json_option
@pass_ctx
@handled
def audit_checkpoint(ctx: Context, as_json: bool) -> None:
    """Sign the log's head (newest entry, its hash, how many entries), keep it, and print it.

    Keep the printed line away from this machine: `audit verify --checkpoint LINE` then shows entries
    cut off the end even by someone who also deleted the stored checkpoints. The worker signs one daily."""
    ctx.require_current_store()
    signed = audit.checkpoint(ctx.engine, actor=cli_actor())
    if as_json:
        emit(signed.to_json())
        return
    click.echo(f"checkpoint {signed.id}: {signed.entries} entries through entry {signed.entry_id}")
    click.echo(signed.text)


@audit_group.command("rekey")
@pass_ctx
@handled
def audit_rekey(ctx: Context) -> None:
    """Key a log kept so far with plain SHA-256 (`matterline init` does this when a key is set)."""
    ctx.require_current_store()
    entry = audit.rekey(ctx.engine, actor=cli_actor())
    if entry is None:
        click.echo("audit log: keyed already (or empty); nothing to do")
    else:
        click.echo(f"audit log: the plain chain verified and is keyed from entry {entry} on (chain_rekeyed)")


retention_group.name = "retention"
COMMANDS = (hold, retention_group, export_cmd, audit_group)
