"""The privileged summary note for one closed texting window, extracted by rules, not by a model.

The summary is written to the matter as a Note (reference §1.6) next to the transcript. It is work
product a lawyer may rely on and may have to defend, so it is built only from fixed rules over the
window: no network, no randomness, no model. The same window always yields byte-identical text, and
every line can be traced to a sentence in the transcript. The rules are deliberately simple and lean
towards including a sentence (a spare line costs a glance; a missed promise costs a client).

A send that guardrails blocked is reported only as an event with its reason; its body is never read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

from connector.writeback.transcripts import (
    AUTOMATIC_KINDS,
    FAILED_STATUSES,
    URGENT_KIND,
    Window,
    WindowMessage,
    blocked_reason,
    client_label,
    failure,
    one_line,
    ordered,
    period,
    staff_label,
    stamp,
    subject,
    text_lines,
)

HEADLINE: Final = "Privileged & Confidential — Attorney–Client Communication"
NONE: Final = "— none —"
ANSWER_CHARS: Final = 160
"""How much of each firm message the summary quotes: about one SMS segment, enough to recognise it."""

_AUTOMATIC_LABELS: Final = {
    "confirmation": "automatic keyword confirmation",
    "help": "automatic HELP reply",
    "auto_reply": "automatic reply",
}

_GREETING = re.compile(
    r"^(?:(?:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening))\b[^,.!?]{0,30}[,.!]\s*"
    r"|(?:ok|okay|also|and|so|but|sorry|um|yes|no|thanks|thank\s+you)\b[\s,.!]*)+",
    re.IGNORECASE,
)
_REQUEST = re.compile(
    r"^(?:can|could|would|will|is|are|am|was|were|do|does|did|has|have|when|where|what|which|who|whom|whose"
    r"|how|why|should|shall|may|might|please|pls|i\s+need|i\s+want|i'd\s+like|i\s+would\s+like|need"
    r"|let\s+me\s+know|tell\s+me|any\s+(?:update|news|word))\b",
    re.IGNORECASE,
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_COMMITMENT = re.compile(
    r"\b(?:i\s+will|i'll|we\s+will|we'll|i\s+am\s+going\s+to|we\s+are\s+going\s+to"
    r"|will\s+(?:call|send|file|email|text|mail|review|check|prepare|submit|follow\s+up|get\s+back|reach\s+out"
    r"|let\s+you\s+know)"
    r"|get\s+back\s+to\s+you|follow\s+up"
    rf"|by\s+(?:{_WEEKDAY}|tomorrow|tonight|noon|end\s+of\s+(?:the\s+)?(?:day|week)|eod|eow)"
    rf"|(?:on|this|next)\s+{_WEEKDAY}"
    r"|tomorrow|tonight|next\s+(?:week|month)|later\s+today|this\s+(?:afternoon|evening|week)"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
    r"|\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    r"|\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)"
    r"|\d{1,2}:\d{2})",
    re.IGNORECASE,
)
# A full stop after these is part of the word, not the end of a sentence ("Dec. 3", "Dr. Ruiz", "3 p.m.").
_ABBREVIATION = re.compile(
    r"(?:\b(?:mr|mrs|ms|dr|st|jr|sr|vs|atty|esq|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
    r"mon|tue|wed|thu|fri|sat|sun)|\b[a-z]\.[a-z])\.$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s+")


@dataclass(frozen=True, slots=True)
class SummaryFacts:
    """What the summary found, one rendered line per item, in window order."""

    participants: tuple[str, ...]
    client_questions: tuple[str, ...]
    firm_answers: tuple[str, ...]
    commitments: tuple[str, ...]
    escalations: tuple[str, ...]
    guardrail_events: tuple[str, ...]
    unanswered: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SummaryNote:
    """The note to write: its subject, its plain-text body, and the facts behind the body."""

    subject: str
    body: str
    facts: SummaryFacts


def sentences(text: str) -> list[str]:
    """Sentences of a text, one per line break or terminal punctuation, ignoring common abbreviations."""
    found: list[str] = []
    for line in text_lines(text):
        start = 0
        for end in _SENTENCE_END.finditer(line):
            piece = line[start : end.end()].strip()
            if _ABBREVIATION.search(line[start : end.end()].rstrip()):
                continue
            if piece:
                found.append(piece)
            start = end.end()
        tail = line[start:].strip()
        if tail:
            found.append(tail)
    return found


def is_request(sentence: str) -> bool:
    """A question or a request: a question mark, or an opening word that asks for something."""
    if "?" in sentence:
        return True
    return bool(_REQUEST.match(_GREETING.sub("", sentence)))


def is_commitment(sentence: str) -> bool:
    """A sentence that promises an action or names a date or time the client may hold the firm to."""
    return bool(_COMMITMENT.search(sentence.replace("’", "'")))


def _shorten(text: str, limit: int = ANSWER_CHARS) -> str:
    """At most ``limit`` characters, cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"


