"""`/oauth/authorize`: the page where a person approves the app, and its redirect back with a code.

When the sandbox knows who is signed in to the CMS in the browser (`/_sandbox/browser_user`), it
approves at once, so tests are deterministic; otherwise it shows a small form that picks a sandbox
user and allows or denies. An unknown client or unregistered redirect URI gets an error page and no
redirect (RFC 6749 section 4.1.2.1); everything else answers at the redirect URI with `state` echoed.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode, urlsplit

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from connector.sandbox.clio.oauth import OAuthTokens

_PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox CMS: authorize</title></head>
<body><main><h1>Allow access to the sandbox CMS?</h1>
<form method="post" action="/oauth/authorize">{hidden}
<label for="user_id">Signed in as</label> <select id="user_id" name="user_id">{options}</select>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></main></body></html>"""


def _back(redirect_uri: str, **params: str) -> Response:
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    return Response(status=302, headers={"Location": redirect_uri + joiner + urlencode(params)})


def _refusal(message: str) -> Response:
    body = f"<!doctype html><title>Sandbox CMS</title><h1>Authorization failed</h1><p>{escape(message)}</p>"
    return Response(body, status=400, mimetype="text/html")


def authorize(state: OAuthTokens, request: Request) -> Response:
    """Answer `GET /oauth/authorize` (and the approval form's POST)."""
    values = request.values
    client_id, redirect_uri = values.get("client_id", ""), values.get("redirect_uri", "")
    problem = state.check_authorize(client_id, redirect_uri)
    if problem is not None:
        return _refusal(problem)
    echo = {"state": values["state"]} if "state" in values else {}
    if values.get("response_type") != "code":
        return _back(redirect_uri, error="unsupported_response_type", **echo)
    if request.method == "POST":
        if values.get("decision") != "allow":
            return _back(redirect_uri, error="access_denied", **echo)
        user_id = int(values.get("user_id", "0"))
    elif state.browser_user is not None:
        user_id = state.browser_user
    else:
        return _form(state, request)
    return _back(redirect_uri, code=state.issue_code(user_id, client_id, redirect_uri), **echo)


def _form(state: OAuthTokens, request: Request) -> Response:
    keep = ("response_type", "client_id", "redirect_uri", "state")
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(request.args[name])}">'
        for name in keep
        if name in request.args
    )
    users = [state.get("users", user_id) for user_id in state.ids("users")]
    options = "".join(
        f'<option value="{u["id"]}">{escape(str(u["name"]))} ({escape(str(u["email"]))})</option>' for u in users
    )
    return Response(_PAGE.format(hidden=hidden, options=options), mimetype="text/html")
