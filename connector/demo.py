"""The demo on the embedded defaults: the sandbox CMS, a SQLite store, the app, and CMS webhooks.

It runs the same code a firm runs (settings, client, sync, subscriptions, the Flask app on waitress);
only the CMS is the local sandbox.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, func, select

from connector import queries, services
from connector.cms.connect import build_client
from connector.compliance import audit
from connector.errors import MatterlineError
from connector.guardrails import pipeline
from connector.jobs.worker import Worker
from connector.messaging import filing, intake
from connector.messaging.sender import send_due
from connector.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_TOKEN,
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    SANDBOX_FIRM_NUMBER,
    ClioState,
    SandboxServer,
    TwilioServer,
    TwilioState,
    generate_firm,
)
from connector.settings import Settings, load_settings
from connector.staff.users import Actor, User
from connector.store import make_engine, upgrade
from connector.store.engine import utcnow
from connector.store.tables import contact_phones, contacts, matters, messages, threads
from connector.sync.subscriptions import renew
from connector.sync.syncer import Syncer
from connector.writeback import writer
from mappings import load_mapping
from webhooks import create_app
from webhooks.errors import STATUS
from webhooks.server import ServerThread

DEMO_CONTACTS = 600
DEMO_MATTERS = 400
DEMO_SEED = 2026
# How often the demo's worker runs a round while it keeps serving (the `worker` command's default).
WORKER_EVERY = 2.0

Echo = Callable[[str], None]


def _settings(workdir: Path, cms: SandboxServer, twilio: TwilioServer) -> Settings:
    return load_settings(
        {
            "TWILIO_ACCOUNT_SID": SANDBOX_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": SANDBOX_AUTH_TOKEN,
            "MATTERLINE_TWILIO_API_URL": twilio.origin,
            "MATTERLINE_FIRM_NUMBERS": SANDBOX_FIRM_NUMBER,
            "MATTERLINE_FIRM_NAME": "Sandbox Law Group",
            "MATTERLINE_DATABASE_URL": f"sqlite:///{workdir / 'matterline-demo.db'}",
            "MATTERLINE_CMS": "clio",
            "MATTERLINE_CMS_BASE_URL": cms.base_url,
            "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN,
            "MATTERLINE_CMS_CLIENT_ID": DEFAULT_CLIENT_ID,
            "MATTERLINE_CMS_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "MATTERLINE_CMS_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN,
            "MATTERLINE_SECRET_KEY": secrets.token_urlsafe(32),
            "MATTERLINE_QUIET_HOURS": _shut_window(),
        },
        env_file=None,
    )


def _shut_window(now: datetime | None = None) -> str:
    """A quiet-hours window that is shut right now in every US time zone, so the demo always holds a text.

    Local time runs from UTC-4 (Eastern daylight) to UTC-10 (Hawaii): the hours from two after the UTC
    hour minus four up to fifteen later are ahead of all of them. A window never spans midnight, so it is
    the longer part of that stretch on one side of it (at least 7 hours: enough to open in two
    neighbouring zones at once, which a number whose area code spans them needs).
    """
    start = ((now or datetime.now(UTC)).hour - 2) % 24
    end = start + 15
    if end <= 24:
        return f"{start:02d}:00-" + ("23:59" if end == 24 else f"{end:02d}:00")
    if 24 - start >= end - 24:
        return f"{start:02d}:00-23:59"
    return f"00:00-{end - 24:02d}:00"


@dataclass(frozen=True, slots=True)
class DemoPerson:
    """A person who signs in to the demo's pages; the password is made for this run and store only."""

    user: User
    password: str


def _people(engine: Engine) -> tuple[DemoPerson, DemoPerson]:
    """The demo's attorney and admin, each with a password generated for this run (demo only)."""
    made = []
    for role, name, email in (
        ("attorney", "Avery Counsel", "avery@sandboxlaw.example"),
        ("admin", "Ada Admin", "ada@sandboxlaw.example"),
    ):
        password = secrets.token_urlsafe(12)
        added = services.users.add(engine, name=name, email=email, role=role, actor=Actor("demo"), password=password)
        made.append(DemoPerson(added.user, password))
    return made[0], made[1]


