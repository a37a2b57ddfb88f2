"""What every command shares: the settings, store and mapping opened on first use, and how errors end a command.

Commands only translate: options in, a service or a query called, its answer printed (as JSON with
`--json`). A refusal from a service prints `matterline: CODE: message` and exits 1; invalid settings or
a broken mapping exit 2, as does a command line that cannot be read (Click's own usage errors).
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from connector import crypto, jsonable, logs
from connector.cms.client import CmsClient
from connector.cms.connect import build_client
from connector.cms.errors import CmsError
from connector.cms.in_force import MAPPING_KIND, mapping_in_force
from connector.compliance import audit
from connector.compliance.audit import note_mapping
from connector.errors import MatterlineError
from connector.phones import to_e164
from connector.settings import Settings, SettingsError, load_settings
from connector.staff.users import Actor, User, find_user
from connector.store import current_revision, head_revision, make_engine
from connector.store.documents import newest
from mappings import MappingError, bundled_path, load_mapping
from mappings.model import Mapping

__all__ = [
    "EXIT_ERROR",
    "EXIT_SETTINGS",
    "Context",
    "as_option",
    "cli_actor",
    "emit",
    "handled",
    "json_option",
    "pass_ctx",
    "phone_option",
    "pick",
    "reason_option",
    "safe_url",
]

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

EXIT_ERROR = 1
EXIT_SETTINGS = 2


def cli_actor() -> str:
    """How the audit log names an operator at the command line (no `--as`): the OS user."""
    return f"cli:{getpass.getuser()}"


def safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


@dataclass
class Context:
    """Settings, store and mapping, each opened on first use so `--help` needs none of them."""

    environ: dict[str, str] | None = None
    _settings: Settings | None = None
    _engine: Engine | None = None
    _mapping: Mapping | None = None
    _client: CmsClient | None = field(default=None, repr=False)
    _client_mapping: Mapping | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The validated settings."""
        if self._settings is None:
            self._settings = load_settings(self.environ)
            logs.configure(self._settings)
        return self._settings

    @property
    def engine(self) -> Engine:
        """The store."""
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
            audit.use_key(self._engine, self.settings.audit_secret)
            crypto.accept_previous(self.settings.previous_secret_key)
        return self._engine

    @property
    def mapping(self) -> Mapping:
        """The CMS mapping in force: the bundled one with the firm's override (saved on the admin page, else
        its file). A long-running command (the worker) sees an admin's change at its next round."""
        if self._mapping is None:
            load_mapping(self.settings.cms, self.settings.mapping_file)  # a broken file stops here, whatever is saved
        self._mapping = mapping_in_force(self.settings, self.engine)
        return self._mapping

    @property
    def client(self) -> CmsClient:
        """The CMS client, built again when the mapping in force changed (its API base, auth, rate limit)."""
        mapping = self.mapping
        if self._client is None or self._client_mapping is not mapping:
            self._client = build_client(self.settings, mapping, self.engine)
            self._client_mapping = mapping
        return self._client

    def note_mapping(self) -> None:
        """Audit the mapping in force when it changed since it was last recorded (sync, worker, serve)."""
        _ = self.mapping  # a broken mapping stops here, before anything is recorded
        files = {bundled_path(self.settings.cms).name: bundled_path(self.settings.cms).read_bytes()}
        saved = newest(self.engine, MAPPING_KIND)
        if saved is not None and saved.body is not None:  # saved on the admin page: it replaces the file
            files[f"saved:{saved.id}"] = saved.body.encode()
        elif self.settings.mapping_file:
            files[f"override:{Path(self.settings.mapping_file).name}"] = Path(self.settings.mapping_file).read_bytes()
        note_mapping(self.engine, self.settings.cms, files, actor=cli_actor())

    def user(self, key: str | None) -> User | None:
        """The user named by `--as` (email or id); None when not given.

        Raises:
            click.ClickException: no such user.
        """
        if key is None:
            return None
        with self.engine.connect() as conn:
            found = find_user(conn, key)
        if found is None:
            raise click.ClickException(f"no user {key!r} (see `matterline users list`)")
        return found

    def actor(self, as_user: str | None) -> Actor:
        """Who the command acts as: the `--as` person, else this operator (named by their OS account)."""
        person = self.user(as_user)
        return Actor.of(person) if person is not None else Actor(cli_actor())

    def require_current_store(self) -> None:
        """Stop unless `matterline init` has brought the store to this code's schema."""
        current, head = current_revision(self.engine), head_revision()
        if current != head:
            raise click.ClickException(
                f"the store at {safe_url(self.settings.database_url)} is at revision {current or 'none'}, "
                f"this code needs {head}: run `matterline init`"
            )


pass_ctx = click.make_pass_decorator(Context, ensure=True)


def handled(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn Matterline's errors into one clear line on stderr and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (SettingsError, MappingError) as exc:
            click.echo(f"matterline: {exc}", err=True)
            sys.exit(EXIT_SETTINGS)
        except CmsError as exc:
            click.echo(f"matterline: {exc}", err=True)
            sys.exit(EXIT_ERROR)
        except MatterlineError as exc:
            click.echo(f"matterline: {exc.code}: {exc.message}", err=True)
            details = exc.details if isinstance(exc.details, dict) else {}
            for error in details.get("errors", []):  # a document's errors, each at its JSON path
                click.echo(f"  {error['path']}: {error['message']}", err=True)
            for finding in details.get("findings", []):
                click.echo(
                    f"  {finding['action']} {finding['rule']}: {finding['match']!r} - {finding['message']} "
                    f"{finding['suggestion']}",
                    err=True,
                )
            sys.exit(EXIT_ERROR)

    return wrapper


def emit(data: Any) -> None:
    """Print JSON for machines: views as objects, datetimes as ISO 8601 (the API's format)."""
    click.echo(json.dumps(jsonable.plain(data), indent=2))


def pick(view: Any, names: Iterable[str]) -> dict[str, Any]:
    """The named fields of a view, for a listing whose JSON the README fixes."""
    return {name: getattr(view, name) for name in names}


def json_option(fn: F) -> F:
    """`--json`: print JSON instead of lines for people."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(fn)


def as_option(help_text: str) -> Callable[[F], F]:
    """`--as USER`: act as a person (email or id); the audit log names them instead of the operator."""
    return click.option("--as", "as_user", help=help_text)


def _reason(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("needs a reason (it is kept in the audit log)")
    return value


def reason_option(help_text: str, *, required: bool = True, name: str = "--reason") -> Callable[[F], F]:
    """A reason kept in the audit log: a blank one is a usage error (exit 2), refused before anything runs."""
    return click.option(name, required=required, callback=_reason, help=help_text)


def _phone(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        region = ctx.ensure_object(Context).settings.default_region
    except SettingsError as exc:
        click.echo(f"matterline: {exc}", err=True)
        sys.exit(EXIT_SETTINGS)
    if to_e164(value, region) is None:
        raise click.BadParameter(f"{value!r} is not a phone number that can be texted")
    return value


def phone_option(help_text: str, *, required: bool = True) -> Callable[[F], F]:
    """A client's number, as typed: one that cannot be read is a usage error (exit 2)."""
    return click.option("--phone", required=required, callback=_phone, help=help_text)
