"""The loaded, validated form of a mapping file: frozen dataclasses the engine reads.

``mappings/schema.py`` builds these only from a document that passed every check, so the engine never
re-validates: a field path is already compiled, a pagination style already has what it needs, and
every write target names a write that exists. See ``mappings/clio.json`` for the format they mirror.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mappings.fieldpath import FieldPath

__all__ = [
    "ApiSpec",
    "AuthSpec",
    "Mapping",
    "PaginationSpec",
    "PhonesSpec",
    "RateLimitSpec",
    "RequestSpec",
    "ResourceSpec",
    "SignatureSpec",
    "WebhookSpec",
    "WriteSpec",
]

MatterStatus = Literal["open", "pending", "closed"]


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """Where the API lives and the conventions every response shares.

    ``records_path`` locates the list of records in a list response ("" for a bare JSON array);
    ``error_message_paths`` are tried in order to find a human message in an error body.
    """

    regions: dict[str, str]
    default_region: str
    headers: dict[str, str]
    records_path: FieldPath
    error_message_paths: tuple[FieldPath, ...]

    @property
    def default_base_url(self) -> str:
        """The API base URL of the default region."""
        return self.regions[self.default_region]


@dataclass(frozen=True, slots=True)
class AuthSpec:
    """How to authenticate. ``bearer`` sends a fixed token; ``oauth2`` can also mint a new one.

    For ``oauth2`` the engine POSTs ``refresh_params`` (rendered with origin, refresh_token,
    client_id, client_secret, access_token) to ``token_url`` as a form or JSON body. When
    ``rotates_refresh_token`` is true the response's new refresh token must be stored before the
    old one is discarded, or the connection is lost.
    """

    kind: Literal["bearer", "oauth2"]
    token_url: str | None
    token_encoding: Literal["form", "json"]
    refresh_params: dict[str, str]
    rotates_refresh_token: bool
    header: str = "Authorization"
    scheme: str = "Bearer"


@dataclass(frozen=True, slots=True)
class RateLimitSpec:
    """Which response headers report the rate limit; every field empty when a vendor sends none."""

    limit_header: str | None = None
    remaining_header: str | None = None
    reset_header: str | None = None
    reset_format: Literal["epoch_seconds", "delta_seconds"] = "epoch_seconds"
    retry_after_headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PaginationSpec:
    """How to walk a list endpoint.

    * ``next_url``: follow the full URL at ``next_path`` in the body until it is missing.
    * ``link_header``: follow ``Link: <...>; rel="next"``.
    * ``offset``: send ``offset_param`` (and ``size_param``); stop when ``has_more_path`` is false,
      or, without it, when a page is shorter than ``page_size``. ``offset_path`` is where the body
      echoes the offset, when it does.
    * ``page``: send ``page_param`` starting at ``first_page``; ``next_page_path`` gives the next page
      number when the body reports it, otherwise a short page ends the walk.
    """

    style: Literal["next_url", "link_header", "offset", "page"]
    size_param: str | None
    page_size: int
    max_page_size: int
    next_path: FieldPath | None = None
    offset_param: str | None = None
    offset_path: FieldPath | None = None
    has_more_path: FieldPath | None = None
    page_param: str | None = None
    first_page: int = 1
    next_page_path: FieldPath | None = None


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One templated request (see ``mappings.templates`` for the placeholder rules).

    ``id_path`` finds the created/found record's id; ``match_path`` is the field of a found record
    that must contain the idempotency marker (a server-side search can match loosely);
    ``records_path`` overrides ``api.records_path`` for this request's response.
    """

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None  # any JSON value; None means no body
    id_path: FieldPath | None = None
    match_path: FieldPath | None = None
    records_path: FieldPath | None = None


