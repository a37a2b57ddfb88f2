"""`matterline documents`: an admin's new version of the field mapping override, the content rules, the reply
templates or the reminder rules, from a file, checked and audited exactly as on the admin pages; and trying an
edit first."""

from __future__ import annotations

from pathlib import Path

import click

from connector import services
from connector.cli.context import Context, as_option, emit, handled, json_option, pass_ctx
from connector.queries.documents import KINDS

__all__ = ["COMMANDS"]


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}") from None


@click.group()
def documents() -> None:
    """The firm's mapping override, content rules, reply templates and reminder rules, as saved in the store."""


@documents.command("save")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--back-to-file", is_flag=True, help="Stop using the saved version: the file (or what ships) again.")
@click.option("--reason", help="Why (kept in the audit log).")
@as_option("Save it as this admin (email or id).")
@json_option
@pass_ctx
@handled
def save(
    ctx: Context,
    kind: str,
    file: str | None,
    back_to_file: bool,
    reason: str | None,
    as_user: str | None,
    as_json: bool,
) -> None:
    """Put FILE in force as the firm's KIND in the app and every worker; nothing is saved when it has an error."""
    if (file is None) == (not back_to_file):
        raise click.UsageError("give FILE or --back-to-file")
    ctx.require_current_store()
    text = None if file is None else _read(file)
    saved = services.documents.save(ctx.engine, ctx.settings, kind, text, actor=ctx.actor(as_user), reason=reason)
    if as_json:
        emit(saved)
        return
    where = "the file or what ships is in force again" if text is None else "in force"
    click.echo(f"{kind} version {saved.id} saved: {where}")


@documents.command("try")
@click.argument("rules_file", type=click.Path(dir_okay=False))
@click.argument("draft")
@json_option
@pass_ctx
@handled
def try_rules(ctx: Context, rules_file: str, draft: str, as_json: bool) -> None:
    """What the content rules in RULES_FILE (not saved) find in DRAFT."""
    tried = services.documents.try_rules(ctx.settings, _read(rules_file), draft)
    if as_json:
        emit({"findings": tried.findings, "problems": tried.problems, "sendable": tried.sendable})
        return
    for problem in tried.problems:
        click.echo(f"error {problem.path}: {problem.message}")
    for finding in tried.findings:
        click.echo(f"{finding.action} {finding.rule}: {finding.match!r} - {finding.message} {finding.suggestion}")
    click.echo("sendable" if tried.sendable else "not sendable")


@documents.command("preview")
@click.argument("file", type=click.Path(dir_okay=False))
@as_option("Preview as this admin (email or id).")
@json_option
@pass_ctx
@handled
def preview(ctx: Context, file: str, as_user: str | None, as_json: bool) -> None:
    """Read the CMS's first records through the mapping override in FILE (not saved)."""
    shown = services.documents.preview_mapping(ctx.engine, ctx.settings, _read(file), actor=ctx.actor(as_user))
    if as_json:
        emit({"resources": shown})
        return
    for resource in shown:
        click.echo(f"{resource.resource} ({resource.path})" + (f": {resource.error}" if resource.error else ""))
        for record in resource.records:
            values = ", ".join(f"{name}={value}" for name, value in record.fields)
            click.echo(f"  {record.cms_id}: {record.problem or values}")


COMMANDS = (documents,)
