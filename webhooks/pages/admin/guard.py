"""What every admin page shares: admins only, and the actor an admin's change is recorded by.

A person who is not signed in goes to the sign-in form, as on any page; a signed-in attorney or staff
member gets 403 on every admin page and every admin action, before the view runs and whatever the method.
The services check the role again (`Actor.require_admin`), so the API and the CLI refuse the same people.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from flask import request
from werkzeug.wrappers import Response as BaseResponse

from connector.staff.users import Actor, User
from webhooks.pages.render import person_page

__all__ = ["actor", "admin_page"]

P = ParamSpec("P")


def admin_page(view: Callable[Concatenate[User, P], BaseResponse]) -> Callable[P, BaseResponse]:
    """Run `view` for a signed-in admin; 403 for anyone else signed in; sign-in for no one."""

    def admins_only(user: User, /, *args: P.args, **kwargs: P.kwargs) -> BaseResponse:
        Actor.of(user).require_admin("use the admin pages")
        return view(user, *args, **kwargs)

    return wraps(view)(person_page(admins_only))


def actor(user: User) -> Actor:
    """The admin as the services record them, with this request's id for the audit entry."""
    return Actor.of(user, request.headers.get("X-Request-ID"))
