"""`matterline triage`: learn the triage model from the labelled corpus (and the firm's corrected texts), judge it
on the held-out slice it never saw and on the texts staff corrected, and what staff do to one decision: `show`
it, `correct` it, and export every corrected text for retraining (`corrections`)."""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from connector import jsonable, queries, services
from connector.cli.context import Context, as_option, emit, handled, json_option, pass_ctx
from connector.triage import corpus
from connector.triage.judge import SITUATIONS, situation
from connector.triage.model import MODEL_FILE, Model

if TYPE_CHECKING:  # the training module is loaded only by the commands that judge or train
    from connector.triage.train import Scores


@click.group()
def triage() -> None:
    """The triage model that flags urgent client texts, and staff correcting what it decided."""


# -- the firm's corrected texts as training texts ---------------------------------------------------------------


def _read_corrections(path: Path) -> tuple[corpus.Labelled, ...]:
    """The texts of a corrections export, every line checked before training starts, so a bad one costs nothing.

    Raises:
        click.ClickException: a line that is not JSON, not a corrected text, or repeats an id; named by line.
    """
    try:
        return corpus.load_corrections(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@triage.command("train")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=MODEL_FILE, show_default=True)
@click.option("--sample", type=click.IntRange(min=50), help="Train on this many training texts drawn at random.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--corrections",
    "corrections_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also train on the texts of this corrections export (`matterline triage corrections`); never sampled out.",
)
def train_command(out: Path, sample: int | None, seed: int, corrections_file: Path | None) -> None:
    """Train on the corpus's training texts (never the held-out slice), and the firm's corrected texts when
    given, and write the model file."""
    try:
        from connector.triage.train import train
    except ImportError as exc:  # scikit-learn is a training dependency only
        raise click.ClickException(f"training needs scikit-learn ({exc}); pip install 'matterline[dev]'") from exc
    corrected = _read_corrections(corrections_file) if corrections_file is not None else ()
    texts, _ = corpus.split(corpus.load(), corpus.heldout_ids())
    if sample is not None and sample < len(texts):
        texts = tuple(random.Random(seed).sample(texts, sample))  # noqa: S311 - a sample, not a secret
    texts += corrected
    model = train(texts, seed=seed)
    model.save(out)
    urgent = sum(t.urgent for t in texts)
    click.echo(f"trained {model.version} on {len(texts)} texts ({urgent} urgent); threshold {model.threshold:.3f}")
    if corrections_file is not None:
        click.echo(f"  of which {len(corrected)} corrected texts from {corrections_file}")
    click.echo(f"wrote {out}")


# -- judging the model -----------------------------------------------------------------------------------------


def _scores_json(scores: Scores) -> dict[str, Any]:
    return asdict(scores) | {"confusion": [[a, b, n] for (a, b), n in sorted(scores.confusion.items())]}


def _echo_scores(scores: Scores) -> None:
    click.echo(f"precision {scores.precision:.3f}  recall {scores.recall:.3f}")
    for category, (total, found) in scores.by_category.items():
        click.echo(f"  {category:<18} recall {found / total:.3f} ({found}/{total})")


def _firm_texts(ctx: Context) -> tuple[corpus.Labelled, ...]:
    """The texts staff corrected, labelled as they said; the store is opened only for `--firm`."""
    ctx.require_current_store()
    return tuple(corpus.corrected(asdict(c)) for c in queries.triage.corrected(ctx.engine, ctx.settings))


def _echo_firm(model: Model, scores: Scores | None) -> None:
    if scores is None:
        click.echo("the firm's corrected texts: none yet, so nothing to score (`matterline triage correct` adds one)")
        return
    click.echo(f"{model.version} on the firm's corrected texts: {scores.texts} texts, {scores.urgent} urgent")
    _echo_scores(scores)


@triage.command("evaluate")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=MODEL_FILE)
@click.option(
    "--firm",
    is_flag=True,
    help="Also score the model on the texts staff corrected in the store (their labels, not triage's).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON (`firm`: null when none yet).")
