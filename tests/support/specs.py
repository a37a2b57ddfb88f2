"""The vendors' published OpenAPI documents, vendored gzipped in tests/specs so a plain clone checks against them.

Clio's v4 spec and Twilio's Api v2010 spec are read from here, never from outside the repository: a firm
that clones the project has nothing beside it. A missing file is a broken checkout, so it fails loudly
instead of skipping the contract tests.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Final

SPECS: Final = Path(__file__).resolve().parent.parent / "specs"
CLIO: Final = SPECS / "clio-openapi.json.gz"
TWILIO: Final = SPECS / "twilio_api_v2010.json.gz"


def read(path: Path) -> dict[str, Any]:
    """One vendored spec as JSON.

    Raises:
        FileNotFoundError: the file is not in tests/specs (the checkout is incomplete).
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the vendored specs belong to the repository (tests/specs)")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document
