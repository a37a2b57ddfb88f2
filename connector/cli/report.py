"""`matterline report response`: how long clients wait for a person's first answer, by week, for the firm and
each person; the same query as the page (/reports/response)."""

from __future__ import annotations

from datetime import datetime

import click

from connector.cli.context import Context, emit, handled, json_option, pass_ctx
from connector.queries import response_times
from connector.queries.response_times import Figures, spoken

__all__ = ["COMMANDS"]

_HEAD = ("", "answered", "unanswered", "median (office)", "p90 (office)", "median (clock)", "p90 (clock)")


@click.group()
def report() -> None:
    """Reports on how the firm answers its clients."""


@report.command("response")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day (firm time); YYYY-MM-DD.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day, included (firm time); YYYY-MM-DD.")
@json_option
@pass_ctx
@handled
def response(ctx: Context, start: datetime | None, end: datetime | None, as_json: bool) -> None:
    """First-response times (median and 90th percentile, office hours and clock) by week, for the firm and each
    person; by default the last four whole weeks. A wait is a client's text until a person answers it (the
    responder's; if unanswered, the thread's assignee's); automatic replies, reminders and notices do not end it."""
    first, last = response_times.period(ctx.settings, start and start.date(), end and end.date())
    found = response_times.report(ctx.engine, ctx.settings, start=first, end=last)
    if as_json:
        emit(found)
        return
    click.echo(f"First-response times, {found.start} to {found.end} ({found.timezone})")
    if found.empty:
        click.echo("No client text needed a reply in this period.")
        return
    rows: list[tuple[str, ...]] = [_HEAD]
    for line in (found.firm, *found.people):
        rows.append((line.name, "", "", "", "", "", ""))
        rows += [_cells(f"  week of {week.week}", week) for week in line.weeks]
        rows.append(_cells("  whole period", line.total))
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEAD))]
    for row in rows:
        cells = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        click.echo("  ".join(cells).rstrip())
    click.echo("Office: time within office hours; clock: all the time the client waited. Medians are nearest-rank.")


def _cells(label: str, figures: Figures) -> tuple[str, ...]:
    return (
        label,
        str(figures.answered),
        str(figures.unanswered),
        spoken(figures.median_business_minutes),
        spoken(figures.p90_business_minutes),
        spoken(figures.median_clock_minutes),
        spoken(figures.p90_clock_minutes),
    )


COMMANDS = (report,)
