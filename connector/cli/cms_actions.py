"""`matterline custom-actions install`: put (or repair) each linked person's "Text with Matterline"
buttons on Clio's matter and contact pages, with their own Clio token (custom actions are per user)."""

from __future__ import annotations

import click

from connector import services
from connector.cli.context import Context, emit, handled, json_option, pass_ctx


@click.group(name="custom-actions")
def custom_actions() -> None:
    """The buttons Matterline puts on Clio's matter and contact pages."""


@custom_actions.command(name="install")
@click.option("--user", "email", help="Only this person (email); default: everyone who signed in with Clio.")
@json_option
@pass_ctx
@handled
def install(ctx: Context, email: str | None, as_json: bool) -> None:
    """Create each person's buttons in Clio, or point them at this Matterline; running it again changes nothing."""
    ctx.require_current_store()
    settings = ctx.settings
    app = services.cms_signin.oauth_app(settings, ctx.mapping)
    if app is None or not settings.public_url:
        raise click.UsageError(
            "set MATTERLINE_CMS_CLIENT_ID, MATTERLINE_CMS_CLIENT_SECRET and MATTERLINE_PUBLIC_URL first"
        )
    person = ctx.user(email)
    if person is not None:
        reports = [services.custom_actions.install(ctx.engine, app, settings.secret_key, person, settings.public_url)]
    else:
        reports = services.custom_actions.install_all(ctx.engine, app, settings.secret_key, settings.public_url)
    if as_json:
        emit(reports)
        return
    for report in reports:
        click.echo(
            f"{report.user.email}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
        )
    click.echo(f"{len(reports)} {'person' if len(reports) == 1 else 'people'}")


COMMANDS = (custom_actions,)
