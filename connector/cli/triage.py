"""`matterline triage train|evaluate`: learn the triage model from the labelled corpus, and judge it on
the held-out slice it never saw."""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from pathlib import Path

import click

from connector.triage import corpus
from connector.triage.model import MODEL_FILE, Model


@click.group()
def triage() -> None:
    """The triage model that flags urgent client texts."""


@triage.command("train")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=MODEL_FILE, show_default=True)
@click.option("--sample", type=click.IntRange(min=50), help="Train on this many training texts drawn at random.")
@click.option("--seed", type=int, default=0, show_default=True)
def train_command(out: Path, sample: int | None, seed: int) -> None:
    """Train on the corpus's training texts (never the held-out slice) and write the model file."""
    try:
        from connector.triage.train import train
    except ImportError as exc:  # scikit-learn is a training dependency only
        raise click.ClickException(f"training needs scikit-learn ({exc}); pip install 'matterline[dev]'") from exc
    texts, _ = corpus.split(corpus.load(), corpus.heldout_ids())
    if sample is not None and sample < len(texts):
        texts = tuple(random.Random(seed).sample(texts, sample))  # noqa: S311 - a sample, not a secret
    model = train(texts, seed=seed)
    model.save(out)
    urgent = sum(t.urgent for t in texts)
    click.echo(f"trained {model.version} on {len(texts)} texts ({urgent} urgent); threshold {model.threshold:.3f}")
    click.echo(f"wrote {out}")


@triage.command("evaluate")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=MODEL_FILE)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def evaluate_command(model_path: Path, as_json: bool) -> None:
    """Precision and recall on the held-out slice, per situation, with the confusion of situations."""
    from connector.triage.train import evaluate

    try:
        model = Model.load(model_path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    _, heldout = corpus.split(corpus.load(), corpus.heldout_ids())
    scores = evaluate(model, heldout)
    if as_json:
        body = asdict(scores) | {"confusion": [[a, b, n] for (a, b), n in sorted(scores.confusion.items())]}
        click.echo(json.dumps({"model": model.version, **body}, indent=2))
        return
    click.echo(f"{model.version} on the held-out slice: {scores.texts} texts, {scores.urgent} urgent")
    click.echo(f"precision {scores.precision:.3f}  recall {scores.recall:.3f}")
    for category, (total, found) in scores.by_category.items():
        click.echo(f"  {category:<18} recall {found / total:.3f} ({found}/{total})")
    click.echo("situation named for the urgent texts found (labelled -> named):")
    for (label, named), count in sorted(scores.confusion.items()):
        if label != named:
            click.echo(f"  {label} -> {named}: {count}")


COMMANDS = (triage,)