def _fresh_store(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (workdir / f"matterline-demo.db{suffix}").unlink(missing_ok=True)


def _contact(engine: Engine, cms_id: int) -> tuple[str, list[str]]:
    with engine.connect() as conn:
        row = conn.execute(select(contacts.c.id, contacts.c.name).where(contacts.c.cms_id == str(cms_id))).one()
        phones = conn.execute(
            select(contact_phones.c.e164, contact_phones.c.raw)
            .where(contact_phones.c.contact_id == row.id)
            .order_by(contact_phones.c.position)
        ).all()
    return row.name, [p.e164 or f"{p.raw!r} (unreadable)" for p in phones]


def _matter_status(engine: Engine, cms_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(matters.c.status).where(matters.c.cms_id == str(cms_id))).scalar_one())


def _highlights(engine: Engine, echo: Echo) -> None:
    with engine.connect() as conn:
        shared = conn.execute(
            select(contact_phones.c.e164, func.count())
            .where(contact_phones.c.e164.is_not(None))
            .group_by(contact_phones.c.e164)
            .having(func.count() > 1)
            .limit(1)
        ).first()
        busy = conn.execute(
            select(matters.c.client_cms_id, func.count())
            .where(matters.c.status == "open")
            .group_by(matters.c.client_cms_id)
            .having(func.count() > 1)
            .limit(1)
        ).first()
        sample = conn.execute(
            select(contacts.c.cms_id, contacts.c.name)
            .join(contact_phones, contact_phones.c.contact_id == contacts.c.id)
            .where(contact_phones.c.e164.is_(None))
            .limit(1)
        ).first()
    if shared is not None:
        echo(f"  a family number shared by {shared[1]} contacts: {shared[0]} (texts from it go to 'needs filing')")
    if busy is not None:
        echo(f"  client {busy[0]} has {busy[1]} open matters (a text from them is filed by rule, never by guess)")
    if sample is not None:
        name, phones = _contact(engine, int(sample.cms_id))
        echo(f"  {name} (contact {sample.cms_id}): {', '.join(phones)}")


