"""The faults the Twilio stand-in serves, where they aim by default, and the answers Twilio would give."""

from __future__ import annotations

from typing import Final

from werkzeug.wrappers import Response

from connector.sandbox.faults import Fault, FaultQueue, garbled_response
from connector.sandbox.twilio.constants import MESSAGES_PATH
from connector.sandbox.twilio.responses import twilio_error_response

FAULT_KINDS_SERVED: Final = frozenset({"status", "rate_limit", "slow", "drop", "applied_lost", "html", "broken_json"})


class TwilioFaultQueue(FaultQueue):
    """The shared fault queue, refusing faults that could never fire against the Twilio stand-in."""

    def add(self, fault: Fault) -> None:
        """Arm a fault; its path is relative to `/2010-04-01/Accounts/{AccountSid}` (e.g. `/Messages.json`)."""
        if fault.kind not in FAULT_KINDS_SERVED:
            raise ValueError(f"the Twilio stand-in does not serve {fault.kind!r} faults")
        if not fault.path.startswith(("/Messages", "*")):
            raise ValueError(
                f"fault path {fault.path!r} never matches: paths are relative to "
                "/2010-04-01/Accounts/{AccountSid}, e.g. /Messages.json"
            )
        super().add(fault)


def twilio_fault(
    kind: str,
    *,
    method: str = "POST",
    path: str = MESSAGES_PATH,
    times: int = 1,
    status: int = 500,
    delay: float = 0.0,
    retry_after: int = 1,
    probability: float = 1.0,
    seed: int | None = None,
) -> Fault:
    """A `Fault` aimed at message creates by default (the request a worker must never blindly repeat)."""
    return Fault(
        kind,
        method=method,
        path=path,
        times=times,
        status=status,
        delay=delay,
        retry_after=retry_after,
        probability=probability,
        seed=seed,
    )


def twilio_fault_response(fault: Fault) -> Response | None:
    """Twilio's answer for kinds that never reach the API; None for kinds that let the request through."""
    if fault.kind == "rate_limit":
        return twilio_error_response(429, 20429, "Too Many Requests", {"Retry-After": str(fault.retry_after)})
    if fault.kind == "status":
        # Twilio's generic codes mirror the HTTP status: 20500, 20503, ...
        return twilio_error_response(fault.status, 20000 + fault.status, f"Sandbox fault: injected {fault.status}")
    return garbled_response(fault)
