"""The content rules in force: an admin's saved version, else the firm's rules file, else the shipped rules.

A version saved on the admin's rules page (checked before it was saved) is in force in every process at its
next send. Without one, the rules file is read.

A firm edits its rules file while Matterline runs. The file is read again when it changes; if the new
version is broken, every error is logged (one line, each with its JSON path), and the rules already in
force stay in force. A file broken before this process first read it fails closed: no send goes unchecked.
"""

from __future__ import annotations

import os
import threading

from sqlalchemy import Connection, Engine

from connector.const import LOGGER
from connector.guardrails import content
from connector.settings import Settings
from connector.store.documents import InForce

__all__ = ["CONTENT_RULES", "content_rules"]

# The firm_documents kind of the rules edited on the admin pages.
CONTENT_RULES = "content_rules"
_STORED: InForce[content.RuleSet] = InForce(CONTENT_RULES, lambda text: content.parse_rules(text, "saved rules"))


class _RulesInForce:
    """The content rules in force for one rules file, re-read when the file changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[str | None, tuple[float | None, content.RuleSet]] = {}

    def get(self, path: str | None) -> content.RuleSet:
        if path is None:
            return content.default_rules()
        try:
            mtime: float | None = os.stat(path).st_mtime
        except OSError:
            mtime = None
        with self._lock:
            known = self._loaded.get(path)
            if known is not None and known[0] == mtime:
                return known[1]
            try:
                rules = content.load_rules(path)
            except content.RulesError as exc:
                if known is None:
                    raise
                LOGGER.error("content rules %s not reloaded, the rules in force stay: %s", path, "; ".join(exc.errors))
                self._loaded[path] = (mtime, known[1])
                return known[1]
            self._loaded[path] = (mtime, rules)
            return rules


_RULES = _RulesInForce()


def content_rules(settings: Settings, store: Engine | Connection) -> content.RuleSet:
    """The rules a send is checked against.

    Raises:
        content.RulesError: the firm's rules file is broken and no earlier version of it is in force.
    """
    saved = _STORED.get(store)
    return saved if saved is not None else _RULES.get(settings.content_rules_file)
