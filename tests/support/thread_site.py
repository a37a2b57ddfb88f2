"""The thread page's tests' firm: the real server with the Twilio stand-in, people of each role, and texts
coming in through the signed Twilio webhook and the worker's intake step."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select

from connector import services
from connector.messaging import intake
from connector.messaging.sender import send_due
from connector.sandbox import TwilioServer, TwilioState
from connector.settings import Settings
from connector.staff.users import Actor, User
from connector.store.tables import messages
from tests.support.firm import FIRM_NUMBER, seed, via_twilio
from webhooks import create_app
from webhooks.server import ServerThread

PASSWORD = "correct horse battery"
SECRET = "a test secret key, long enough"
OPERATOR = Actor("operator:root")


@dataclass
class Site:
    url: str
    engine: Engine
    twilio: TwilioServer
    settings: Settings
    people: dict[str, User]

    def text_in(self, phone: str, body: str = "Hello", media: Sequence[tuple[str, bytes]] = ()) -> int:
        """A text from `phone` through the signed webhook, taken in by the worker's intake; its thread id."""
        answer = self.twilio.state.inbound(self.url + "/webhooks/twilio/sms", phone, FIRM_NUMBER, body, media)
        assert answer.status_code == 200, answer.text
        intake.drain(self.engine, self.settings)
        with self.engine.connect() as conn:
            thread_id = conn.execute(
                select(messages.c.thread_id).where(messages.c.from_number == phone).order_by(messages.c.id.desc())
            ).scalar()
        assert thread_id is not None
        return int(thread_id)

    def send_due(self) -> int:
        """The worker's send step: every due text goes to the Twilio stand-in."""
        return send_due(self.engine, self.settings).sent

    def sent_to(self, phone: str) -> list[Any]:
        return list(self.twilio.state.messages(to=phone))


@contextmanager
def thread_site(engine: Engine, *, consent: bool = True, **env: str) -> Iterator[Site]:
    """The firm (tests/support/firm.py) served for real, sending through the Twilio stand-in."""
    seed(engine, consent=consent)
    people = {}
    for name, email, role in (
        ("Avery Attorney", "avery@firm.example", "attorney"),
        ("Pat Paralegal", "pat@firm.example", "staff"),
        ("Sam Staff", "sam@firm.example", "staff"),
    ):
        added = services.users.add(engine, name=name, email=email, role=role, actor=OPERATOR, password=PASSWORD)
        people[email.split("@")[0]] = added.user
    with TwilioServer(TwilioState(incoming_numbers=(FIRM_NUMBER,))) as twilio:
        # Open around the clock unless a test says otherwise: after 17:00 in the firm's zone an urgent text gets
        # the emergency reply, a message no page test sends (tests/messaging/test_urgent.py covers that reply).
        env = {"MATTERLINE_OFFICE_HOURS": "Mon-Sun 00:00-23:59", **env}
        settings = via_twilio(twilio, MATTERLINE_SECRET_KEY=SECRET, **env)
        with ServerThread(create_app(settings, engine)) as server:
            yield Site(server.url, engine, twilio, settings, people)


def sign_in(page: Page, site: Site, who: str = "pat", then: str = "/inbox") -> None:
    """Sign `who` in and land on `then`."""
    page.goto(site.url + "/signin?next=" + then)
    page.get_by_label("Email").fill(f"{who}@firm.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(then) + "$"))
    # The URL changes before the page's scripts have run: typing sooner would reach no htmx listener.
    page.wait_for_load_state("load")
