"""BERTopic's figures (issue 22 item 4) on the shared Reuters run reopened as a model: each
`visualize_*` returns a Plotly figure that shows what it says (one point per document, one
bubble or line per topic asked for, the names asked for), applies BERTopic's options, escapes
document text, and writes an HTML file that opens offline. The report draws the same figures.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from labeler import load_run
from labeler.errors import LabelerError
from labeler.figures import _style as style
from labeler.figures.approximate_distribution import tokens
from labeler.figures.heatmap import similarity_figure
from labeler.represent import keyword_label
from labeler.views.report import report_context

HOSTILE = 'Oil <b>bold</b> <a href="https://evil.example/">link</a> <img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def reuters(reuters_run):
    """The run as a model (300 Reuters wires with timestamps and classes) and its report."""
    return load_run(reuters_run), report_context(reuters_run)


@pytest.fixture(scope="module")
def model(reuters):
    return reuters[0]


def real(model) -> list[int]:
    return sorted(t for t in model.topic_ids_ if t >= 0)


def largest(model, n: int) -> list[int]:
    return sorted(sorted(real(model), key=lambda t: (-model.topic_sizes_[t], t))[:n])


def markers(fig) -> list:
    return [t for t in fig.data if t.mode == "markers"]


def topic_traces(fig) -> dict:
    return {t.meta["group"]: t for t in markers(fig) if t.meta["group"] is not None}


def custom(model, monkeypatch) -> dict[int, str]:
    """Custom labels as BERTopic's set_topic_labels leaves them (a list, outliers first)."""
    labels = {t: f"Custom {t} <i>x</i>" for t in sorted(model.topic_ids_)}
    monkeypatch.setattr(model, "custom_labels_", list(labels.values()), raising=False)
    return labels


def test_every_figure_writes_an_html_file_that_opens_offline(model, tmp_path):
    doc = model.documents_[0]
    n = len(tokens(model, doc))
    figures = {
        "topics": model.visualize_topics(),
        "documents": model.visualize_documents(),
        "datamap": model.visualize_document_datamap(),
        "hierarchical_documents": model.visualize_hierarchical_documents(),
        "hierarchy": model.visualize_hierarchy(),
        "barchart": model.visualize_barchart(),
        "heatmap": model.visualize_heatmap(),
        "term_rank": model.visualize_term_rank(),
        "over_time": model.visualize_topics_over_time(model.topics_over_time()),
        "per_class": model.visualize_topics_per_class(model.topics_per_class()),
        "distribution": model.visualize_distribution(np.full(len(real(model)), 0.2)),
        "approximate": model.visualize_approximate_distribution(
            doc, np.ones((n, len(real(model))))
        ),
    }
    for name, fig in figures.items():
        assert isinstance(fig, go.Figure), name
        assert fig.data, name
    path = tmp_path / "documents.html"
    figures["documents"].write_html(path)  # plotly's defaults: the JavaScript inlined
    page = path.read_text()
    assert "Plotly.newPlot" in page and len(page) > 1_000_000  # plotly.js is in the file
    assert not re.search(r"<script[^>]+src=", page)  # no script from anywhere
    assert "<link" not in page


def test_documents_one_point_per_document_named_by_topic(model, monkeypatch):
    fig = model.visualize_documents()
    assert sum(len(t.x) for t in markers(fig)) == len(model.documents_)
    traces = topic_traces(fig)
    assert sorted(traces) == real(model)
    for t, trace in traces.items():
        assert len(trace.x) == model.topic_sizes_[t]
        assert trace.name == keyword_label(t, model.get_topic(t))  # keyword names by default
        members = np.flatnonzero(model.topics_ == t)
        assert np.allclose(sorted(trace.x), sorted(model.layout_[members, 0]))  # the fit's map
    outliers = [t for t in markers(fig) if t.meta["group"] is None]
    assert sum(len(t.x) for t in outliers) == model.topic_sizes_.get(-1, 0)
    names = [t for t in fig.data if t.mode == "text"][0]
    assert len(names.text) == len(real(model))
    assert (fig.layout.width, fig.layout.height) == (1200, 750)
    assert fig.layout.title.text == "<b>Documents and Topics</b>"

    two = largest(model, 2)
    fig = model.visualize_documents(topics=two, hide_annotations=True, title="Two", width=500)
    assert sorted(topic_traces(fig)) == two
    assert sum(len(t.x) for t in markers(fig)) == len(model.documents_)  # the rest in grey
    assert not [t for t in fig.data if t.mode == "text"]
    assert fig.layout.title.text == "Two" and fig.layout.width == 500

    labels = custom(model, monkeypatch)
    fig = model.visualize_documents(custom_labels=True, hide_document_hover=True)
    assert {t: tr.name for t, tr in topic_traces(fig).items()} == {
        t: style.esc(labels[t]) for t in real(model)
    }
    assert all(t.hovertext is None for t in markers(fig))

    xy = np.random.default_rng(0).normal(size=(len(model.documents_), 2))
    fig = model.visualize_documents(reduced_embeddings=xy)
    first = real(model)[0]
    assert np.allclose(topic_traces(fig)[first].x, xy[model.topics_ == first, 0])
    with pytest.raises(LabelerError, match="fitted documents"):
        model.visualize_documents(model.documents_[:10])


