"""The refusals the sandbox CMS raises while it works, so the app can answer each as Clio would."""

from __future__ import annotations


class SandboxError(Exception):
    """A request the API refuses; carries the HTTP status and Clio's error message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RecordNotFound(KeyError):
    """A Python-side mutation named a record the sandbox does not hold."""