def run_demo(*, once: bool, workdir: Path, echo: Echo = print) -> int:
    """Run the scripted demo; keep serving afterwards unless `once`. Returns the exit code."""
    _fresh_store(workdir)
    state = ClioState(generate_firm(DEMO_CONTACTS, DEMO_MATTERS, seed=DEMO_SEED))
    state.allow_http_webhooks = True  # the demo's app listens on plain http://127.0.0.1

    with SandboxServer(state) as cms, TwilioServer(TwilioState(incoming_numbers=(SANDBOX_FIRM_NUMBER,))) as twilio:
        echo(f"1. Sandbox CMS (speaks Clio v4): {cms.base_url}  ({DEMO_CONTACTS} contacts, {DEMO_MATTERS} matters)")
        echo(f"   Twilio stand-in: {twilio.origin}  (firm number {SANDBOX_FIRM_NUMBER})")
        settings = _settings(workdir, cms, twilio)
        mapping = load_mapping(settings.cms)
        engine = make_engine(settings.database_url)
        audit.use_key(engine, settings.audit_secret)
        upgrade(engine)
        echo(f"2. Store created: {workdir / 'matterline-demo.db'} (SQLite, WAL)")
        client = build_client(settings, mapping, engine)
        syncer = Syncer(engine, client, mapping, default_region=settings.default_region, progress=False)
        echo("3. Full sync from the CMS:")
        for line in syncer.run(full=True).lines():
            echo("   " + line)
        _highlights(engine, echo)
        app = create_app(settings, engine)
        with ServerThread(app) as web:
            ready = requests.get(f"{web.url}/readyz", timeout=5).json()
            echo(f"4. The app is serving at {web.url}  (/healthz, /readyz: {ready.get('status')})")
            actions = renew(engine, client, mapping, public_url=web.url, secret_key=settings.secret_key)
            handshakes = state.deliver_webhooks()
            created = ", ".join(f"{a.model} #{a.cms_id}" for a in actions)
            echo(f"5. CMS webhooks subscribed ({created}); handshakes answered: {[s for _, _, s in handshakes]}")
            _edit_in_clio(state, engine, echo)
            echo("7. Incremental sync (a safety net under the webhooks):")
            for line in syncer.run().lines():
                echo("   " + line)
            served = replace(settings, public_url=web.url)
            attorney, admin = _people(engine)
            _texting(engine, served, twilio, web.url, attorney.user, echo)
            _write_back(engine, settings, mapping, client, cms, echo)
            _more_states(engine, served, state, twilio, web.url, (mapping, client), attorney.user, echo)
            echo("")
            echo("Where to look:")
            echo(f"  the inbox:        {web.url}/inbox")
            echo("  sign in as (demo-only people and passwords, made for this run and this store):")
            for person in (attorney, admin):
                echo(f"    {person.user.role:<9} {person.user.email}  password: {person.password}")
            echo(f"  the app:          {web.url}/healthz  {web.url}/readyz")
            echo(f"  the sandbox CMS:  {cms.base_url}/contacts.json?fields=id,name,phone_numbers{{number}}")
            echo(f"                    (header: Authorization: Bearer {DEFAULT_TOKEN})")
            echo(f"  the Twilio stand-in: {twilio.origin}/_sandbox/messages")
            echo(f"  the store:        {workdir / 'matterline-demo.db'}")
            echo(
                "  the same data:    MATTERLINE_DATABASE_URL=sqlite:///"
                f"{workdir / 'matterline-demo.db'} matterline clients --json"
            )
            if once:
                engine.dispose()
                return 0
            stop = threading.Event()
            worker = _keep_working(Worker(engine, served, lambda: client), stop)
            echo(f"Serving, with the worker running every {WORKER_EVERY:g} s, until Ctrl-C.")
            try:
                _wait_for_interrupt()
            finally:
                stop.set()
                worker.join(30)
        engine.dispose()
    return 0


def _edit_in_clio(state: ClioState, engine: Engine, echo: Echo) -> None:
    contact: dict[str, Any] = state.find("contacts", lambda c: bool(c.get("is_client")))[0]
    matter: dict[str, Any] = state.find("matters", lambda m: m.get("status") == "Open")[0]
    before_name, before_phones = _contact(engine, int(contact["id"]))
    state.update_contact(int(contact["id"]), name=f"{before_name} (updated)")
    state.set_phone_numbers(int(contact["id"]), ["617.867.5309", *[p["number"] for p in contact["phone_numbers"]]])
    state.close_matter(int(matter["id"]))
    deliveries = state.deliver_webhooks()
    after_name, after_phones = _contact(engine, int(contact["id"]))
    echo(f"6. Staff edit Clio; {len(deliveries)} signed webhook deliveries -> statuses {[s for _, _, s in deliveries]}")
    echo(f"   contact {contact['id']}: {before_name} {before_phones}")
    echo(f"                -> {after_name} {after_phones}")
    echo(f"   matter {matter['display_number']}: open -> {_matter_status(engine, int(matter['id']))}")


def _texting_clients(engine: Engine, wanted: int = 3) -> list[tuple[str, str, str, str]]:
    """Clients whose number is theirs alone and who have exactly one open matter: (phone, name, matter, matter id)."""
    found: list[tuple[str, str, str, str]] = []
    with engine.connect() as conn:
        for phone in conn.execute(
            select(contact_phones.c.e164)
            .where(contact_phones.c.e164.like("+1%"))
            .group_by(contact_phones.c.e164)
            .having(func.count() == 1)
            .order_by(contact_phones.c.e164)
            .limit(200)
        ).scalars():
            owners = filing.owners_of(conn, phone)
            live = conn.execute(
                select(matters.c.cms_id, matters.c.display_number).where(
                    matters.c.client_cms_id == owners[0].client_key, matters.c.status.in_(filing.LIVE_STATUSES)
                )
            ).all()
            if len(live) == 1:
                found.append((phone, owners[0].name, live[0].display_number, str(live[0].cms_id)))
                if len(found) == wanted:
                    break
    return found


