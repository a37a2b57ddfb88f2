"""The faults the Twilio stand-in serves and where they aim by default (message creates)."""

from __future__ import annotations

from typing import Final

from connector.sandbox.faults import Fault, FaultQueue
from connector.sandbox.twilio.constants import MESSAGES_PATH

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
) -> Fault:
    """A `Fault` aimed at message creates by default (the request a worker must never blindly repeat)."""
    return Fault(kind, method=method, path=path, times=times, status=status, delay=delay, retry_after=retry_after)