def _gist(message: WindowMessage) -> str:
    """Whole sentences of a firm message while they fit in ``ANSWER_CHARS``; at least a shortened first one."""
    parts = sentences(message.body)
    if not parts:
        return "(no text)"
    taken = parts[0]
    for part in parts[1:]:
        if len(taken) + 1 + len(part) > ANSWER_CHARS:
            break
        taken = f"{taken} {part}"
    return _shorten(taken)


def _is_human_send(message: WindowMessage) -> bool:
    return message.direction == "outbound" and message.kind not in AUTOMATIC_KINDS and not message.blocked


def _reached_client(message: WindowMessage) -> bool:
    return _is_human_send(message) and message.status not in FAILED_STATUSES


def _section(title: str, items: tuple[str, ...]) -> str:
    return "\n".join([title, *(f"- {item}" for item in items)] if items else [title, NONE])


def _facts(window: Window, zone: ZoneInfo) -> SummaryFacts:
    messages = ordered(window)
    client = client_label(window)
    phone = one_line(window.client_phone)
    participants = [f"{client} (client, {phone})" if client != phone else f"{phone} (client)"]
    staff: list[str] = []
    questions: list[str] = []
    answers: list[str] = []
    commitments: list[str] = []
    escalations: list[str] = []
    events: list[str] = []
    for message in messages:
        when = stamp(message.created_at, zone)
        if message.direction == "inbound":
            if message.blocked:
                continue
            questions += [f"{when} — {s}" for s in sentences(message.body) if is_request(s)]
            if message.kind == URGENT_KIND:
                escalations.append(f"{when} — {client}: {_shorten(one_line(message.body)) or '(no text)'}")
            continue
        who = staff_label(message)
        if message.blocked:
            what = "not sent" if message.status == "canceled" else "blocked"
            events.append(f"{when} — send by {who} {what}: {blocked_reason(message)}")
            continue
        if message.kind in AUTOMATIC_KINDS:
            label = _AUTOMATIC_LABELS.get(message.kind, "automatic reply")
            events.append(f"{when} — {label} sent: “{_shorten(one_line(message.body))}”")
        else:
            if who not in staff:
                staff.append(who)
            undelivered = " (not delivered)" if message.status in FAILED_STATUSES else ""
            answers.append(f"{when} — {who}: {_gist(message)}{undelivered}")
            commitments += [f"{when} — {who}: {s}" for s in sentences(message.body) if is_commitment(s)]
        why = failure(message)
        if why is not None:
            events.append(f"{when} — text from {who} not delivered: {why}")
    participants += [f"{name} (firm)" for name in staff]
    events += [f"{stamp(at, zone)} — {note}" for at, note in sorted(window.guardrail_notes)]
    return SummaryFacts(
        participants=tuple(participants),
        client_questions=tuple(questions),
        firm_answers=tuple(answers),
        commitments=tuple(commitments),
        escalations=tuple(escalations),
        guardrail_events=tuple(events),
        unanswered=_unanswered(window, messages, zone),
    )


def _unanswered(window: Window, messages: tuple[WindowMessage, ...], zone: ZoneInfo) -> tuple[str, ...]:
    """Client texts after the last firm text that reached them.

    Blocked and undelivered sends are not answers (the client never saw them), nor are automatic
    replies; but a client text the system answered at once with a keyword confirmation or HELP reply
    (``STOP``, ``HELP``) was handled and needs no one's attention.
    """
    last = max((i for i, m in enumerate(messages) if _reached_client(m)), default=-1)
    client = client_label(window)
    pending: list[str] = []
    for index in range(last + 1, len(messages)):
        message = messages[index]
        if message.direction != "inbound" or message.blocked:
            continue
        following = messages[index + 1] if index + 1 < len(messages) else None
        if following is not None and following.direction == "outbound" and following.kind in {"confirmation", "help"}:
            continue
        text = _shorten(one_line(message.body)) or "(no text)"
        pending.append(f"{stamp(message.created_at, zone)} — {client}: {text}")
    return tuple(pending)


def summarize(window: Window, zone: ZoneInfo) -> SummaryNote:
    """The window's summary note; client texts intake escalated carry the kind ``urgent``."""
    facts = _facts(window, zone)
    sections = [
        HEADLINE,
        _section("Participants", facts.participants),
        f"Period\n{period(window, zone)}",
        _section("What the client asked", facts.client_questions),
        _section("What the firm answered", facts.firm_answers),
        _section("Follow-ups promised", facts.commitments),
        _section("Escalations", facts.escalations),
        _section("Guardrail events", facts.guardrail_events),
        _section("Still unanswered", facts.unanswered),
    ]
    return SummaryNote(subject(window, zone, "summary"), "\n\n".join(sections), facts)
