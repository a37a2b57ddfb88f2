"""The triage model the worker uses: its arithmetic is scikit-learn's (checked against scikit-learn on
the same training texts), it survives its file, self-harm decides on its own, and each decision says
why, with the date it read."""

from __future__ import annotations

import gzip
import random
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from connector.triage import corpus
from connector.triage.features import features
from connector.triage.model import Model
from connector.triage.train import REGULARISATION, train

TUESDAY_NIGHT = datetime(2026, 12, 1, 22, 10)


@pytest.fixture(scope="module")
def sample() -> tuple[corpus.Labelled, ...]:
    """400 training texts (never the held-out slice): enough to learn from, quick enough for `make test`."""
    texts, _ = corpus.split(corpus.load(), corpus.heldout_ids())
    return tuple(random.Random(7).sample(texts, 400))


@pytest.fixture(scope="module")
def model(sample: tuple[corpus.Labelled, ...]) -> Model:
    return train(sample)


def test_its_scores_are_scikit_learns_for_the_same_texts(sample: tuple[corpus.Labelled, ...], model: Model) -> None:
    """A known answer: the pure-Python score equals scikit-learn's decision function (weights are kept
    to five decimals), so the worker decides exactly as the model was trained."""
    docs = [features(t.text, t.received_at) for t in sample]
    vectorizer = TfidfVectorizer(analyzer=lambda doc: doc, sublinear_tf=True, min_df=2, norm="l2")
    matrix = vectorizer.fit_transform(docs)
    labels = np.array([t.urgent for t in sample], dtype=int)
    reference = LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=5000, solver="liblinear").fit(
        matrix, labels
    )
    expected = reference.decision_function(matrix[:50])
    got = [model._score(model._vector(doc)) for doc in docs[:50]]
    assert np.allclose(got, expected, atol=2e-3)
    assert len(set(np.sign(expected))) == 2  # both kinds of text among them: the check can fail


def test_the_model_file_round_trips_and_a_broken_one_is_named(model: Model, tmp_path: Path) -> None:
    path = tmp_path / "model.json.gz"
    model.save(path)
    again = Model.load(path)
    text = "my son was arrested tonight, bail hearing tomorrow at 9"
    assert again.decide(text, TUESDAY_NIGHT) == model.decide(text, TUESDAY_NIGHT)
    broken = tmp_path / "broken.json.gz"
    with gzip.open(broken, "wt") as handle:
        handle.write('{"weights": {}}')
    with pytest.raises(ValueError, match=r"broken.json.gz: not a triage model"):
        Model.load(broken)


def test_its_self_harm_scores_are_scikit_learns_too(sample: tuple[corpus.Labelled, ...], model: Model) -> None:
    docs = [features(t.text, t.received_at) for t in sample]
    vectorizer = TfidfVectorizer(analyzer=lambda doc: doc, sublinear_tf=True, min_df=2, norm="l2")
    matrix = vectorizer.fit_transform(docs)
    harm = np.array([t.urgent and t.category == "self_harm_crisis" for t in sample], dtype=int)
    assert harm.sum() >= 5  # enough for the self-harm model to be trained at all
    reference = LogisticRegression(C=16.0, class_weight="balanced", max_iter=5000, solver="liblinear").fit(matrix, harm)
    expected = reference.decision_function(matrix[:50])
    got = [
        model.harm_intercept + sum(v * model.weights[f][-1] for f, v in model._vector(doc).items()) for doc in docs[:50]
    ]
    assert np.allclose(got, expected, atol=2e-3)


def test_the_self_harm_model_flags_what_the_score_leaves_and_names_nothing_else(model: Model) -> None:
    text = "lately i keep thinking how quiet it would be if i just stopped, sorry for the late text"
    watchful = Model.from_dict(model.to_dict() | {"threshold": 1.01, "harm_threshold": -1e9})
    decision = watchful.decide(text, TUESDAY_NIGHT)
    assert (decision.urgent, decision.rule, decision.category) == (True, "self_harm_model", "self_harm_crisis")
    assert decision.reasons[0] == "signs of self-harm or crisis (the self-harm model)"
    # When the score flags a text already, the situation model names it, whatever the self-harm model says.
    eager = Model.from_dict(model.to_dict() | {"threshold": 0.0, "harm_threshold": -1e9})
    arrest = eager.decide("my son was arrested tonight, bail hearing tomorrow at 9", TUESDAY_NIGHT)
    assert arrest.rule is None
    assert arrest.category != "self_harm_crisis"
    blind = Model.from_dict(model.to_dict() | {"threshold": 1.01, "harm_threshold": 1e9})
    assert not blind.decide(text, TUESDAY_NIGHT).urgent


def test_self_harm_language_is_urgent_whatever_the_score(model: Model) -> None:
    deaf = Model.from_dict(model.to_dict() | {"threshold": 1.01, "harm_threshold": 1e9})  # no model flags anything
    decision = deaf.decide("i want to kill myself, i cant do this anymore", TUESDAY_NIGHT)
    assert (decision.urgent, decision.rule, decision.category) == (True, "self_harm", "self_harm_crisis")
    assert decision.self_harm
    assert decision.reasons[0] == 'self-harm words: "kill myself"'
    indirect = deaf.decide("the pills arent working fast enough", TUESDAY_NIGHT)
    assert (indirect.urgent, indirect.rule) == (True, "crisis")
    assert indirect.reasons[0] == 'crisis language: "pills arent working fast"'
    assert not deaf.decide("my son was arrested tonight", TUESDAY_NIGHT).urgent


def test_a_decision_says_why_the_date_it_read_and_which_model(model: Model) -> None:
    decision = model.decide("the eviction is tomorrow morning, the sheriff is coming", TUESDAY_NIGHT)
    assert decision.date_read == "tomorrow (Wed 02 Dec)"
    assert decision.reasons  # the strongest signals, readable
    assert all(reason.startswith(('"', "a date", "a legal event", "escalation rule")) for reason in decision.reasons)
    assert decision.version == model.version
    assert decision.version.startswith("triage-")
    assert 0.0 <= decision.probability <= 1.0
