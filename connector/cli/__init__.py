"""The `matterline` command line: one module per command group, each calling the services and queries.

Every listing takes `--json`; errors say what is wrong and exit non-zero (1 a refusal or a CMS error,
2 invalid settings, a broken mapping, or a command line that cannot be read).
"""

from __future__ import annotations

import click

from connector import logs
from connector.cli import (
    cms_actions,
    compliance,
    documents,
    jobs,
    people,
    reminders,
    replies,
    report,
    secrets,
    serve,
    store,
    sync,
    texting,
    triage,
    writeback,
)
from connector.cli.context import Context, cli_actor

__all__ = ["Context", "cli_actor", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="matterline")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Matterline: client texting as a firm workflow inside the firm's case-management system."""
    ctx.ensure_object(Context)
    logs.configure()  # warnings until the settings are read; then their level and MATTERLINE_LOG_FORMAT


for _module in (
    store,
    sync,
    texting,
    writeback,
    jobs,
    people,
    compliance,
    cms_actions,
    triage,
    documents,
    reminders,
    replies,
    report,
    secrets,
    serve,
):
    for _command in _module.COMMANDS:
        main.add_command(_command)