@dataclass(frozen=True, slots=True)
class PhonesSpec:
    """Where a contact's phone numbers are.

    ``list``: an array at ``path`` whose elements have ``number`` and optionally ``label`` and a
    boolean ``primary`` (the preferred number for texting).
    ``slots``: fixed fields, ``slots`` maps a label to the path of its number, in order of preference
    (the first non-empty slot is the preferred number).
    """

    style: Literal["list", "slots"]
    path: FieldPath | None = None
    number: FieldPath | None = None
    label: FieldPath | None = None
    primary: FieldPath | None = None
    slots: dict[str, FieldPath] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """A list endpoint synced into the store (``clients``, ``matters``, ``relationships``, ``calendar_entries``).

    ``fields`` maps Matterline's field names to paths in one record. For clients, a ``client_key``
    (when mapped) is the value matters' ``client_id`` refers to; without it, matters refer to ``id``.
    A client resource without ``is_client`` treats every record as a client. A calendar entry's
    ``starts_at`` is required (a reminder is planned from it); with ``all_day`` true its date is read
    as midnight UTC of that date, whatever time or offset the vendor writes beside it.
    """

    path: str
    params: dict[str, str]
    updated_since_param: str | None
    updated_since_format: Literal["iso8601"]
    ids_param: str | None
    fields: dict[str, FieldPath]
    phones: PhonesSpec | None = None
    status_values: dict[str, MatterStatus] = field(default_factory=dict)
    status_default: MatterStatus | None = None
    records_path: FieldPath | None = None

    def status_of(self, value: Any) -> MatterStatus | None:
        """Normalise a vendor status to open/pending/closed.

        Lookup is case-insensitive; JSON booleans are looked up as ``true``/``false`` (Filevine maps
        ``IsArchived``). An unknown or missing value gives ``status_default``.
        """
        if value is None:
            return self.status_default
        if value is True:
            key = "true"
        elif value is False:
            key = "false"
        else:
            key = str(value).strip().lower()
        return self.status_values.get(key, self.status_default)


@dataclass(frozen=True, slots=True)
class WriteSpec:
    """How one kind of record (note, communication, task) is written to the CMS without duplicates.

    ``external_property`` / ``query_marker``: before re-creating, run ``find`` and reuse a record
    carrying the marker. ``native_key``: the create itself is idempotent on the marker.
    ``none``: the CMS offers no way; the engine relies on its own bookkeeping.
    """

    idempotency: Literal["external_property", "query_marker", "native_key", "none"]
    create: RequestSpec
    find: RequestSpec | None = None


@dataclass(frozen=True, slots=True)
class SignatureSpec:
    """How a webhook delivery is signed: an HMAC of the raw body in ``header`` (after ``prefix``)."""

    header: str
    algorithm: Literal["hmac-sha256"]
    prefix: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """Change notifications from the CMS.

    ``models`` maps the vendor's model name to the resource it updates. ``max_lifetime_days`` of 0
    means subscriptions do not expire (then ``renew`` may be None).
    """

    create: RequestSpec
    renew: RequestSpec | None
    list: RequestSpec
    delete: RequestSpec | None
    models: dict[str, str]
    max_lifetime_days: int
    renew_before_days: int
    handshake_header: str | None
    signature: SignatureSpec
    event_path: FieldPath
    record_path: FieldPath
    deleted_events: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Mapping:
    """A complete, validated vendor mapping (bundled file merged with any firm override).

    ``raw`` is the merged JSON document, for ``matterline mappings show``.
    """

    id: str
    name: str
    api: ApiSpec
    auth: AuthSpec
    rate_limit: RateLimitSpec
    pagination: PaginationSpec
    check: RequestSpec
    resources: dict[str, ResourceSpec]
    writes: dict[str, WriteSpec]
    write_targets: dict[str, str]
    webhooks: WebhookSpec | None
    permissions: tuple[str, ...]
    notes: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    def write_for(self, target: str) -> WriteSpec | None:
        """The write used for a target (``transcript``, ``summary``, ``correction``, ``task``), if any."""
        name = self.write_targets.get(target)
        return None if name is None else self.writes[name]
