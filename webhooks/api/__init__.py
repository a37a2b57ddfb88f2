"""The JSON API under `/api`: one module per resource, one route table for all of them.

Every route is one row of `ROUTES`, and that one table does three jobs: it registers the Flask URL
rule, it drives the checks every call goes through (bearer token, role, query parameters, JSON body;
`routing`), and it is what `/api/openapi.json` is generated from (`openapi`). A route cannot exist
without being documented, and the document cannot promise a parameter or body field the code does not
check. Views only translate: each calls one service or query and answers with what it returns.

Every call but the OpenAPI document needs `Authorization: Bearer <token>` (the document is public so
tooling can fetch it; it holds no firm data). Each request carries a request id (`X-Request-Id`,
echoed when the caller sends a sane one, generated otherwise) that is returned on the response and
written into the audit entries the request causes, so "who did this" traces back to one HTTP call.
"""

from __future__ import annotations

import functools
from typing import Any, Final

from flask import Blueprint, Response

from webhooks.api import (
    audit,
    clients,
    consents,
    documents,
    guardrails,
    intake,
    matters,
    messages,
    openapi,
    optouts,
    outbox,
    routing,
    threads,
    triage,
    users,
    writebacks,
)
from webhooks.api.routing import Call, Route, json_response

__all__ = ["PREFIX", "ROUTES", "blueprint", "openapi_document", "openapi_path"]

PREFIX: Final = openapi.PREFIX
openapi_path = openapi.path_of


def _openapi(call: Call) -> Response:
    """This API described as OpenAPI 3.0, generated from the route table."""
    return json_response(openapi_document())


ROUTES: Final[tuple[Route, ...]] = (
    *users.ROUTES,
    *threads.ROUTES,
    *messages.ROUTES,
    *matters.ROUTES,
    *clients.ROUTES,
    *writebacks.ROUTES,
    *consents.ROUTES,
    *documents.ROUTES,
    *optouts.ROUTES,
    *guardrails.ROUTES,
    *outbox.ROUTES,
    *intake.ROUTES,
    *audit.ROUTES,
    *triage.ROUTES,
    Route(
        "GET",
        "/openapi.json",
        _openapi,
        "getOpenApi",
        "This document",
        (200, "The OpenAPI 3.0 description of /api.", openapi.DOCUMENT_SCHEMA),
        description="Public: it describes the API and holds no firm data, so tooling can fetch it without a token.",
        authenticated=False,
        tags=("meta",),
    ),
)


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0 document for every route in `ROUTES` (built once; the table is fixed at import)."""
    return openapi.document(ROUTES)


blueprint = Blueprint("api", __name__, url_prefix=PREFIX)
routing.install(blueprint, ROUTES)
