"""The CMS side: `sync`, the synced `clients` and `matters`, `mappings validate|show|check`, `webhooks renew`."""

from __future__ import annotations

import sys

import click

from connector import const, queries, services
from connector.cli.context import EXIT_ERROR, Context, as_option, emit, handled, json_option, pass_ctx, pick
from connector.sync.syncer import Syncer
from mappings import load_mapping, read_document, validate_document

_MATTER_FIELDS = ("id", "cms_id", "display_number", "description", "status", "client_cms_id", "responsible_attorney")


@click.command()
@click.option("--full", is_flag=True, help="Re-read everything and retire what the CMS no longer lists.")
@click.option("--queue", is_flag=True, help="Ask the worker to run it at its next round (the admin page's Sync now).")
@as_option("Ask for it as this admin (email or id; with --queue).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
@handled
def sync(ctx: Context, full: bool, queue: bool, as_user: str | None, as_json: bool) -> None:
    """Sync clients, their phone numbers and matters from the CMS (now, or --queue for the worker)."""
    ctx.require_current_store()
    if queue:
        asked = services.connection.request_sync(ctx.engine, actor=ctx.actor(as_user), full=full)
        if as_json:
            emit(asked)
        else:
            click.echo(f"sync queued as job {asked.job_id}; `matterline worker` runs it")
        return
    ctx.note_mapping()
    syncer = Syncer(ctx.engine, ctx.client, ctx.mapping, default_region=ctx.settings.default_region)
    report = syncer.run(full=full)
    if as_json:
        emit(report.to_json())
        return
    for line in report.lines(listed=10):
        click.echo(line)


@click.command()
@click.option("--cms-id", help="Only the contact with this CMS id.")
@click.option("--unparseable", is_flag=True, help="Only contacts with numbers that could not be read.")
@json_option
@pass_ctx
@handled
def clients(ctx: Context, cms_id: str | None, unparseable: bool, as_json: bool) -> None:
    """List synced clients and contacts with their phone numbers."""
    ctx.require_current_store()
    listing = queries.clients.listing(ctx.engine, cms_id=cms_id, unparseable=unparseable)
    if as_json:
        emit(listing)
        return
    for item in listing:
        bad = f"  unparseable: {', '.join(repr(p) for p in item.unparseable_phones)}" if item.unparseable_phones else ""
        click.echo(f"{item.cms_id:>10}  {item.name:<32} {' '.join(item.phones)}{bad}")
    click.echo(f"{len(listing)} contacts")


@click.command(name="matters")
@click.option("--cms-id", help="Only the matter with this CMS id.")
@click.option("--status", type=click.Choice(queries.matters.STATUSES), help="Only matters in this status.")
@json_option
@pass_ctx
@handled
def matters_cmd(ctx: Context, cms_id: str | None, status: str | None, as_json: bool) -> None:
    """List synced matters."""
    ctx.require_current_store()
    listing = queries.matters.listing(ctx.engine, cms_id=cms_id, status=status)
    if as_json:
        emit([pick(m, _MATTER_FIELDS) for m in listing])
        return
    for m in listing:
        attorney = m.responsible_attorney or ""
        click.echo(f"{m.cms_id:>10}  {m.display_number:<16} {m.status:<8} {m.description[:40]:<40} {attorney}")
    click.echo(f"{len(listing)} matters")


@click.group()
def mappings() -> None:
    """Validate, show and test the CMS mapping."""


@mappings.command("validate")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@pass_ctx
@handled
def mappings_validate(ctx: Context, file: str | None) -> None:
    """Validate FILE (a full mapping or a firm override), or the configured mapping."""
    if file is None:
        mapping = ctx.mapping
        with_override = f" with {ctx.settings.mapping_file}" if ctx.settings.mapping_file else ""
        click.echo(f"ok: {mapping.id} mapping{with_override}")
        return
    document = read_document(file)
    # A whole mapping names itself and carries its API and resources; anything less is a firm override.
    whole = {"id", "name", "api", "resources"} <= set(document)
    mapping = validate_document(document, file) if whole else load_mapping(ctx.settings.cms, file)
    click.echo(f"ok: {file} ({mapping.id} mapping)")


@mappings.command("show")
@pass_ctx
@handled
def mappings_show(ctx: Context) -> None:
    """Print the merged mapping (bundled mapping plus the firm override)."""
    emit(ctx.mapping.raw)


@mappings.command("check")
@as_option("Check as this admin (email or id).")
@json_option
@pass_ctx
@handled
def mappings_check(ctx: Context, as_user: str | None, as_json: bool) -> None:
    """One authenticated call to the CMS: ok, invalid_auth or cannot_connect, with the reason (audited)."""
    ctx.require_current_store()
    result = services.connection.check(ctx.engine, ctx.settings, ctx.mapping, actor=ctx.actor(as_user))
    if as_json:
        emit({"status": result.status, "reason": result.reason})
    else:
        click.echo(f"{result.status}: {result.reason}")
    if result.status != "ok":
        sys.exit(EXIT_ERROR)


@click.group()
def webhooks() -> None:
    """CMS webhook subscriptions."""


@webhooks.command("renew")
@as_option("Renew them as this admin (email or id).")
@json_option
@pass_ctx
@handled
def webhooks_renew(ctx: Context, as_user: str | None, as_json: bool) -> None:
    """Create missing CMS webhook subscriptions and extend those that expire soon (audited)."""
    ctx.require_current_store()
    if not ctx.settings.secret_key:
        const.LOGGER.warning("MATTERLINE_SECRET_KEY is unset: webhook secrets cannot be stored")
    actions = services.connection.renew_webhooks(ctx.engine, ctx.settings, ctx.mapping, actor=ctx.actor(as_user))
    if as_json:
        emit([{"model": a.model, "action": a.action, "cms_id": a.cms_id, "expires_at": a.expires_at} for a in actions])
        return
    for a in actions:
        click.echo(f"{a.model}: {a.action} (webhook {a.cms_id}, expires {a.expires_at:%Y-%m-%d %H:%M} UTC)")


COMMANDS = (sync, clients, matters_cmd, mappings, webhooks)
