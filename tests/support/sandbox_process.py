"""Run the sandbox CMS in its own process, so a benchmark measures Matterline's memory and CPU alone."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests


@contextmanager
def sandbox_process(contacts: int, matters: int, *extra: str) -> Iterator[str]:
    """Start `python -m connector.sandbox`, yield its API base URL, stop it afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector.sandbox", "--contacts", str(contacts), "--matters", str(matters), *extra],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise RuntimeError(f"the sandbox did not start: {base_url!r}")
        yield base_url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def control(base_url: str, path: str, payload: dict[str, Any] | None = None) -> Any:
    """Call the sandbox's /_sandbox control endpoints."""
    origin = base_url.split("/api/v4")[0]
    if payload is None:
        response = requests.get(f"{origin}/_sandbox/{path}", timeout=60)
    else:
        response = requests.post(f"{origin}/_sandbox/{path}", json=payload, timeout=60)
    response.raise_for_status()
    return response.json()["result"]
