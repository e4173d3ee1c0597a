"""Topics over time and per class from the API (issue 13 item 5), on the shared Reuters run:
the DataFrames count exactly what the report draws, and their words come from the slice."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from labeler import load_run
from labeler.errors import LabelerError
from labeler.views.report import report_context


@pytest.fixture(scope="module")
def reuters(reuters_run):
    return load_run(reuters_run), report_context(reuters_run)


def test_topics_over_time_counts_what_the_report_draws(reuters):
    model, context = reuters
    frame = model.topics_over_time()
    assert list(frame.columns) == ["Topic", "Words", "Frequency", "Timestamp", "Name"]
    drawn = context["time"]  # the report's chart data: documents per topic per period
    for topic, counts in drawn["counts"].items():
        rows = frame[frame.Topic == topic]
        shown = {p: c for p, c in zip(drawn["periods"], counts) if c}
        assert {t.strftime("%Y-%m-%d"): f for t, f in zip(rows.Timestamp, rows.Frequency)} == shown
    assert frame.Frequency.sum() == len(model.documents_)
    assert frame.Timestamp.nunique() > 3  # 1987 newswires over several periods
    assert set(frame.Name) <= set(model.labels_.values())


def test_words_of_a_time_bin_come_from_its_documents(reuters):
    model, _ = reuters
    frame = model.topics_over_time(nr_bins=4, global_tuning=False, evolution_tuning=False)
    assert frame.Timestamp.nunique() <= 4 and frame.Frequency.sum() == len(model.documents_)
    stamps = pd.to_datetime(pd.Series(model.timestamps_), utc=True).dt.tz_localize(None)
    edges = sorted(frame.Timestamp.unique()) + [stamps.max() + pd.Timedelta(days=1)]
    checked = 0
    for row in frame[frame.Topic >= 0].itertuples():
        end = edges[edges.index(row.Timestamp) + 1]
        inside = (stamps >= row.Timestamp) & (stamps < end) & (model.topics_ == row.Topic)
        assert inside.sum() == row.Frequency
        text = " ".join(np.asarray(model.documents_)[inside.to_numpy()]).lower()
        for word in row.Words.split(", "):
            assert re.search(rf"\b{re.escape(word)}\b", text), (word, row.Topic, row.Timestamp)
            checked += 1
    assert checked > 20


def test_topics_per_class_counts_what_the_report_draws(reuters):
    model, context = reuters
    frame = model.topics_per_class()
    assert list(frame.columns) == ["Topic", "Words", "Frequency", "Class", "Name"]
    drawn = context["classes"]
    for i, topic in enumerate(drawn["topics"]):
        for j, name in enumerate(drawn["classes"]):
            found = frame[(frame.Topic == topic) & (frame.Class == name)].Frequency.sum()
            assert found == drawn["z"][i][j]
    assert set(frame.Class) == {"earn", "acq", "crude", "grain", "money-fx", "trade"}
    # The subject a topic is mostly about leads its class rows: crude oil topics say "oil".
    crude = frame[frame.Class == "crude"].sort_values("Frequency").iloc[-1]
    assert "oil" in crude.Words


def test_given_documents_and_classes_are_used_as_given(reuters):
    model, _ = reuters
    half = len(model.documents_) // 2
    docs, topics = model.documents_[:half], model.topics_[:half]
    classes = ["first" if i < half // 2 else "second" for i in range(half)]
    frame = model.topics_per_class(docs, classes, topics=topics)
    assert set(frame.Class) == {"first", "second"} and frame.Frequency.sum() == half
    with pytest.raises(LabelerError, match="no timestamps"):
        model.topics_over_time(docs)  # new documents need their own timestamps
    with pytest.raises(LabelerError, match="3 classes for"):
        model.topics_per_class(docs, ["a", "b", "c"], topics=topics)