def test_document_hover_is_escaped_text(model):
    hostile = copy.copy(model)
    hostile.documents_ = list(model.documents_)
    hostile.documents_[0] = HOSTILE
    fig = hostile.visualize_documents()
    t = int(model.topics_[0])
    trace = topic_traces(fig).get(t) or next(x for x in markers(fig) if x.meta["group"] is None)
    text = " ".join(trace.hovertext)
    assert "&lt;b&gt;bold&lt;/b&gt;" in text and "&lt;img src=x" in text
    assert "<b>bold" not in text and "<img" not in text and "<a href" not in text
    datamap = hostile.visualize_document_datamap()
    assert "&lt;img src=x" in " ".join(h for tr in markers(datamap) for h in tr.hovertext)


def test_sample_keeps_a_share_of_the_big_topics(model):
    sizes = np.bincount(model.topics_ + 1)
    expected = sum(int(s) if s < 100 else int(s * 0.5) for s in sizes if s)
    fig = model.visualize_documents(sample=0.5)
    assert sum(len(t.x) for t in markers(fig)) == expected


def test_intertopic_distance_map_one_bubble_per_topic(model, monkeypatch):
    fig = model.visualize_topics()
    (bubbles,) = fig.data
    assert list(bubbles.customdata) == real(model)
    assert list(bubbles.marker.size) == [model.topic_sizes_[t] for t in real(model)]
    # Placed by the cosine distances between topic centres: the closest pair on the map is
    # among the closest pairs in embedding space (a 2-d layout of many topics bends a few: 5 of
    # the pairs, measured 4th on one machine, 1st to 3rd on others).
    ids = real(model)
    centres = np.stack([model.topic_centres_[t] for t in ids])
    cosine = 1 - centres @ centres.T
    xy = np.column_stack([bubbles.x, bubbles.y])
    drawn = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    pairs = [(i, j) for i in range(len(ids)) for j in range(i + 1, len(ids))]
    nearest = min(pairs, key=lambda p: drawn[p])
    assert len(pairs) >= 20 and sorted(pairs, key=lambda p: cosine[p]).index(nearest) < 5
    top = model.visualize_topics(top_n_topics=3, width=400, height=300)
    assert list(top.data[0].customdata) == largest(model, 3)
    assert (top.layout.width, top.layout.height) == (400, 300)
    assert list(model.visualize_topics(topics=[ids[1]]).data[0].customdata) == [ids[1]]
    labels = custom(model, monkeypatch)
    hover = model.visualize_topics(custom_labels=True).data[0].hovertext
    assert all(style.esc(labels[t]) in h for t, h in zip(ids, hover))
    with pytest.raises(LabelerError, match="no topic 999"):
        model.visualize_topics(topics=[999])


def test_heatmap_is_the_cosine_similarity_and_the_report_draws_it(reuters):
    model, context = reuters
    ids = real(model)
    fig = model.visualize_heatmap()
    (heat,) = fig.data
    z = np.array(heat.z)
    centres = np.stack([model.topic_centres_[t] for t in ids])
    assert np.allclose(z, np.round(centres @ centres.T, 3), atol=1e-3)
    assert np.allclose(np.diag(z), 1.0, atol=1e-3)
    assert list(heat.meta["topics"]) == ids and len(heat.y) == len(ids)
    assert (fig.layout.width, fig.layout.height) == (800, 800)
    assert len(model.visualize_heatmap(top_n_topics=3).data[0].y) == 3
    clustered = model.visualize_heatmap(n_clusters=2).data[0].meta["topics"]
    assert sorted(clustered) == ids
    # report.html's similarity chart is this figure (its topics, in hierarchy order).
    drawn = context["data"]["figures"]["similarity"]
    shown = context["similarity"]["topics"]
    names = {t["topic"]: t["name"] for t in context["topics"]}
    own = style.spec(similarity_figure(shown, names, context["similarity"]["z"]))
    assert drawn["data"] == own["data"]  # the report adds a title and square cells' size
    assert all(drawn["layout"][a] == own["layout"][a] for a in ("xaxis", "yaxis"))
    index = [ids.index(t) for t in shown]
    assert np.allclose(drawn["data"][0]["z"], z[np.ix_(index, index)], atol=2e-3)


