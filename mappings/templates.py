"""Request templates: how a mapping file describes a request whose values are filled in at run time.

A mapping writes ``{"matter": {"id": "{matter_id}"}}`` and the engine supplies ``matter_id``; one
write-back engine then serves every vendor.

The rule, in full:

* A **placeholder** is ``{`` + a lowercase identifier + ``}``, i.e. ``\\{([a-z_][a-z0-9_]*)\\}``.
  Any other brace text (``{id,number}``, ``{ x }``, ``{ID}``) is not a placeholder and passes through.
* **Where templating happens**: a request's ``path``, the **values** of its ``params`` and every
  string anywhere in its ``body``; the auth ``token_url`` and ``refresh_params`` values. Nothing else
  (object keys, headers, resource definitions) is ever templated.
* **The ``fields`` query parameter is never templated.** Clio's field selector
  ``client{id,name}`` and ``matter{id}`` look like placeholders (``{id}``), so a param named
  ``fields`` is passed through byte for byte and is also exempt from validation. A ``fields`` key
  inside a *body* (Clio's webhook create) is an ordinary body string and *is* templated.
* A string that is **exactly** ``"{name}"`` becomes the raw value, keeping its JSON type (an int stays
  an int, a list stays a list). If that value is None the key is dropped from its enclosing object
  (and from ``params``); inside a list the element becomes null, because list positions carry meaning.
* A string with placeholders **among other text** gets text substitution: ``str(value)``, except that
  booleans are written ``true``/``false`` as in JSON. None there raises ValueError: there is no way
  to leave part of a string out, and ``/cases/None/notes`` must never reach a CMS.
* In a request ``path`` the substituted text is percent-encoded, so an id can never add a path segment.
* A placeholder with no value raises :class:`MissingValueError` (a KeyError) naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import quote

__all__ = [
    "PLACEHOLDER",
    "UNTEMPLATED_PARAMS",
    "MissingValueError",
    "RenderedRequest",
    "RequestTemplate",
    "iter_placeholders",
    "render",
    "render_params",
    "render_path",
    "render_request",
    "template_variables",
    "templated_params",
]

PLACEHOLDER: Final = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

#: Query parameters whose values are passed through verbatim (never rendered, never validated).
UNTEMPLATED_PARAMS: Final = frozenset({"fields"})

# One path step into a JSON value: an object key or a list index.
Location = tuple[str | int, ...]


class MissingValueError(KeyError):
    """A template names a placeholder the caller supplied no value for."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"no value for template placeholder {{{self.name}}}"


class RequestTemplate(Protocol):
    """What :func:`render_request` needs from a request spec (``mappings.model.RequestSpec``)."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def params(self) -> Mapping[str, Any]: ...

    @property
    def body(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class RenderedRequest:
    """A request ready to send: path relative to the API base, query params, JSON body (or None)."""

    method: str
    path: str
    params: dict[str, Any]
    body: Any


def iter_placeholders(template: Any, location: Location = ()) -> Iterator[tuple[Location, str]]:
    """Yield ``(location, name)`` for every placeholder in every string of a nested JSON value.

    The location lets a validator report the exact JSON path of a bad placeholder.
    """
    if isinstance(template, str):
        for match in PLACEHOLDER.finditer(template):
            yield location, match.group(1)
    elif isinstance(template, dict):
        for key, value in template.items():
            yield from iter_placeholders(value, (*location, key))
    elif isinstance(template, list):
        for index, value in enumerate(template):
            yield from iter_placeholders(value, (*location, index))


def template_variables(template: Any) -> set[str]:
    """All placeholder names in any string anywhere in ``template``."""
    return {name for _location, name in iter_placeholders(template)}


def templated_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a ``params`` mapping that is templated (everything but :data:`UNTEMPLATED_PARAMS`)."""
    return {key: value for key, value in params.items() if key not in UNTEMPLATED_PARAMS}


def render(template: Any, values: Mapping[str, Any]) -> Any:
    """Fill every placeholder in ``template`` from ``values``; the template itself is not modified."""
    if isinstance(template, str):
        return _render_string(template, values, quote_values=False)
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for key, value in template.items():
            rendered = render(value, values)
            if rendered is None and _is_exact_placeholder(value):
                continue
            out[key] = rendered
        return out
    if isinstance(template, list):
        return [render(value, values) for value in template]
    return template


def render_params(params: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Render query params: ``fields`` verbatim, other values rendered, None-valued params dropped."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in UNTEMPLATED_PARAMS:
            out[key] = value
            continue
        rendered = render(value, values)
        if rendered is not None:
            out[key] = rendered
    return out


def render_path(path: str, values: Mapping[str, Any]) -> str:
    """Render a request path, percent-encoding each substituted value (``/`` included)."""
    return str(_render_string(path, values, quote_values=True, whole_value=False))


def render_request(request: RequestTemplate, values: Mapping[str, Any]) -> RenderedRequest:
    """Render one request of a mapping (path, params, body) with the rules in the module docstring."""
    body = request.body
    return RenderedRequest(
        method=request.method,
        path=render_path(request.path, values),
        params=render_params(request.params, values),
        body=None if body is None else render(body, values),
    )


def _is_exact_placeholder(value: Any) -> bool:
    return isinstance(value, str) and PLACEHOLDER.fullmatch(value) is not None


def _render_string(text: str, values: Mapping[str, Any], *, quote_values: bool, whole_value: bool = True) -> Any:
    if "{" not in text:
        return text
    exact = PLACEHOLDER.fullmatch(text)
    if exact is not None and whole_value:
        return _lookup(exact.group(1), values)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        value = _lookup(name, values)
        if value is None:
            raise ValueError(f"template placeholder {{{name}}} is None inside the text {text!r}")
        rendered = _as_text(value)
        return quote(rendered, safe="") if quote_values else rendered

    return PLACEHOLDER.sub(substitute, text)


def _lookup(name: str, values: Mapping[str, Any]) -> Any:
    try:
        return values[name]
    except KeyError:
        raise MissingValueError(name) from None


def _as_text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)
