"""Where the recorded payloads live: real Clio and Twilio bodies, one file per case, beside the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Final

FIXTURES_ROOT: Final = Path(__file__).resolve().parent.parent / "fixtures"