def _texting_client(engine: Engine) -> tuple[str, str, str] | None:
    """The first of `_texting_clients`: (phone, name, matter)."""
    found = _texting_clients(engine, 1)
    return found[0][:3] if found else None


def _texting(
    engine: Engine, settings: Settings, twilio: TwilioServer, app_url: str, attorney: User, echo: Echo
) -> None:
    """A client texts in, staff answer from the matter, Twilio reports delivery, the client says STOP."""
    picked = _texting_client(engine)
    if picked is None:
        echo("8. (no client with a single open matter in this firm; skipping the texting part)")
        return
    phone, name, matter_number = picked
    sms_url = f"{app_url}/webhooks/twilio/sms"
    first = name.split()[0]
    answer = twilio.state.inbound(
        sms_url, from_=phone, to=SANDBOX_FIRM_NUMBER, body=f"Hi, it's {first}. Is my hearing still on Tuesday?"
    )
    intake.drain(engine, settings)  # the worker's intake: thread and file what the webhook stored
    with engine.connect() as conn:
        thread = conn.execute(select(threads).where(threads.c.client_phone == phone)).one()
    echo(
        f"8. {name} ({phone}) texts the firm -> HTTP {answer.status_code}; filed to {matter_number} "
        f"by rule '{thread.filing_rule}'"
    )
    stranger = twilio.state.inbound(
        sms_url, from_="+12025550143", to=SANDBOX_FIRM_NUMBER, body="Hello? Someone gave me this number about my case"
    )
    intake.drain(engine, settings)
    echo(f"   an unknown number texts too -> HTTP {stranger.status_code}; kept in 'needs filing'")
    echo(
        f"   the hearing question is urgent: thread flagged {bool(thread.urgent)}; a task for the responsible "
        "attorney is queued for the CMS (and after office hours the client gets the emergency instructions)"
    )
    as_attorney = Actor.of(attorney)
    try:
        services.messages.send(
            engine,
            settings,
            thread_id=thread.id,
            actor=as_attorney,
            body="They offered $45,000 to settle; my SSN note: 123-45-6789",
        )
    except MatterlineError as exc:
        rules = sorted({f["rule"] for f in exc.details["findings"]})
        echo(f"   a draft with a settlement figure and an SSN is refused: {STATUS[exc.kind]} {exc.code} {rules}")
    with engine.connect() as conn:
        held = pipeline.hold_until(conn, settings, phone, utcnow())
    reason = "answering the client's question about Tuesday's hearing" if held else None
    queued = services.messages.send(
        engine,
        settings,
        thread_id=thread.id,
        actor=as_attorney,
        body="Yes - Tuesday 9:30am, Courtroom 4B. Bring your ID and arrive 15 minutes early.",
        quiet_hours_reason=reason,
    )
    if held:
        echo(f"   it is quiet hours where the client lives; the attorney sends anyway, with a reason: {reason!r}")
    counts = send_due(engine, settings)
    callbacks = twilio.state.deliver_callbacks(shuffle=True, seed=1)
    with engine.connect() as conn:
        reply = conn.execute(select(messages).where(messages.c.id == queued.id)).one()
    echo(
        f"9. {attorney.name} replies from the matter: {queued.segments} segment ({queued.encoding}); "
        f"worker sent {counts.sent}; Twilio callbacks {[status for _, status, _ in callbacks]} "
        f"-> status '{reply.status}'"
    )
    twilio.state.inbound(sms_url, from_=phone, to=SANDBOX_FIRM_NUMBER, body="STOP")
    try:
        services.messages.send(engine, settings, thread_id=thread.id, body="One more thing...", actor=as_attorney)
    except MatterlineError as exc:
        echo(f"10. {first} texts STOP; the next send is refused: {STATUS[exc.kind]} {exc.code}")


