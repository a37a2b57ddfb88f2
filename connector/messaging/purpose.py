"""Why a text was sent: every text records one, so a firm can show it texts for client operations only.

A conversation is staff and client talking; a reminder is one the firm's reminder rules planned from the CMS
calendar; a notice is any other one-way text (Matterline's confirmations and auto replies, or a template a
person chose to send as a notice). Reminders and notices are only ever written from templates.
"""

from __future__ import annotations

from typing import Final

CONVERSATION: Final = "conversation"
REMINDER: Final = "reminder"
NOTICE: Final = "notice"
PURPOSES: Final = (CONVERSATION, REMINDER, NOTICE)

# How the pages label a text whose purpose is not a conversation.
LABELS: Final = {REMINDER: "Reminder", NOTICE: "Notice"}


def of_kind(kind: str) -> str:
    """The purpose of a text Matterline stores without being told one: staff texts are conversation, and
    its own texts (a STOP confirmation, a HELP answer, an auto reply, an emergency reply) are notices."""
    return CONVERSATION if kind in ("message", "urgent") else NOTICE
