"""`/api/messages/<id>/triage` and `/api/triage/corrections`: what triage decided about a client text and why,
staff saying it was wrong, and the corrected texts exported for retraining."""

from __future__ import annotations

from typing import Final

from flask import Response

from connector import queries, services
from connector.queries.triage import TriageView
from connector.staff.users import ADMIN_ROLES
from connector.triage.corpus import CATEGORIES
from webhooks.api.bodies import TriageCorrectionBody
from webhooks.api.routing import Call, Route, json_response
from webhooks.state import app_state

__all__ = ["CORRECTIONS_SCHEMA", "ROUTES"]

_ONE: Final = {"triage": TriageView}
_LABEL: Final = (
    "`urgent`, `category` and `situation` are the text's label now: the newest correction's when staff made "
    "one, else triage's own (`decided_urgent`, `decided_category`)."
)

# The export's answer, spelt out: a corrected text's `received_at` is the client's local time with no offset
# (what its date words are read against, as in the corpus), which the generated `date-time` would misstate.
_TEXT: Final = {"type": "string"}
CORRECTIONS_SCHEMA: Final = {
    "type": "object",
    "required": ["corrections"],
    "additionalProperties": False,
    "properties": {
        "corrections": {
            "type": "array",
            "items": {
                "type": "object",
                "description": "A corrected text as retraining reads it: the corpus's fields, labelled by staff.",
                "required": [
                    "id",
                    "text",
                    "urgent",
                    "category",
                    "received_at",
                    "corrected_by",
                    "corrected_at",
                    "was_urgent",
                    "version",
                ],
                "additionalProperties": False,
                "properties": {
                    "id": {**_TEXT, "description": "`msg-` and the message id."},
                    "text": {**_TEXT, "description": "What the client wrote."},
                    "urgent": {"type": "boolean"},
                    "category": {
                        **_TEXT,
                        "enum": list(CATEGORIES),
                        "description": "An urgent text's situation; `none` for a text that is not urgent.",
                    },
                    "received_at": {
                        **_TEXT,
                        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$",
                        "description": "When it arrived, in the client's local time, without an offset.",
                    },
                    "corrected_by": {**_TEXT, "description": "The person's name (an operator's label)."},
                    "corrected_at": {**_TEXT, "format": "date-time"},
                    "was_urgent": {"type": "boolean", "description": "Whether it was flagged when corrected."},
                    "version": {**_TEXT, "description": "The model that decided it (`rules`: the rules did)."},
                },
            },
        }
    },
}


def _get(call: Call, message_id: int) -> Response:
    """Triage's decision on one client text, why it decided so, and every correction staff made to it."""
    return json_response({"triage": queries.triage.require(app_state().engine, message_id)})


def _correct(call: Call, message_id: int) -> Response:
    """Say whether the text is urgent, against what triage decided; the thread and the attorney follow at once."""
    state = app_state()
    view = services.triage.correct(
        state.engine,
        state.settings,
        message_id,
        urgent=call.body["urgent"],
        category=call.body["category"],
        note=call.body["note"],
        actor=call.actor,
    )
    return json_response({"triage": view})


def _corrections(call: Call) -> Response:
    """Every text staff corrected, labelled as they said, for retraining the model; audited as an export."""
    state = app_state()
    found = services.triage.export_corrections(state.engine, state.settings, actor=call.actor)
    return json_response({"corrections": found})


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "GET",
        "/messages/<int:message_id>/triage",
        _get,
        "getTriage",
        "Why a client text was (or was not) flagged urgent",
        (200, "The decision, its reasons, and the corrections, oldest first.", _ONE),
        description=(
            f"{_LABEL} `reasons` are the strongest words or signals behind the decision as a person reads them; "
            "`date_read` is the date the text names, read against when it arrived in the client's zone; "
            "`probability` is null when a rule decided without the model; `version` names the model (`rules` when "
            "the model file could not be read). 404 for a text the firm sent, or one taken in before decisions "
            "were kept."
        ),
        errors=(404,),
        tags=("triage",),
    ),
    Route(
        "POST",
        "/messages/<int:message_id>/triage",
        _correct,
        "correctTriage",
        "Correct triage on a client text",
        (200, "The decision with this correction last; the label is the correction's.", _ONE),
        description=(
            "Every correction is kept with who made it and when. `urgent: true` flags the thread and, when it is "
            "filed to a matter, tasks the matter's attorney in the CMS as triage would have (once per thread per "
            "day); `urgent: false` clears the thread's flag unless another of its texts is still urgent. The "
            "corrected texts are what `GET /triage/corrections` exports for retraining. Audited as "
            "`triage_corrected` (the label, never the text or the note). 422 `category_needs_urgent` for a "
            "category on a text that is not urgent."
        ),
        body=TriageCorrectionBody,
        errors=(404, 422),
        tags=("triage",),
    ),
    Route(
        "GET",
        "/triage/corrections",
        _corrections,
        "listTriageCorrections",
        "Export the corrected texts",
        (
            200,
            "Every corrected text with its newest label, oldest correction first, in the corpus's fields "
            "(`category` `none` for a text that is not urgent), as `matterline triage corrections` writes them.",
            CORRECTIONS_SCHEMA,
        ),
        description=(
            "Admins only: these are client texts from every matter. Texts retention has purged are left out. "
            "Audited as `export` with the count, never the texts. Feed them to `matterline triage train "
            "--corrections FILE` (one JSON object per line) to retrain on the firm's own texts."
        ),
        roles=ADMIN_ROLES,
        tags=("triage",),
    ),
)