def _write_back(engine: Engine, settings: Settings, mapping: Any, client: Any, cms: SandboxServer, echo: Echo) -> None:
    """The conversation closes; its transcript and privileged summary land on the matter in the CMS."""
    closed = services.threads.close_windows(engine, settings, actor=Actor("demo"))
    counts = writer.run_due(engine, settings, mapping, client)
    echo(f"11. {len(closed)} conversation window(s) closed; write-back to the CMS: {counts.written} records written")
    for row in queries.writebacks.listing(engine, state="written"):
        if row.kind == "transcript":
            where = f"communications.json?matter_id={row.matter_cms_id}&fields=id,subject,body"
        elif row.kind == "task":
            where = f"tasks.json?matter_id={row.matter_cms_id}&fields=id,name,priority,due_at"
        else:
            where = f"notes.json?type=Matter&matter_id={row.matter_cms_id}&fields=id,subject,detail"
        echo(f"    {row.kind:<10} #{row.cms_record_id} on matter {row.matter_cms_id}: {cms.base_url}/{where}")


def _more_states(
    engine: Engine,
    settings: Settings,
    state: ClioState,
    twilio: TwilioServer,
    app_url: str,
    deps: tuple[Any, Any],
    attorney: User,
    echo: Echo,
) -> None:
    """A text held for quiet hours and a write-back dead letter, so the inbox shows every state."""
    mapping, client = deps
    picked = _texting_clients(engine)[1:]
    if len(picked) < 2:
        echo("12. (too few clients with a single open matter; skipping the held text and the dead letter)")
        return
    (held_phone, held_name, held_matter, held_id), (phone, name, matter_number, matter_id) = picked
    try:
        services.consents.record(
            engine, settings, held_phone, method="engagement_letter", actor=Actor.of(attorney), matter_cms_id=held_id
        )
        held = services.messages.send(
            engine,
            settings,
            matter_cms_id=held_id,
            actor=Actor.of(attorney),
            body="Your documents are ready to sign at the office; no rush.",
        )
        if held.scheduled_for is None:
            echo(f"12. a text to {held_name} ({held_matter}) was queued at once (not in their quiet hours)")
        else:
            until = held.scheduled_for.astimezone(settings.zone)
            echo(f"12. a text to {held_name} ({held_matter}) waits for their quiet hours: held until {until:%H:%M %Z}")
    except MatterlineError as exc:
        echo(f"12. a text to {held_name} ({held_matter}) is refused: {STATUS[exc.kind]} {exc.code}")
    twilio.state.inbound(
        f"{app_url}/webhooks/twilio/sms",
        from_=phone,
        to=SANDBOX_FIRM_NUMBER,
        body="My hearing is tomorrow morning and I still have no lawyer there, please call me",
    )
    intake.drain(engine, settings)
    state.delete_matter(int(matter_id))  # before the worker writes the urgent task to it
    state.deliver_webhooks()
    counts = writer.run_due(engine, settings, mapping, client)
    dead = [row for row in queries.writebacks.listing(engine, state="dead") if row.matter_cms_id == matter_id]
    echo(
        f"13. {name} texts an urgent question on {matter_number}; the matter is deleted in Clio before its task is "
        f"written: {counts.dead} dead letter(s) ({dead[0].last_error if dead else 'none'})"
    )


def _keep_working(worker: Worker, stop: threading.Event) -> threading.Thread:
    """The worker's rounds in the background while the demo serves, as `matterline worker` would run them."""

    def loop() -> None:
        while not stop.wait(WORKER_EVERY):
            worker.round()

    thread = threading.Thread(target=loop, name="demo-worker", daemon=True)
    thread.start()
    return thread


def _wait_for_interrupt() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return
