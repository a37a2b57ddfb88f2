"""The worker and its queues: `worker`, `outbox list|replay|discard`, and `intake list|retry` (audited)."""

from __future__ import annotations

import time

import click

from connector import queries, services
from connector.cli.context import Context, as_option, emit, handled, json_option, pass_ctx, reason_option
from connector.jobs.worker import Round, Worker


def _report(result: Round) -> None:
    if result.taken_in:
        click.echo(f"took in {result.taken_in} texts (threaded and filed)")
    if result.reminders is not None:
        p, d = result.reminders.planned, result.reminders.due
        if p.planned or p.moved or p.cancelled:
            click.echo(f"reminders: {p.planned} planned, {p.moved} moved, {p.cancelled} cancelled")
        if d.sent or d.held or d.skipped:
            click.echo(f"reminders due: {d.sent} queued, {d.held} held for quiet hours, {d.skipped} skipped")
    s = result.sends
    if s.sent or s.adopted or s.failed or s.blocked or s.retried or s.dead:
        click.echo(
            f"texts: {s.sent} sent, {s.adopted} found already sent, {s.failed} failed, {s.blocked} blocked, "
            f"{s.retried} to retry, {s.dead} dead"
        )
    if result.windows:
        click.echo(f"closed {result.windows} conversation windows")
    w = result.writes
    if w.written or w.adopted or w.retried or w.dead or w.paused:
        paused = " (paused: the CMS refused the credentials)" if w.paused else ""
        click.echo(
            f"write-back: {w.written} written, {w.adopted} found already written, {w.retried} to retry, "
            f"{w.dead} dead{paused}"
        )
    if result.refreshed:
        click.echo(f"refreshed {result.refreshed} records announced by CMS webhooks")
    for line in result.renewals:
        click.echo(f"webhook {line}")
    for error in result.errors:
        click.echo(f"failed (the other steps ran): {error}", err=True)


@click.command()
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@click.option("--drain", is_flag=True, help="Keep going through retries until nothing is left but dead letters.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between rounds.")
@pass_ctx
@handled
def worker(ctx: Context, once: bool, drain: bool, interval: float) -> None:
    """Send due texts, fetch records CMS webhooks announced, keep webhook subscriptions alive."""
    ctx.require_current_store()
    ctx.note_mapping()
    runner = Worker(ctx.engine, ctx.settings, lambda: ctx.client)
    if drain:
        runner.drain(on_round=_report)
        return
    while True:
        _report(runner.round())
        if once:
            return
        time.sleep(interval)


@click.group(name="outbox")
def outbox_group() -> None:
    """The queue of work leaving the building: list, replay dead letters, discard."""


@outbox_group.command("list")
@click.option("--dead", is_flag=True, help="Only dead letters.")
@json_option
@pass_ctx
@handled
def outbox_list(ctx: Context, dead: bool, as_json: bool) -> None:
    """Jobs, newest first."""
    ctx.require_current_store()
    rows = queries.outbox.listing(ctx.engine, state="dead" if dead else None)
    if as_json:
        emit(rows)
        return
    for row in rows:
        click.echo(f"{row.id:>6}  {row.kind:<10} {row.state:<9} attempts {row.attempts}  {row.last_error or ''}")


@outbox_group.command("replay")
@click.argument("job_id", required=False, type=int)
@click.option("--all-dead", is_flag=True, help="Replay every dead letter.")
@as_option("Replay as this user (email or id).")
@pass_ctx
@handled
def outbox_replay(ctx: Context, job_id: int | None, all_dead: bool, as_user: str | None) -> None:
    """Put dead letters back in the queue (audited)."""
    if (job_id is None) == (not all_dead):
        raise click.UsageError("give a JOB_ID or --all-dead")
    ctx.require_current_store()
    replayed = services.outbox.replay(ctx.engine, None if job_id is None else [job_id], actor=ctx.actor(as_user))
    click.echo(f"replayed {len(replayed)} jobs")


@outbox_group.command("discard")
@click.argument("job_id", type=int)
@reason_option("Why this job is given up (kept on the job and in the audit log).")
@as_option("Discard as this user (email or id).")
@pass_ctx
@handled
def outbox_discard(ctx: Context, job_id: int, reason: str, as_user: str | None) -> None:
    """Give up on a job that is not done (audited)."""
    ctx.require_current_store()
    services.outbox.discard(ctx.engine, job_id, reason=reason, actor=ctx.actor(as_user))
    click.echo(f"discarded job {job_id}")


@click.group(name="intake")
def intake_group() -> None:
    """Texts intake set aside: stored by the webhook but not threaded, each with the reason."""


@intake_group.command("list")
@json_option
@pass_ctx
@handled
def intake_list(ctx: Context, as_json: bool) -> None:
    """Set-aside texts, oldest first."""
    ctx.require_current_store()
    rows = queries.intake.listing(ctx.engine)
    if as_json:
        emit(rows)
        return
    for row in rows:
        click.echo(f"{row.id:>6}  {row.received_at:%Y-%m-%d %H:%M} UTC  from {row.from_number:<20} {row.reason}")
    click.echo(f"{len(rows)} texts set aside")


@intake_group.command("retry")
@click.argument("message_id", required=False, type=int)
@click.option("--all", "all_set_aside", is_flag=True, help="Retry every set-aside text.")
@as_option("Retry as this user (email or id).")
@pass_ctx
@handled
def intake_retry(ctx: Context, message_id: int | None, all_set_aside: bool, as_user: str | None) -> None:
    """Let intake take set-aside texts again, once their cause is fixed (audited)."""
    if (message_id is None) == (not all_set_aside):
        raise click.UsageError("give a MESSAGE_ID or --all")
    ctx.require_current_store()
    ids = services.intake.retry(ctx.engine, None if message_id is None else [message_id], actor=ctx.actor(as_user))
    click.echo(f"{len(ids)} texts put back for intake")


COMMANDS = (worker, outbox_group, intake_group)
