"""The `matterline` command line. Every listing takes --json; errors say what is wrong and exit non-zero."""

from __future__ import annotations

import getpass
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click
from sqlalchemy import Engine, select

from connector import const
from connector.cms.client import CmsClient
from connector.cms.connect import build_client, check_connection
from connector.cms.errors import CmsError
from connector.guardrails.consent import METHODS as CONSENT_METHODS
from connector.settings import Settings, SettingsError, load_settings
from connector.store import current_revision, head_revision, make_engine, upgrade
from connector.store.tables import contact_phones, contacts, matters
from mappings import MappingError, load_mapping, read_document, validate_document
from mappings.model import Mapping

if TYPE_CHECKING:
    from connector.staff.users import User

P = ParamSpec("P")
R = TypeVar("R")

EXIT_ERROR = 1
EXIT_SETTINGS = 2


def cli_actor() -> str:
    """How the audit log names an operator at the command line (no `--as`): the OS user."""
    return f"cli:{getpass.getuser()}"


@dataclass
class Context:
    """Settings, store and mapping, each opened on first use so `--help` needs none of them."""

    environ: dict[str, str] | None = None
    _settings: Settings | None = None
    _engine: Engine | None = None
    _mapping: Mapping | None = None
    _client: CmsClient | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The validated settings."""
        if self._settings is None:
            self._settings = load_settings(self.environ)
            logging.getLogger(const.DOMAIN).setLevel(self._settings.log_level)
        return self._settings

    @property
    def engine(self) -> Engine:
        """The store, migrated (commands other than `init` refuse a store that is behind)."""
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
        return self._engine

    @property
    def mapping(self) -> Mapping:
        """The configured CMS mapping with the firm's override applied."""
        if self._mapping is None:
            self._mapping = load_mapping(self.settings.cms, self.settings.mapping_file)
        return self._mapping

    def note_mapping(self) -> None:
        """Audit the mapping in force when it changed since it was last recorded (sync, worker, serve)."""
        from pathlib import Path

        from connector.compliance.audit import note_mapping
        from mappings import bundled_path

        _ = self.mapping  # a broken mapping stops here, before anything is recorded
        files = {bundled_path(self.settings.cms).name: bundled_path(self.settings.cms).read_bytes()}
        if self.settings.mapping_file:
            files[f"override:{Path(self.settings.mapping_file).name}"] = Path(self.settings.mapping_file).read_bytes()
        note_mapping(self.engine, self.settings.cms, files, actor=cli_actor())

    @property
    def client(self) -> CmsClient:
        """The CMS client."""
        if self._client is None:
            self._client = build_client(self.settings, self.mapping, self.engine)
        return self._client

    def user(self, key: str | None) -> User | None:
        """The user named by `--as` (email or id); None when not given.

        Raises:
            click.ClickException: no such user.
        """
        if key is None:
            return None
        from connector.staff.users import find_user

        with self.engine.connect() as conn:
            found = find_user(conn, key)
        if found is None:
            raise click.ClickException(f"no user {key!r} (see `matterline users list`)")
        return found

    def require_current_store(self) -> None:
        """Stop unless `matterline init` has brought the store to this code's schema."""
        current, head = current_revision(self.engine), head_revision()
        if current != head:
            raise click.ClickException(
                f"the store at {_safe_url(self.settings.database_url)} is at revision {current or 'none'}, "
                f"this code needs {head}: run `matterline init`"
            )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def handled(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn Matterline's errors into one clear line on stderr and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except SettingsError as exc:
            click.echo(f"matterline: {exc}", err=True)
            sys.exit(EXIT_SETTINGS)
        except MappingError as exc:
            click.echo(f"matterline: {exc}", err=True)
            sys.exit(EXIT_SETTINGS)
        except CmsError as exc:
            click.echo(f"matterline: {exc}", err=True)
            sys.exit(EXIT_ERROR)

    return wrapper


def emit(data: Any) -> None:
    """Print JSON for machines."""
    click.echo(json.dumps(data, indent=2, default=str))


pass_ctx = click.make_pass_decorator(Context, ensure=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="matterline")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Matterline: client texting as a firm workflow inside the firm's case-management system."""
    ctx.ensure_object(Context)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# -- store -------------------------------------------------------------------------------------------


@main.command()
@pass_ctx
@handled
def init(ctx: Context) -> None:
    """Create the store or upgrade it to this version; safe to run again."""
    before = current_revision(ctx.engine)
    upgrade(ctx.engine)
    after = current_revision(ctx.engine)
    where = _safe_url(ctx.settings.database_url)
    if before == after:
        click.echo(f"store at {where} is current (revision {after})")
    else:
        click.echo(f"store at {where} upgraded from {before or 'empty'} to revision {after}")


# -- sync --------------------------------------------------------------------------------------------


@main.command()
@click.option("--full", is_flag=True, help="Re-read everything and retire what the CMS no longer lists.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
@handled
def sync(ctx: Context, full: bool, as_json: bool) -> None:
    """Sync clients, their phone numbers and matters from the CMS."""
    from connector.sync.syncer import Syncer

    ctx.require_current_store()
    ctx.note_mapping()
    syncer = Syncer(ctx.engine, ctx.client, ctx.mapping, default_region=ctx.settings.default_region)
    report = syncer.run(full=full)
    if as_json:
        emit(report.to_json())
        return
    for line in report.lines(listed=10):
        click.echo(line)


# -- listings ----------------------------------------------------------------------------------------


def _phones_by_contact(engine: Engine, contact_ids: list[int]) -> dict[int, tuple[list[str], list[str]]]:
    found: dict[int, tuple[list[str], list[str]]] = {cid: ([], []) for cid in contact_ids}
    if not contact_ids:
        return found
    with engine.connect() as conn:
        for chunk_start in range(0, len(contact_ids), 500):
            chunk = contact_ids[chunk_start : chunk_start + 500]
            rows = conn.execute(
                select(contact_phones.c.contact_id, contact_phones.c.e164, contact_phones.c.raw)
                .where(contact_phones.c.contact_id.in_(chunk))
                .order_by(contact_phones.c.contact_id, contact_phones.c.position)
            )
            for row in rows:
                good, bad = found[row.contact_id]
                (good if row.e164 else bad).append(row.e164 or row.raw)
    return found


@main.command()
@click.option("--cms-id", help="Only the contact with this CMS id.")
@click.option("--unparseable", is_flag=True, help="Only contacts with numbers that could not be read.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def clients(ctx: Context, cms_id: str | None, unparseable: bool, as_json: bool) -> None:
    """List synced clients and contacts with their phone numbers."""
    ctx.require_current_store()
    query = select(contacts.c.id, contacts.c.cms_id, contacts.c.name).where(contacts.c.deleted_at.is_(None))
    if cms_id is not None:
        query = query.where(contacts.c.cms_id == cms_id)
    if unparseable:
        bad = select(contact_phones.c.contact_id).where(contact_phones.c.e164.is_(None))
        query = query.where(contacts.c.id.in_(bad))
    with ctx.engine.connect() as conn:
        rows = conn.execute(query.order_by(contacts.c.id)).all()
    phones = _phones_by_contact(ctx.engine, [row.id for row in rows])
    listing = [
        {
            "id": row.id,
            "cms_id": row.cms_id,
            "name": row.name,
            "phones": phones[row.id][0],
            "unparseable_phones": phones[row.id][1],
        }
        for row in rows
    ]
    if as_json:
        emit(listing)
        return
    for item in listing:
        bad_text = (
            f"  unparseable: {', '.join(repr(p) for p in item['unparseable_phones'])}"
            if item["unparseable_phones"]
            else ""
        )
        click.echo(f"{item['cms_id']:>10}  {item['name']:<32} {' '.join(item['phones'])}{bad_text}")
    click.echo(f"{len(listing)} contacts")


@main.command(name="matters")
@click.option("--cms-id", help="Only the matter with this CMS id.")
@click.option("--status", type=click.Choice(["open", "pending", "closed"]), help="Only matters in this status.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def matters_cmd(ctx: Context, cms_id: str | None, status: str | None, as_json: bool) -> None:
    """List synced matters."""
    ctx.require_current_store()
    query = select(matters).where(matters.c.deleted_at.is_(None))
    if cms_id is not None:
        query = query.where(matters.c.cms_id == cms_id)
    if status is not None:
        query = query.where(matters.c.status == status)
    with ctx.engine.connect() as conn:
        rows = conn.execute(query.order_by(matters.c.id)).all()
    listing = [
        {
            "id": row.id,
            "cms_id": row.cms_id,
            "display_number": row.display_number,
            "description": row.description,
            "status": row.status,
            "client_cms_id": row.client_cms_id,
            "responsible_attorney": row.responsible_attorney,
        }
        for row in rows
    ]
    if as_json:
        emit(listing)
        return
    for item in listing:
        click.echo(
            f"{item['cms_id']:>10}  {item['display_number']:<16} {item['status']:<8} "
            f"{item['description'][:40]:<40} {item['responsible_attorney'] or ''}"
        )
    click.echo(f"{len(listing)} matters")


# -- mappings ----------------------------------------------------------------------------------------


@main.group()
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
        click.echo(
            f"ok: {mapping.id} mapping" + (f" with {ctx.settings.mapping_file}" if ctx.settings.mapping_file else "")
        )
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
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def mappings_check(ctx: Context, as_json: bool) -> None:
    """One authenticated call to the CMS: ok, invalid_auth or cannot_connect, with the reason."""
    result = check_connection(ctx.client, ctx.mapping)
    if as_json:
        emit({"status": result.status, "reason": result.reason})
    else:
        click.echo(f"{result.status}: {result.reason}")
    if result.status != "ok":
        sys.exit(EXIT_ERROR)


# -- CMS webhooks, worker, server ----------------------------------------------------------------------


@main.group()
def webhooks() -> None:
    """CMS webhook subscriptions."""


def _renew(ctx: Context) -> list[Any]:
    from connector.sync.subscriptions import renew

    ctx.settings.require("public_url", why="so the CMS knows where to send changes")
    assert ctx.settings.public_url is not None
    if not ctx.settings.secret_key:
        const.LOGGER.warning("MATTERLINE_SECRET_KEY is unset: webhook secrets cannot be stored")
    return renew(
        ctx.engine,
        ctx.client,
        ctx.mapping,
        public_url=ctx.settings.public_url,
        secret_key=ctx.settings.secret_key,
    )


@webhooks.command("renew")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def webhooks_renew(ctx: Context, as_json: bool) -> None:
    """Create missing CMS webhook subscriptions and extend those that expire soon."""
    ctx.require_current_store()
    actions = _renew(ctx)
    if as_json:
        emit([{"model": a.model, "action": a.action, "cms_id": a.cms_id, "expires_at": a.expires_at} for a in actions])
        return
    for a in actions:
        click.echo(f"{a.model}: {a.action} (webhook {a.cms_id}, expires {a.expires_at:%Y-%m-%d %H:%M} UTC)")


@main.command()
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@click.option("--drain", is_flag=True, help="Keep going through retries until nothing is left but dead letters.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between rounds.")
@pass_ctx
@handled
def worker(ctx: Context, once: bool, drain: bool, interval: float) -> None:
    """Send due texts, fetch records CMS webhooks announced, keep webhook subscriptions alive."""
    from connector.jobs.worker import Round, Worker

    ctx.require_current_store()
    ctx.note_mapping()
    runner = Worker(ctx.engine, ctx.settings, ctx.mapping, lambda: ctx.client)

    def report(result: Round) -> None:
        if result.taken_in:
            click.echo(f"took in {result.taken_in} texts (threaded and filed)")
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

    if drain:
        runner.drain(on_round=report)
        return
    while True:
        report(runner.round())
        if once:
            return
        time.sleep(interval)


# -- people and texts ------------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """The people who use Matterline and their API tokens."""


@users.command("add")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "attorney", "staff"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def users_add(ctx: Context, name: str, email: str, role: str, as_json: bool) -> None:
    """Add a user and print their API token (shown this once; only a hash is kept)."""
    from connector.staff.users import UserError, create_user

    ctx.require_current_store()
    try:
        user, token = create_user(ctx.engine, name=name, email=email, role=role)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        emit({"id": user.id, "name": user.name, "email": user.email, "role": user.role, "token": token})
        return
    click.echo(f"user {user.id}: {user.name} <{user.email}> ({user.role})")
    click.echo(f"API token (shown once, keep it safe): {token}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def users_list(ctx: Context, as_json: bool) -> None:
    """List users (never their tokens)."""
    from connector.staff.users import listing

    ctx.require_current_store()
    people = listing(ctx.engine)
    if as_json:
        emit([{"id": u.id, "name": u.name, "email": u.email, "role": u.role} for u in people])
        return
    for u in people:
        click.echo(f"{u.id:>4}  {u.name:<28} {u.email:<32} {u.role}")


@main.command()
@click.option("--thread", "thread_id", type=int, help="Send on this thread.")
@click.option("--matter", "matter_cms_id", help="Text the client of this matter (CMS id).")
@click.option("--to", help="Text this number (E.164 or as typed).")
@click.option("--body", required=True, help="The text.")
@click.option("--media", "media_urls", multiple=True, help="An https:// media URL (repeatable).")
@click.option("--as", "as_user", help="Send as this user (email or id); the audit log names them.")
@click.option("--override-reason", help="Send despite content-rule warnings, saying why (audited).")
@click.option(
    "--quiet-hours-reason", help="Send now during the recipient's quiet hours, saying why (attorneys and admins)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
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
    as_json: bool,
) -> None:
    """Queue a text; the worker sends it. A refused send (opted out, no consent, a content rule) exits 1 with
    the reason; outside the recipient's 8am-8pm it is held as `scheduled` unless --quiet-hours-reason is given."""
    from connector.messaging.outbound import SendRefused, queue_send

    ctx.require_current_store()
    author = ctx.user(as_user)
    actor = author.actor if author else cli_actor()
    try:
        queued = queue_send(
            ctx.engine,
            ctx.settings,
            body=body,
            thread_id=thread_id,
            matter_cms_id=matter_cms_id,
            to=to,
            media_urls=media_urls,
            author_id=author.id if author else None,
            actor=actor,
            override_reason=override_reason,
            quiet_hours_reason=quiet_hours_reason,
        )
    except SendRefused as exc:
        click.echo(f"matterline: {exc.code}: {exc}", err=True)
        for finding in (exc.details or {}).get("findings", []):
            click.echo(
                f"  {finding['action']} {finding['rule']}: {finding['match']!r} - {finding['message']} "
                f"{finding['suggestion']}",
                err=True,
            )
        sys.exit(EXIT_ERROR)
    data = {
        "id": queued.message_id,
        "thread_id": queued.thread_id,
        "to": queued.to,
        "matter_cms_id": queued.matter_cms_id,
        "status": queued.status,
        "encoding": queued.encoding,
        "segments": queued.segments,
        "scheduled_for": queued.scheduled_for.isoformat() if queued.scheduled_for else None,
        "warnings": list(queued.warnings),
    }
    if as_json:
        emit(data)
    elif queued.scheduled_for is not None:
        click.echo(
            f"held message {queued.message_id} to {queued.to}: quiet hours where they are; it goes at "
            f"{queued.scheduled_for:%Y-%m-%d %H:%M} UTC"
        )
    else:
        click.echo(
            f"queued message {queued.message_id} to {queued.to} ({queued.segments} segment(s), {queued.encoding}); "
            "`matterline worker --once` sends it"
        )


@main.command()
@click.argument("message_id", type=int)
@click.option("--reason", required=True, help="Why (kept in the audit log).")
@click.option("--as", "as_user", help="Cancel as this user (email or id).")
@pass_ctx
@handled
def cancel(ctx: Context, message_id: int, reason: str, as_user: str | None) -> None:
    """Take back a text that has not gone (queued, or held for quiet hours); exits 1 once it is sending or sent."""
    from connector.messaging.outbound import SendRefused
    from connector.messaging.outbound import cancel as take_back

    ctx.require_current_store()
    author = ctx.user(as_user)
    try:
        take_back(ctx.engine, message_id, actor=author.actor if author else cli_actor(), reason=reason)
    except SendRefused as exc:
        click.echo(f"matterline: {exc.code}: {exc}", err=True)
        sys.exit(EXIT_SETTINGS if exc.code == "empty_reason" else EXIT_ERROR)
    click.echo(f"canceled message {message_id}; it will not be sent")


THREAD_FILTERS = ("mine", "needs-filing", "urgent", "opted-out")


@main.command(name="threads")
@click.option("--filter", "filters", multiple=True, type=click.Choice(THREAD_FILTERS), help="Repeatable.")
@click.option("--matter", "matter_cms_id", help="Only threads about this matter (CMS id).")
@click.option("--client", "client_cms_id", help="Only threads with this client (CMS id).")
@click.option("--as", "as_user", help="Whose view: 'mine' and unread counts are per person (email or id).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 200))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def threads_cmd(
    ctx: Context,
    filters: tuple[str, ...],
    matter_cms_id: str | None,
    client_cms_id: str | None,
    as_user: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Conversations, newest first."""
    from connector.staff.inbox import list_threads

    ctx.require_current_store()
    user = ctx.user(as_user)
    if "mine" in filters and user is None:
        raise click.ClickException("--filter mine needs --as USER")
    views, _cursor = list_threads(
        ctx.engine,
        user_id=user.id if user else None,
        mine="mine" in filters,
        needs_filing="needs-filing" in filters,
        urgent="urgent" in filters,
        opted_out="opted-out" in filters,
        matter_cms_id=matter_cms_id,
        client_cms_id=client_cms_id,
        limit=limit,
    )
    rows = [
        {
            "id": v.id,
            "firm_number": v.firm_number,
            "client_phone": v.client_phone,
            "client_cms_id": v.client_cms_id,
            "matter_cms_id": v.matter_cms_id,
            "state": v.state,
            "filing_rule": v.filing_rule,
            "urgent": v.urgent,
            "assignee": v.assignee,
            "message_count": v.message_count,
            "last_message_at": v.last_message_at,
        }
        for v in views
    ]
    if as_json:
        emit(rows)
        return
    for v in views:
        where = v.matter_display_number or ("NEEDS FILING" if v.state == "needs_filing" else "-")
        flags = ("URGENT " if v.urgent else "") + ("OPTED OUT " if v.opted_out else "")
        click.echo(
            f"{v.id:>6}  {v.client_phone:<14} {(v.client_name or 'unknown')[:24]:<24} {where:<16} "
            f"{v.message_count:>4} msgs  {flags}{v.assignee or ''}"
        )
    click.echo(f"{len(rows)} threads")


@main.command(name="messages")
@click.option("--thread", "thread_id", required=True, type=int)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 200))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def messages_cmd(ctx: Context, thread_id: int, limit: int, as_json: bool) -> None:
    """A thread's messages, oldest first (the newest `--limit`)."""
    from connector.staff.inbox import get_thread, list_messages

    ctx.require_current_store()
    if get_thread(ctx.engine, thread_id, None) is None:
        raise click.ClickException(f"no thread {thread_id}")
    views, _before = list_messages(ctx.engine, thread_id, limit=limit)
    views.reverse()
    rows = [
        {
            "id": m.id,
            "sid": m.sid,
            "direction": m.direction,
            "body": m.body,
            "status": m.status,
            "error_code": m.error_code,
            "matter_cms_id": m.matter_cms_id,
            "author": m.author,
            "created_at": m.created_at,
        }
        for m in views
    ]
    if as_json:
        emit(rows)
        return
    for m in views:
        arrow = "<-" if m.direction == "inbound" else "->"
        error = f" [error {m.error_code}]" if m.error_code else ""
        held = f" [goes {m.scheduled_for:%Y-%m-%d %H:%M} UTC]" if m.scheduled_for else ""
        click.echo(f"{m.created_at:%Y-%m-%d %H:%M} {arrow} {m.author or '':<24} {m.status:<10}{error}{held} {m.body}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--all", "show_all", is_flag=True, help="Include numbers that opted back in.")
@pass_ctx
@handled
def optouts(ctx: Context, as_json: bool, show_all: bool) -> None:
    """Numbers that opted out (the ledger's current state)."""
    from connector.guardrails.optouts import listing

    ctx.require_current_store()
    states = listing(ctx.engine, only_opted_out=not show_all)
    rows = [{"phone": s.phone, "opted_out": s.opted_out, "since": s.since, "source": s.source} for s in states]
    if as_json:
        emit(rows)
        return
    for row in rows:
        flag = "opted out" if row["opted_out"] else "opted in"
        click.echo(f"{row['phone']:<16} {flag:<10} since {row['since']:%Y-%m-%d %H:%M} UTC ({row['source']})")
    click.echo(f"{len(rows)} numbers")


@main.group()
def consent() -> None:
    """The consent ledger: record, withdraw and list consent to texts (append-only, audited)."""


def _consent_options(fn: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(
        (
            click.option("--phone", required=True, help="The client's number (E.164 or as typed)."),
            click.option(
                "--method",
                required=True,
                type=click.Choice(CONSENT_METHODS),
                help="How the client gave (or withdrew) it.",
            ),
            click.option("--scope", default="all matters", show_default=True, help="What it covers."),
            click.option("--source", help="Where it is written down (a document, a form id)."),
            click.option("--matter", "matter_cms_id", help="The matter it was given in (CMS id)."),
            click.option("--captured-at", type=click.DateTime(), help="When the client gave it (default: now, UTC)."),
            click.option("--as", "as_user", help="Who captured it (email or id); default: this operator."),
            click.option("--json", "as_json", is_flag=True, help="Print JSON."),
        )
    ):
        fn = option(fn)
    return fn


def _record_consent(ctx: Context, action: str, **given: Any) -> None:
    from connector.guardrails.consent import ConsentError, record

    ctx.require_current_store()
    author = ctx.user(given["as_user"])
    captured_at = given["captured_at"]
    try:
        with ctx.engine.begin() as conn:
            row = record(
                conn,
                given["phone"],
                action=action,
                method=given["method"],
                scope=given["scope"],
                source=given["source"],
                matter_cms_id=given["matter_cms_id"],
                captured_at=captured_at.replace(tzinfo=UTC) if captured_at else None,
                captured_by=author.actor if author else cli_actor(),
                region=ctx.settings.default_region,
            )
    except ConsentError as exc:
        click.echo(f"matterline: invalid_consent: {exc}", err=True)
        sys.exit(EXIT_SETTINGS)
    if given["as_json"]:
        emit({**row, "captured_at": row["captured_at"].isoformat(), "created_at": row["created_at"].isoformat()})
    else:
        click.echo(f"{'recorded' if action == 'grant' else 'withdrew'} consent #{row['id']} for {row['phone']}")


@consent.command(name="record")
@_consent_options
@pass_ctx
@handled
def consent_record(ctx: Context, /, **given: Any) -> None:
    """Record that a client agreed to be texted."""
    _record_consent(ctx, "grant", **given)


@consent.command(name="revoke")
@_consent_options
@pass_ctx
@handled
def consent_revoke(ctx: Context, /, **given: Any) -> None:
    """Record that a client withdrew consent; texts to the number stop until it is given again."""
    _record_consent(ctx, "revoke", **given)


@consent.command(name="list")
@click.option("--phone", help="Only this number's rows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def consent_list(ctx: Context, phone: str | None, as_json: bool) -> None:
    """The ledger, oldest first."""
    from connector.guardrails.consent import ConsentError, listing

    ctx.require_current_store()
    try:
        rows = listing(ctx.engine, phone, region=ctx.settings.default_region)
    except ConsentError as exc:
        click.echo(f"matterline: invalid_phone: {exc}", err=True)
        sys.exit(EXIT_SETTINGS)
    if as_json:
        emit(rows)
        return
    for row in rows:
        click.echo(
            f"{row['created_at'][:16]}  {row['phone']:<16} {row['action']:<7} {row['method']:<18} "
            f"{row['scope']}  (by {row['captured_by']})"
        )
    click.echo(f"{len(rows)} entries")


# -- write-back --------------------------------------------------------------------------------------------


@main.command(name="file")
@click.option("--thread", "thread_id", type=int, help="Close this thread's conversation windows now.")
@click.option("--all", "all_threads", is_flag=True, help="Close every open conversation window now.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def file_cmd(ctx: Context, thread_id: int | None, all_threads: bool, as_json: bool) -> None:
    """Close conversation windows now; their transcripts and summaries are queued for the CMS."""
    from connector.writeback.windows import close_due

    if (thread_id is None) == (not all_threads):
        raise click.UsageError("give --thread ID or --all")
    ctx.require_current_store()
    closed = close_due(ctx.engine, ctx.settings, thread_id=thread_id, force=True, actor=cli_actor())
    rows = [
        {
            "window_id": c.window_id,
            "thread_id": c.thread_id,
            "matter_cms_id": c.matter_cms_id,
            "messages": c.messages,
            "writebacks": c.writebacks,
        }
        for c in closed
    ]
    if as_json:
        emit(rows)
        return
    for row in rows:
        click.echo(
            f"window {row['window_id']}: thread {row['thread_id']} -> matter {row['matter_cms_id']}, "
            f"{row['messages']} texts, {row['writebacks']} records queued"
        )
    click.echo(f"{len(rows)} windows closed; `matterline worker --once` writes them to the CMS")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def writebacks(ctx: Context, as_json: bool) -> None:
    """Records written (or waiting to be written) to the CMS."""
    from connector.writeback.writer import listing

    ctx.require_current_store()
    rows = listing(ctx.engine)
    if as_json:
        emit(rows)
        return
    for row in rows:
        error = f"  ({row['last_error']})" if row["last_error"] else ""
        click.echo(
            f"{row['id']:>6}  {row['kind']:<10} matter {row['matter_cms_id']:<12} {row['state']:<8} "
            f"{row['cms_record_id'] or '-':<12} attempts {row['attempts']}{error}"
        )


@main.group(name="outbox")
def outbox_group() -> None:
    """The queue of work leaving the building: list, replay dead letters, discard."""


@outbox_group.command("list")
@click.option("--dead", is_flag=True, help="Only dead letters.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def outbox_list(ctx: Context, dead: bool, as_json: bool) -> None:
    """Jobs, newest first."""
    from connector.jobs.outbox import jobs

    ctx.require_current_store()
    rows = jobs(ctx.engine, dead_only=dead)
    if as_json:
        emit(rows)
        return
    for row in rows:
        click.echo(
            f"{row['id']:>6}  {row['kind']:<10} {row['state']:<9} attempts {row['attempts']}  {row['last_error'] or ''}"
        )


@outbox_group.command("replay")
@click.argument("job_id", required=False, type=int)
@click.option("--all-dead", is_flag=True, help="Replay every dead letter.")
@pass_ctx
@handled
def outbox_replay(ctx: Context, job_id: int | None, all_dead: bool) -> None:
    """Put dead letters back in the queue (audited)."""
    from connector.compliance import audit
    from connector.jobs.outbox import replay

    if (job_id is None) == (not all_dead):
        raise click.UsageError("give a JOB_ID or --all-dead")
    ctx.require_current_store()
    with ctx.engine.begin() as conn:
        replayed = replay(conn, None if all_dead else [job_id] if job_id is not None else None)
        for replayed_id in replayed:
            audit.append(conn, actor=cli_actor(), action="replay", subject_type="outbox", subject_id=replayed_id)
    if job_id is not None and not replayed:
        raise click.ClickException(f"job {job_id} is not a dead letter")
    click.echo(f"replayed {len(replayed)} jobs")


@outbox_group.command("discard")
@click.argument("job_id", type=int)
@click.option("--reason", required=True, help="Why this job is given up (kept on the job and in the audit log).")
@pass_ctx
@handled
def outbox_discard(ctx: Context, job_id: int, reason: str) -> None:
    """Give up on a job that is not done (audited)."""
    from connector.compliance import audit
    from connector.jobs.outbox import discard

    ctx.require_current_store()
    with ctx.engine.begin() as conn:
        if not discard(conn, job_id, reason):
            raise click.ClickException(f"no job {job_id} that is not done")
        audit.append(
            conn,
            actor=cli_actor(),
            action="discard",
            subject_type="outbox",
            subject_id=job_id,
            details={"reason": reason[:500]},
        )
    click.echo(f"discarded job {job_id}")


# -- retention, legal hold, export, audit ------------------------------------------------------------------


@main.group()
def hold() -> None:
    """Legal holds: a matter on hold is never purged (set and release are audited with their reason)."""


def _hold_change(ctx: Context, action: str, matter_cms_id: str, reason: str, as_json: bool) -> None:
    from connector.compliance.retention import HoldError, release_hold, set_hold

    ctx.require_current_store()
    change = set_hold if action == "set" else release_hold
    try:
        result = change(ctx.engine, matter_cms_id, reason, cli_actor())
    except HoldError as exc:
        click.echo(f"matterline: {exc.code}: {exc}", err=True)
        sys.exit(EXIT_SETTINGS if exc.bad_input else EXIT_ERROR)
    if as_json:
        emit(result)
    elif result["on_hold"]:
        click.echo(f"matter {matter_cms_id} is on legal hold: its messages will not be purged")
    else:
        click.echo(f"matter {matter_cms_id} is no longer on legal hold")


@hold.command("set")
@click.option("--matter", "matter_cms_id", required=True, help="The matter's CMS id.")
@click.option("--reason", required=True, help="Why (kept in the hold ledger and the audit log).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def hold_set(ctx: Context, matter_cms_id: str, reason: str, as_json: bool) -> None:
    """Put a matter on legal hold; refused when it already is."""
    _hold_change(ctx, "set", matter_cms_id, reason, as_json)


@hold.command("release")
@click.option("--matter", "matter_cms_id", required=True, help="The matter's CMS id.")
@click.option("--reason", required=True, help="Why (kept in the hold ledger and the audit log).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def hold_release(ctx: Context, matter_cms_id: str, reason: str, as_json: bool) -> None:
    """Release a matter's legal hold; refused when it is not on hold."""
    _hold_change(ctx, "release", matter_cms_id, reason, as_json)


@hold.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def hold_list(ctx: Context, as_json: bool) -> None:
    """Matters on legal hold now."""
    from connector.compliance.retention import holds

    ctx.require_current_store()
    rows = holds(ctx.engine)
    if as_json:
        emit(rows)
        return
    for row in rows:
        click.echo(f"{row['matter_cms_id']:>10}  since {row['since'][:16]}  by {row['actor']}: {row['reason']}")
    click.echo(f"{len(rows)} matters on hold")


@main.group()
def retention() -> None:
    """Retention: purge message bodies and media the CMS has kept for MATTERLINE_RETENTION_DAYS."""


@retention.command("purge")
@click.option("--dry-run", is_flag=True, help="Change nothing; report what a purge would do.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
@handled
def retention_purge(ctx: Context, dry_run: bool, as_json: bool) -> None:
    """Remove bodies and media (keeping metadata and a SHA-256 of each body); held matters are skipped."""
    from connector.compliance.retention import purge

    ctx.require_current_store()
    report = purge(ctx.engine, ctx.settings, dry_run=dry_run, actor=cli_actor())
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


@main.command(name="export")
@click.option("--matter", "matter_cms_id", required=True, help="The matter's CMS id.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="A new or empty directory.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def export_cmd(ctx: Context, matter_cms_id: str, out_dir: str, as_json: bool) -> None:
    """Export a matter's texts as JSON, CSV and a printable HTML transcript, with a SHA-256 manifest (audited)."""
    from connector.compliance.export import ExportError, export_matter

    ctx.require_current_store()
    try:
        result = export_matter(ctx.engine, ctx.settings, matter_cms_id, out_dir, actor=cli_actor())
    except ExportError as exc:
        click.echo(f"matterline: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    if as_json:
        emit(result.to_json())
        return
    click.echo(f"exported {result.messages} messages of matter {matter_cms_id} to {result.out_dir}")
    for f in result.files:
        click.echo(f"  {f.name:<16} {f.bytes:>9} bytes  sha256 {f.sha256}")


def _audit_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "matter_cms_id": row.matter_cms_id,
        "request_id": row.request_id,
        "details": row.details,
        "hash": row.hash,
        "prev_hash": row.prev_hash,
    }


@main.group(name="audit", invoke_without_command=True)
@click.option("--matter", "matter_cms_id", help="Only this matter's entries (CMS id).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N entries (still newest last).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handled
def audit_group(click_ctx: click.Context, matter_cms_id: str | None, limit: int | None, as_json: bool) -> None:
    """The audit log, oldest first: who did what, when, in which matter (`audit verify` checks the chain)."""
    if click_ctx.invoked_subcommand is not None:
        return
    from connector.store.tables import audit_log

    ctx = click_ctx.ensure_object(Context)
    ctx.require_current_store()
    query = select(audit_log)
    if matter_cms_id is not None:
        query = query.where(audit_log.c.matter_cms_id == matter_cms_id)
    with ctx.engine.connect() as conn:
        if limit is None:
            rows = list(conn.execute(query.order_by(audit_log.c.id)))
        else:
            rows = list(reversed(conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit)).all()))
    if as_json:
        emit([_audit_json(row) for row in rows])
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
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@handled
def audit_verify(ctx: Context, expect_head: str | None, as_json: bool) -> None:
    """Recompute the hash chain; exit 1 naming the first entry that was edited, deleted or moved.

    Keep the printed head hash somewhere else (a ticket, the CMS): `--expect-head` then also catches
    entries cut off the end of the log, which a chain alone cannot show."""
    from connector.compliance import audit

    ctx.require_current_store()
    verdict = audit.verify(ctx.engine, expect_head=expect_head)
    if as_json:
        emit(
            {
                "intact": verdict.intact,
                "entries": verdict.entries,
                "broken_id": verdict.broken_id,
                "reason": verdict.reason,
                "head": verdict.head,
            }
        )
    elif verdict.intact:
        click.echo(f"audit log intact: {verdict.entries} entries checked; head {verdict.head}")
    if not verdict.intact:
        where = f"at entry {verdict.broken_id}" if verdict.broken_id is not None else "at its end"
        click.echo(f"matterline: audit log broken {where}: {verdict.reason}", err=True)
        sys.exit(EXIT_ERROR)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@pass_ctx
@handled
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the webhooks and API with the production WSGI server (waitress)."""
    from webhooks import create_app
    from webhooks.server import serve as run

    ctx.settings.require("secret_key", why="by `serve`: it signs sessions and seals stored tokens")
    ctx.require_current_store()
    ctx.note_mapping()
    click.echo(f"serving on http://{host}:{port} (health: /healthz, readiness: /readyz)")
    run(create_app(ctx.settings, ctx.engine), host, port)


@main.command()
@click.option("--once", is_flag=True, help="Run the scripted part and exit instead of serving.")
@click.option("--dir", "workdir", default=".matterline-demo", show_default=True, help="Where the demo store goes.")
@handled
def demo(once: bool, workdir: str) -> None:
    """The demo on the embedded defaults: sandbox CMS, sync into SQLite, the app, CMS webhooks."""
    from pathlib import Path

    from connector.demo import run_demo

    sys.exit(run_demo(once=once, workdir=Path(workdir), echo=click.echo))