@pass_ctx
@handled
def evaluate_command(ctx: Context, model_path: Path, firm: bool, as_json: bool) -> None:
    """Precision and recall on the held-out slice, per situation, with the confusion of situations; with
    --firm, also on the firm's corrected texts, the figure that says how the model does on this firm's clients.

    A model trained with --corrections has seen those texts, so its --firm figures flatter it."""
    from connector.triage.train import evaluate

    try:
        model = Model.load(model_path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    _, heldout = corpus.split(corpus.load(), corpus.heldout_ids())
    scores = evaluate(model, heldout)
    firm_texts = _firm_texts(ctx) if firm else ()
    firm_scores = evaluate(model, firm_texts) if firm_texts else None
    if as_json:
        body = {"model": model.version, **_scores_json(scores)}
        if firm:
            body["firm"] = _scores_json(firm_scores) if firm_scores is not None else None
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(f"{model.version} on the held-out slice: {scores.texts} texts, {scores.urgent} urgent")
    _echo_scores(scores)
    click.echo("situation named for the urgent texts found (labelled -> named):")
    for (label, named), count in sorted(scores.confusion.items()):
        if label != named:
            click.echo(f"  {label} -> {named}: {count}")
    if firm:
        _echo_firm(model, firm_scores)


# -- one decision, and staff correcting it ----------------------------------------------------------------------


def _said(urgent: bool, category: str | None) -> str:
    return f"urgent ({situation(category)})" if urgent else "not urgent"


@triage.command("show")
@click.argument("message_id", type=int)
@json_option
@pass_ctx
@handled
def show_command(ctx: Context, message_id: int, as_json: bool) -> None:
    """What triage decided about a client text and why, and every correction staff made to it (oldest first)."""
    ctx.require_current_store()
    view = queries.triage.require(ctx.engine, message_id)
    if as_json:
        emit(view)
        return
    label = _said(view.urgent, view.category) + (", as corrected" if view.corrections else "")
    click.echo(f"message {view.message_id}: {label}")
    sure = f", probability {view.probability:.3f}" if view.probability is not None else ""
    rule = f", decided by the {view.rule} rule" if view.rule else ""
    click.echo(
        f"triage ({view.version}, {view.decided_at:%Y-%m-%d %H:%M} UTC): "
        f"{_said(view.decided_urgent, view.decided_category)}{sure}{rule}"
    )
    click.echo(f"  reasons: {'; '.join(view.reasons) if view.reasons else 'none given'}")
    click.echo(f"  date read: {view.date_read or 'none'}")
    click.echo("corrections (oldest first):" if view.corrections else "no corrections")
    for c in view.corrections:
        note = f": {c.note}" if c.note else ""
        click.echo(f"  {c.at:%Y-%m-%d %H:%M} UTC  {c.by} said {_said(c.urgent, c.category)}{note}")


@triage.command("correct")
@click.argument("message_id", type=int)
@click.option("--urgent/--not-urgent", "urgent", default=None, help="Whether the text is urgent (say which).")
@click.option(
    "--category",
    type=click.Choice(tuple(SITUATIONS)),
    help="An urgent text's situation; default: the one triage named, else other.",
)
@click.option("--note", help=f"Why, kept with the correction (at most {services.triage.NOTE_MAX} characters).")
@click.option("--as", "as_user", required=True, help="Who says so (email or id): the correction is kept with them.")
@json_option
@pass_ctx
@handled
def correct_command(
    ctx: Context,
    message_id: int,
    urgent: bool | None,
    category: str | None,
    note: str | None,
    as_user: str,
    as_json: bool,
) -> None:
    """Say triage was wrong about a client text (audited): --urgent flags its thread and tasks the attorney as
    triage would have; --not-urgent clears the flag unless another of the thread's texts is urgent."""
    if urgent is None:
        raise click.UsageError("say --urgent or --not-urgent")
    ctx.require_current_store()
    actor = ctx.actor(as_user)
    view = services.triage.correct(
        ctx.engine, ctx.settings, message_id, urgent=urgent, category=category, note=note, actor=actor
    )
    if as_json:
        emit(view)
        return
    who = actor.user.email if actor.user is not None else actor.label
    click.echo(
        f"message {message_id}: marked {_said(view.urgent, view.category)} by {who}; "
        f"triage had said {_said(view.decided_urgent, view.decided_category)} ({view.version})"
    )


@triage.command("corrections")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file (replaced); default: standard output.",
)
@as_option("Export as this user (email or id); admins only.")
@pass_ctx
@handled
def corrections_command(ctx: Context, out: Path | None, as_user: str | None) -> None:
    """Every text staff corrected, with its newest label, one JSON object a line, for `triage train
    --corrections` (audited as an export: these are client texts). The count goes to standard error."""
    if out is not None and not out.parent.is_dir():  # refused before the export is audited, not after
        raise click.BadParameter(f"{out.parent} is not a directory", param_hint="--out")
    ctx.require_current_store()
    found = services.triage.export_corrections(ctx.engine, ctx.settings, actor=ctx.actor(as_user))
    lines = "".join(json.dumps(jsonable.plain(c), ensure_ascii=False) + "\n" for c in found)
    if out is None:
        click.echo(lines, nl=False)
    else:
        out.write_text(lines, encoding="utf-8")
    where = f" to {out}" if out is not None else ""
    click.echo(f"wrote {len(found)} corrected texts{where}", err=True)


COMMANDS = (triage,)
