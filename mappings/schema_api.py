"""How Matterline reaches a vendor (regions, auth, rate limits, paging), checked so a bad setting fails at load."""

from __future__ import annotations

from typing import Any, Final

from marshmallow import fields, post_load, validates_schema
from marshmallow.validate import Length, OneOf, Range, Regexp

from mappings.fieldpath import compile_path
from mappings.model import ApiSpec, AuthSpec, PaginationSpec, RateLimitSpec
from mappings.schema_base import (
    _HEADER_NAME,
    _IDENTIFIER,
    Errors,
    NamedDict,
    PathField,
    RequestSchema,
    _add,
    _placeholder_errors,
    _raise_if,
    _Strict,
    _string_map,
)

__all__ = [
    "AUTH_PLACEHOLDERS",
    "ApiSchema",
    "AuthSchema",
    "CheckRequestSchema",
    "PaginationSchema",
    "RateLimitSchema",
]

#: Placeholders auth may use; the engine supplies exactly these values there.
AUTH_PLACEHOLDERS: Final = frozenset({"origin", "refresh_token", "client_id", "client_secret", "access_token"})

PAGINATION_STYLES: Final = ("next_url", "link_header", "offset", "page")

# Keys that belong to one pagination style only, and the keys that style cannot do without.
_STYLE_KEYS: Final[dict[str, frozenset[str]]] = {
    "next_url": frozenset({"next_path"}),
    "link_header": frozenset(),
    "offset": frozenset({"offset_param", "offset_path", "has_more_path"}),
    "page": frozenset({"page_param", "first_page", "next_page_path"}),
}
_STYLE_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "next_url": ("next_path",),
    "link_header": (),
    "offset": ("offset_param",),
    "page": ("page_param",),
}


class CheckRequestSchema(RequestSchema):
    """The connectivity check (``matterline mappings check``): a fixed request."""

    spot = "check"


class ApiSchema(_Strict):
    """Base URLs per region and response conventions."""

    regions = NamedDict(
        keys=fields.String(validate=Regexp(_IDENTIFIER, error="a region id is lowercase letters/digits/_")),
        values=fields.Url(schemes={"http", "https"}, require_tld=False),
        required=True,
        validate=Length(min=1, error="at least one region is required"),
    )
    default_region = fields.String(required=True)
    headers = NamedDict(
        keys=fields.String(validate=Regexp(_HEADER_NAME, error="not a valid HTTP header name")),
        values=fields.String(),
        load_default=dict,
    )
    records_path = PathField(load_default=compile_path(""))
    error_message_paths = fields.List(PathField(), load_default=list)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_regions(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """The default region must exist, and base URLs must not end in '/' (paths start with one)."""
        if not isinstance(original, dict):
            return
        errors: Errors = {}
        regions = original.get("regions")
        default = original.get("default_region")
        if isinstance(regions, dict):
            if isinstance(default, str) and default not in regions:
                known = ", ".join(sorted(regions)) or "none"
                _add(errors, ("default_region",), f"{default!r} is not one of the regions ({known})")
            for region, url in regions.items():
                if isinstance(url, str) and url.endswith("/"):
                    _add(errors, ("regions", region), "must not end with '/'")
        _raise_if(errors)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> ApiSpec:
        """Freeze the API description."""
        return ApiSpec(
            regions=data["regions"],
            default_region=data["default_region"],
            headers=data["headers"],
            records_path=data["records_path"],
            error_message_paths=tuple(data["error_message_paths"]),
        )


class AuthSchema(_Strict):
    """Bearer token or OAuth2 refresh."""

    kind = fields.String(required=True, validate=OneOf(("bearer", "oauth2")))
    token_url = fields.String(load_default=None)
    token_encoding = fields.String(load_default="form", validate=OneOf(("form", "json")))
    refresh_params = _string_map(load_default=dict)
    rotates_refresh_token = fields.Boolean(load_default=False)
    header = fields.String(load_default="Authorization", validate=Regexp(_HEADER_NAME))
    scheme = fields.String(load_default="Bearer")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_oauth(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """OAuth2 needs a token URL and refresh params; both may only use the auth placeholders."""
        if not isinstance(original, dict):
            return
        errors: Errors = {}
        kind = original.get("kind")
        if kind == "oauth2":
            for key in ("token_url", "refresh_params"):
                if not original.get(key):
                    _add(errors, (key,), "required when kind is 'oauth2'")
        elif kind == "bearer":
            for key in ("token_url", "refresh_params", "token_encoding", "rotates_refresh_token"):
                if key in original:
                    _add(errors, (key,), "only used when kind is 'oauth2'")
        token_url = original.get("token_url")
        if isinstance(token_url, str) and not token_url.startswith(("{origin}/", "https://", "http://")):
            _add(errors, ("token_url",), "must be an http(s) URL or start with '{origin}/'")
        spot = "auth"
        _placeholder_errors(errors, ("token_url",), token_url, AUTH_PLACEHOLDERS, spot)
        _placeholder_errors(errors, ("refresh_params",), original.get("refresh_params"), AUTH_PLACEHOLDERS, spot)
        _raise_if(errors)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> AuthSpec:
        """Freeze the auth description."""
        return AuthSpec(**data)


class RateLimitSchema(_Strict):
    """Names of the rate-limit headers; all optional."""

    limit_header = fields.String(load_default=None)
    remaining_header = fields.String(load_default=None)
    reset_header = fields.String(load_default=None)
    reset_format = fields.String(load_default="epoch_seconds", validate=OneOf(("epoch_seconds", "delta_seconds")))
    retry_after_headers = fields.List(fields.String(), load_default=list)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> RateLimitSpec:
        """Freeze the rate-limit description."""
        return RateLimitSpec(**{**data, "retry_after_headers": tuple(data["retry_after_headers"])})


class PaginationSchema(_Strict):
    """How list endpoints page."""

    style = fields.String(required=True, validate=OneOf(PAGINATION_STYLES))
    size_param = fields.String(load_default=None)
    page_size = fields.Integer(strict=True, required=True, validate=Range(min=1))
    max_page_size = fields.Integer(strict=True, required=True, validate=Range(min=1))
    next_path = PathField(load_default=None)
    offset_param = fields.String(load_default=None)
    offset_path = PathField(load_default=None)
    has_more_path = PathField(load_default=None)
    page_param = fields.String(load_default=None)
    first_page = fields.Integer(strict=True, load_default=1, validate=Range(min=0))
    next_page_path = PathField(load_default=None)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_style(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Each style has what it needs and nothing from another style; page_size ≤ max_page_size."""
        if not isinstance(original, dict):
            return
        errors: Errors = {}
        page_size, max_size = original.get("page_size"), original.get("max_page_size")
        if isinstance(page_size, int) and isinstance(max_size, int) and page_size > max_size:
            _add(errors, ("page_size",), f"{page_size} is larger than max_page_size ({max_size})")
        style = original.get("style")
        if isinstance(style, str) and style in _STYLE_KEYS:
            for key in _STYLE_REQUIRED[style]:
                if original.get(key) is None:
                    _add(errors, (key,), f"required when style is {style!r}")
            for other, keys in _STYLE_KEYS.items():
                if other == style:
                    continue
                for key in sorted(keys & original.keys()):
                    _add(errors, (key,), f"only used with style {other!r}, not {style!r}")
        _raise_if(errors)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> PaginationSpec:
        """Freeze the pagination description."""
        return PaginationSpec(**data)