def test_hierarchy_leaves_are_the_topics_and_the_report_draws_it(reuters, monkeypatch):
    model, context = reuters
    fig = model.visualize_hierarchy()
    links, leaves = fig.data
    assert sorted(leaves.customdata) == real(model)
    assert fig.layout.width == 1000
    assert list(fig.layout.yaxis.ticktext) == [
        style.esc(keyword_label(t, model.get_topic(t))) for t in leaves.customdata
    ]
    drawn = context["data"]["figures"]["hierarchy"]["data"]
    assert drawn[0]["x"] == list(links.x) and drawn[1]["customdata"] == list(leaves.customdata)
    bottom = model.visualize_hierarchy(orientation="bottom", height=500,
                                       hierarchical_topics=model.hierarchical_topics())  # fmt: skip
    assert bottom.layout.height == 500 and len(bottom.data) == 3  # with a dot per merge
    assert max(len(m) for m in bottom.data[2].hovertext) > 0
    assert len(model.visualize_hierarchy(top_n_topics=3).data[1].customdata) == 3
    labels = custom(model, monkeypatch)
    ticks = model.visualize_hierarchy(custom_labels=True).layout.yaxis.ticktext
    assert all(t.startswith("Custom") for t in ticks)
    assert set(ticks) <= {style.esc(v) for v in labels.values()}


def test_barchart_shows_each_topics_words(model, monkeypatch):
    fig = model.visualize_barchart(top_n_topics=4, n_words=3)
    assert len(fig.data) == 4
    for bars, t in zip(fig.data, largest(model, 4)):
        words = model.get_topic(t)[:3][::-1]
        assert [y.strip() for y in bars.y] == [w for w, _ in words]
        assert np.allclose(bars.x, [s for _, s in words])
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [f"Topic {t}" for t in largest(model, 4)]
    assert fig.layout.width == 4 * 250
    assert len(model.visualize_barchart(topics=[real(model)[0]]).data) == 1
    assert len(model.visualize_barchart(top_n_topics=None).data) == min(6, len(real(model)))
    labels = custom(model, monkeypatch)
    titles = [a.text for a in model.visualize_barchart(custom_labels=True).layout.annotations]
    assert titles == [style.esc(labels[t]) for t in largest(model, 8)]
    mmr = model.visualize_barchart(top_n_topics=1, stage="mmr").data[0]
    picked = model.get_topic(largest(model, 1)[0], "mmr")[:5]  # in MMR's pick order
    assert [y.strip() for y in mmr.y][::-1] == [w for w, _ in sorted(picked, key=lambda p: -p[1])]
    assert list(mmr.x) == sorted(mmr.x)  # drawn sorted: the largest at the top


def test_term_rank_one_line_per_topic(model):
    fig = model.visualize_term_rank()
    assert [t.meta["topic"] for t in fig.data] == real(model)
    for line in fig.data:
        assert list(line.y) == [s for _, s in model.get_topic(line.meta["topic"])]
        assert list(line.x) == list(range(1, len(line.y) + 1))
    t = real(model)[0]
    lit = model.visualize_term_rank(topics=[t], log_scale=True)
    assert [line.opacity for line in lit.data] == [1.0 if x == t else 0.15 for x in real(model)]
    assert lit.layout.yaxis.type == "log"


def test_topics_over_time_lines_count_the_documents(reuters):
    model, context = reuters
    frame = model.topics_over_time()
    fig = model.visualize_topics_over_time(frame)
    assert [t.meta["topic"] for t in fig.data] == real(model)
    for line in fig.data:
        rows = frame[frame.Topic == line.meta["topic"]]
        assert sum(line.y) == rows.Frequency.sum() == model.topic_sizes_[line.meta["topic"]]
        assert all(w in " ".join(line.customdata) for w in rows.Words.iloc[0].split(", "))
    top = model.visualize_topics_over_time(frame, top_n_topics=2, normalize_frequency=True)
    assert [t.meta["topic"] for t in top.data] == largest(model, 2)
    assert all(abs(np.linalg.norm(t.y) - 1) < 1e-9 for t in top.data)
    assert top.layout.yaxis.title.text == "Normalized Frequency"
    assert len(model.visualize_topics_over_time().data) == len(real(model))  # the run's times
    # The report's chart is this figure's lines over its own bins: one per topic, counts equal.
    drawn = context["data"]["figures"]["time"]["data"]
    assert {d["meta"]["topic"]: sum(d["y"]) for d in drawn} == model.topic_sizes_


