"""Triage benchmark (`make bench`): what deciding costs per text, and the figure that counts.

Targets (issue 12): at most 1 ms per text on this machine; on the held-out slice, recall at least 0.95
at precision at least 0.90, and recall 1.0 on self-harm and crisis texts. The cost's baseline is the
escalation rules alone on the same texts in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import pytest

from connector.guardrails.urgency import classify as rules
from connector.triage import corpus
from connector.triage.train import evaluate, train

pytestmark = pytest.mark.bench


def _per_text_ms(fn: Callable[[corpus.Labelled], object], texts: tuple[corpus.Labelled, ...], rounds: int = 5) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            fn(text)
        samples.append((time.perf_counter() - started) * 1000 / len(texts))
    return statistics.median(samples)


def test_deciding_costs_under_a_millisecond_a_text() -> None:
    texts, _ = corpus.split(corpus.load(), corpus.heldout_ids())
    model = train(texts)
    decide = _per_text_ms(lambda t: model.decide(t.text, t.received_at), texts)
    baseline = _per_text_ms(lambda t: rules(t.text), texts)
    print(
        f"\ntriage: {decide:.3f} ms a text over {len(texts)} texts (target 1 ms); "
        f"the escalation rules alone {baseline:.3f} ms, ratio {decide / baseline:.2f}"
    )


def test_the_heldout_figure() -> None:
    """Run only with a final model: every run of this is a look at the held-out slice."""
    texts, heldout = corpus.split(corpus.load(), corpus.heldout_ids())
    scores = evaluate(train(texts), heldout)
    print(f"\nheld-out: precision {scores.precision:.3f} recall {scores.recall:.3f} on {scores.texts} texts")
    for category, (total, found) in scores.by_category.items():
        print(f"  {category:<18} recall {found / total:.3f} ({found}/{total})")
    for (label, named), count in sorted(scores.confusion.items()):
        if label != named:
            print(f"  situation {label} named {named}: {count}")
