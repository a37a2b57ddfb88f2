"""The security headers on everything a browser may open: no inline script, no framing, no sniffing.

Twilio's and the CMS's webhooks (/webhooks) are answered to machines and left bare. Everything else,
the API included, gets a Content-Security-Policy that allows only this origin's own scripts, styles and
images, so an injected `<script>` or `style=` never runs. Framing is refused (clickjacking) unless
MATTERLINE_FRAME_ANCESTORS names the CMS that embeds the pages; X-Frame-Options cannot name a host, so
it is sent (DENY) only when no one may frame them. A page is never cached: it can show client data.
"""

from __future__ import annotations

from typing import Final

from flask import Flask, Response, g, request

from webhooks.state import app_state

__all__ = ["allow_form_target", "content_security_policy", "install"]

_MACHINE_PREFIX: Final = "/webhooks"


def content_security_policy(frame_ancestors: tuple[str, ...], form_targets: tuple[str, ...] = ()) -> str:
    """The policy, with `frame_ancestors` (https origins) as the only sites that may frame the pages.

    `form_targets`: other origins a form of this page may end up at. Chromium applies `form-action` to
    the redirects after a POST too, so a form whose answer sends the browser on to the CMS's OAuth page
    ("Sign in with Clio") needs the CMS's origin here; a page says so with `allow_form_target`.
    """
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    forms = " ".join(("'self'", *form_targets))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"frame-ancestors {ancestors}; base-uri 'none'; form-action {forms}; object-src 'none'"
    )


def allow_form_target(origin: str) -> None:
    """Let this response's forms lead to `origin` (see `content_security_policy`)."""
    g.form_targets = (*g.get("form_targets", ()), origin)


def _secure(response: Response) -> Response:
    if request.path == _MACHINE_PREFIX or request.path.startswith(f"{_MACHINE_PREFIX}/"):
        return response
    ancestors = app_state().settings.frame_ancestors
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(ancestors, tuple(g.get("form_targets", ())))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    if not ancestors:
        headers["X-Frame-Options"] = "DENY"
    if response.mimetype == "text/html":
        headers["Cache-Control"] = "no-store"
    return response


def install(app: Flask) -> None:
    """Add the headers to every answer of `app` outside /webhooks, error pages included."""
    app.after_request(_secure)