def test_topics_per_class_bars_and_the_report_heatmap(reuters):
    model, context = reuters
    frame = model.topics_per_class()
    fig = model.visualize_topics_per_class(frame)
    assert [t.meta["topic"] for t in fig.data] == largest(model, 10)
    assert [t.visible for t in fig.data] == [True] + ["legendonly"] * (len(fig.data) - 1)
    for bars in fig.data:
        assert sum(bars.x) == model.topic_sizes_[bars.meta["topic"]]
    assert (fig.layout.width, fig.layout.height) == (1250, 900)
    assert len(model.visualize_topics_per_class(frame, topics=[real(model)[0]]).data) == 1
    heat = context["data"]["figures"]["classes"]["data"][0]
    assert (
        heat["z"] == context["classes"]["z"]
        and heat["meta"]["topics"] == (context["classes"]["topics"])
    )


def test_distribution_of_one_document(model):
    ids = real(model)
    probs = np.zeros(len(ids))
    probs[0], probs[-1] = 0.7, 0.01
    fig = model.visualize_distribution(probs)
    (bars,) = fig.data
    assert list(bars.customdata) == [ids[0]] and list(bars.x) == [0.7]  # 0.01 < 0.015
    assert bars.y[0].startswith(f"<b>Topic {ids[0]}</b>")
    both = model.visualize_distribution(probs, min_probability=0.005, title="Doc 0")
    assert list(both.data[0].customdata) == [ids[0], ids[-1]]
    assert both.layout.title.text == "Doc 0"
    with pytest.raises(LabelerError, match="probabilities_ holds one number per document"):
        model.visualize_distribution(model.probabilities_[0])  # BERTopic's seed call
    with pytest.raises(LabelerError, match="lower min_probability"):
        model.visualize_distribution(np.zeros(len(ids)))


def test_approximate_distribution_per_token(model):
    doc = "Crude oil prices rose while the dollar fell"
    words = tokens(model, doc)
    ids = real(model)
    weights = np.zeros((len(words), len(ids)))
    weights[0, 0] = 0.5
    weights[1, -1] = 0.25
    fig = model.visualize_approximate_distribution(doc, weights)
    (heat,) = fig.data
    assert list(heat.x) == [style.esc(w) for w in words]
    assert len(heat.y) == 2  # the topics with any weight
    assert np.array(heat.z).sum() == pytest.approx(0.75)
    styled = model.visualize_approximate_distribution(doc, weights, normalize=True, styled=True)
    assert styled.data.to_numpy().sum() == pytest.approx(1.0)
    with pytest.raises(LabelerError, match="one row per token"):
        model.visualize_approximate_distribution(doc, weights[:-1])


def test_hierarchical_documents_one_level_per_layer(model):
    tree = model.hierarchical_topics()
    layers = sorted(tree.Layer.unique())
    fig = model.visualize_hierarchical_documents(hide_document_hover=False)
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["topics"] + [f"layer {x}" for x in layers]
    for level, step in enumerate(steps):
        shown = [t for t, on in zip(fig.data, step.args[0]["visible"]) if on]
        assert all(t.meta["level"] == level for t in shown)
        points = [t for t in shown if t.mode == "markers"]
        assert sum(len(t.x) for t in points) == len(model.documents_)
        groups = {t.meta["group"] for t in points} - {None}
        expected = (
            real(model) if level == 0 else set(tree[tree.Layer == layers[level - 1]].Parent_ID)
        )
        assert groups == set(expected)
    assert [t.visible for t in fig.data] == [t.meta["level"] == 0 for t in fig.data]
    assert len(model.visualize_hierarchical_documents(nr_levels=1).layout.sliders[0].steps) == 1


def test_datamap_names_each_topic(model):
    fig = model.visualize_document_datamap(sub_title="Reuters, 1987", width=900)
    notes = [a.text for a in fig.layout.annotations]
    assert len(notes) == len(real(model))
    assert all(
        " ".join(w for w, _ in model.get_topic(t)[:3]) in n for t, n in zip(real(model), notes)
    )
    assert "Reuters, 1987" in fig.layout.title.text and fig.layout.width == 900
    prefixed = model.visualize_document_datamap(topic_prefix=True).layout.annotations
    assert prefixed[0].text.startswith(f"<b>Topic-{real(model)[0]}: ")
    with pytest.raises(LabelerError, match="DataMapPlot"):
        model.visualize_document_datamap(datamap_kwds={"darkmode": True})
