"""What every signed-in page shares: the guard that asks for a person, and the frame each page is drawn in.

A page view is `@person_page`, receives the signed-in `User`, calls one service or query, and returns
`page(...)` (a whole page) or `fragment(...)` (an htmx swap). The frame adds what the header needs on
every page (the person, their unread badge, privacy mode) and the stamp the live poll compares against.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, wraps
from typing import Any, Concatenate, Final, ParamSpec

from flask import Response, g, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import queries
from connector.staff.users import User
from webhooks.pages.auth import COOKIE, signed_in
from webhooks.state import app_state

__all__ = ["Frame", "fragment", "frame", "page", "person_page", "poll_answer", "polling", "unchanged"]

P = ParamSpec("P")
# Background requests of a page (the live poll, a draft check) send this header; they never count as activity.
_QUIET_HEADER: Final = "X-Matterline-Poll"


def polling() -> bool:
    """Whether this request is a page's background poll rather than something the person did."""
    return request.headers.get(_QUIET_HEADER) == "1"


def _refused() -> BaseResponse:
    """No live session: a page goes to the sign-in form and comes back; an htmx request reloads into it."""
    if request.headers.get("HX-Request") == "true":
        current = request.headers.get("HX-Current-URL", "")
        path = current.split("://", 1)[-1].partition("/")[2]
        response = Response(status=401)
        response.headers["HX-Redirect"] = url_for("auth.signin_form", next="/" + path if path else None)
    else:
        target = request.full_path.rstrip("?")
        response = Response(status=302)
        response.headers["Location"] = url_for("auth.signin_form", next=target)
    response.delete_cookie(COOKIE)
    return response


def person_page(view: Callable[Concatenate[User, P], BaseResponse]) -> Callable[P, BaseResponse]:
    """Run `view` for the signed-in person, or send the browser to sign in first."""

    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> BaseResponse:
        user = signed_in(touch=not polling())
        if user is None:
            return _refused()
        g.person = user
        return view(user, *args, **kwargs)

    return guarded


class Frame:
    """The header's numbers for one person, each computed at most once per request and only if used:
    a poll that finds nothing new reads the stamp and nothing else."""

    def __init__(self, user: User) -> None:
        self.person = user
        self.idle_minutes = app_state().settings.idle_curtain_minutes
        # What a page adds to the store's stamp for its own poll (a thread page: who else is viewing it).
        self.stamp_extra = ""

    @cached_property
    def privacy(self) -> bool:
        """Whether names, snippets and text are hidden: the person's own choice, else the firm's default."""
        choice = queries.users.privacy_choice(app_state().engine, self.person.id)
        return app_state().settings.privacy_mode if choice is None else choice

    @cached_property
    def _store_stamp(self) -> str:
        return queries.activity.stamp(app_state().engine)

    @property
    def stamp(self) -> str:
        """What the store looked like when the page was drawn (see queries.activity.stamp), and the page's extra."""
        return self._store_stamp + (f"~{self.stamp_extra}" if self.stamp_extra else "")

    @cached_property
    def unread(self) -> int:
        """The person's unread texts, up to the badge's cap."""
        return queries.activity.unread_total(app_state().engine, self.person.id)

    @property
    def badge(self) -> str:
        """The badge's figure: the count, or "99+" past the cap."""
        return f"{queries.activity.BADGE_CAP - 1}+" if self.unread >= queries.activity.BADGE_CAP else str(self.unread)

    @property
    def badge_label(self) -> str:
        """The badge's accessible name, which a screen reader says in full.

        It starts with the figure the badge shows ("0", "99+"), so a person using speech input can say
        what they see (WCAG 2.5.3, label in name).
        """
        if self.unread >= queries.activity.BADGE_CAP:
            return f"{self.badge} unread texts"
        return f"{self.unread} unread text{'s' if self.unread != 1 else ''}"


def frame(user: User) -> Frame:
    """The frame for `user`, cached on the request so a page and its fragments agree."""
    cached = g.get("frame")
    if not isinstance(cached, Frame):
        cached = Frame(user)
        g.frame = cached
    return cached


def page(user: User, template: str, *, status: int = 200, **context: Any) -> Response:
    """A whole page in the site frame."""
    body = render_template(template, frame=frame(user), **context)
    return Response(body, status=status, mimetype="text/html")


def fragment(user: User, template: str, *, status: int = 200, **context: Any) -> Response:
    """Part of a page, for htmx to swap in; it sees the same frame as a whole page."""
    return page(user, template, status=status, **context)


def poll_answer(user: User, template: str = "live/changes.html", **context: Any) -> Response:
    """A page's live poll: 204 (htmx swaps nothing) while the page's stamp is current, else `template`.

    `template` extends live/changes.html: out-of-band swaps of the poller (with the new stamp), the
    header badge, and whatever part of the page it adds.
    """
    if unchanged(user):
        return Response(status=204)
    return fragment(user, template, **context)


def unchanged(user: User) -> bool:
    """Whether the poll's `stamp` (query string, or form for a poll that is a POST) is the store's now.

    A poll whose redraw costs a query checks this first, so "nothing new" stays a stamp read.
    """
    return request.values.get("stamp") == frame(user).stamp
