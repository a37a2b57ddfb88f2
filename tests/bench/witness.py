"""The Twilio stand-in as the fault run's witness: when each create reached it and when each message was made.

Twilio's own record keeps whole seconds, too coarse to say whether a text went out before or after a STOP
was answered in the same second. This stand-in notes both moments on the wall clock the benchmark reads
too (it serves from threads of the benchmark's process): when the request arrived (before any injected
delay) and when the message was stored. It also counts requests still being served, so the count waits
for a slow create that lands after its client gave up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connector.sandbox import TwilioServer, TwilioState

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


@dataclass(frozen=True, slots=True)
class Created:
    """One message the stand-in made: its SID, recipient and body, and the two moments (epoch seconds)."""

    sid: str
    to: str
    body: str
    arrived: float
    made: float


class WitnessState(TwilioState):
    """A sandbox account that keeps, per created message, when its request arrived and when it was made."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._arrivals = threading.local()
        self._witness_lock = threading.Lock()
        self.created: list[Created] = []
        self.in_flight = 0

    def arrived(self, moment: float) -> None:
        """The serving thread's request reached the stand-in at `moment`."""
        self._arrivals.moment = moment

    def create_message(self, form: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """Twilio's create, then a note of the moments (a refused create raises and leaves none)."""
        answer = super().create_message(form)
        made = time.time()
        note = Created(
            str(answer["sid"]), str(answer["to"]), str(answer["body"]), getattr(self._arrivals, "moment", made), made
        )
        with self._witness_lock:
            self.created.append(note)
        return answer

    def serving(self, delta: int) -> None:
        """One more (+1) or one fewer (-1) request being served."""
        with self._witness_lock:
            self.in_flight += delta


class WitnessServer(TwilioServer):
    """The witness stand-in on a real socket; every request is timed on arrival, before any fault fires."""

    thread_prefix = "sandbox-twilio-witness"

    def __init__(self, state: WitnessState) -> None:
        super().__init__(state)
        self.witness = state

    def make_app(self) -> WSGIApplication:
        """The stand-in's app behind a layer that notes the arrival and counts the request while it is served."""
        inner = super().make_app()
        witness = self.witness

        def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            witness.arrived(time.time())
            witness.serving(+1)
            try:
                return list(inner(environ, start_response))
            finally:
                witness.serving(-1)

        return app

    def settle(self, seconds: float) -> bool:
        """Wait up to `seconds` until no request is being served; True when none is."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.witness.in_flight == 0:
                return True
            time.sleep(0.1)
        return self.witness.in_flight == 0


def creates_by_body(created: Iterable[Created]) -> dict[str, list[Created]]:
    """The stand-in's creates grouped by body (each queued text in the run has a body of its own)."""
    grouped: dict[str, list[Created]] = {}
    for note in created:
        grouped.setdefault(note.body, []).append(note)
    return grouped
