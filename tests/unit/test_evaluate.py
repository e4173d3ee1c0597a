"""labeler.views.metrics on cases small enough to compute by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labeler.views import metrics as ev


def test_npmi_document_cooccurrence_by_hand():
    texts = ["apple banana", "apple banana", "apple cherry", "date"]
    # apple in 3/4, banana in 2/4, both in 2/4: log(0.5 / (0.75 * 0.5)) / -log(0.5)
    ab = math.log(0.5 / (0.75 * 0.5)) / -math.log(0.5)
    # banana and cherry never meet: -1 by definition
    assert ev.npmi_coherence([["apple", "banana"]], texts) == pytest.approx(ab)
    assert ev.npmi_coherence([["banana", "cherry"]], texts) == pytest.approx(-1.0)
    # a word the corpus never uses is skipped, and topics are averaged
    both = ev.npmi_coherence([["apple", "banana", "zebra"], ["banana", "cherry"]], texts)
    assert both == pytest.approx((ab - 1.0) / 2)
    assert ev.npmi_coherence([["zebra"]], texts) is None


def test_diversity_and_duplicates():
    assert ev.keyword_diversity([["a", "b"], ["b", "c"]]) == pytest.approx(3 / 4)
    assert ev.duplicate_labels(["Card Fees", "card  fees", "CARD FEES", "Top-ups"]) == 2
    assert ev.duplicate_labels(["A", "B"]) == 0


def test_cluster_agreement_by_hand():
    topics = np.array([0, 0, 0, 1, 1, -1])
    classes = ["x", "x", "y", "y", "y", "x"]
    figures = ev.cluster_agreement(topics, classes)
    assert figures["purity"] == pytest.approx(4 / 5)  # outlier excluded
    # Contingency on the 5 non-outliers: topic 0 = {x:2, y:1}, topic 1 = {y:2}.
    # ARI by its formula: sum C(n_ij,2) = 1 + 1 = 2; rows C(3,2)+C(2,2) = 4; cols C(2,2)+C(3,2) = 4
    expected = (2 - 4 * 4 / 10) / (0.5 * (4 + 4) - 4 * 4 / 10)
    assert figures["ari"] == pytest.approx(expected)
    # NMI (arithmetic mean): I / ((H(topic) + H(class)) / 2)
    p = {(0, "x"): 2 / 5, (0, "y"): 1 / 5, (1, "y"): 2 / 5}
    pt, pc = {0: 3 / 5, 1: 2 / 5}, {"x": 2 / 5, "y": 3 / 5}
    mi = sum(v * math.log(v / (pt[t] * pc[c])) for (t, c), v in p.items())
    h = -sum(v * math.log(v) for v in pt.values())  # H(topic) == H(class) here
    assert figures["nmi"] == pytest.approx(mi / h)


def test_label_match_and_fit():
    cats = np.array([[1.0, 0.0], [0.0, 1.0]])
    labels = np.array([[0.9, 0.1], [0.9, 0.2]])
    assert ev.label_matches(labels, cats, [0, 1]).tolist() == [True, False]
    docs = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]])
    fit = ev.label_fit(labels, docs, np.array([0, 0, 1]), [0, 1])
    assert fit["label_fit_share"] == pytest.approx(0.5)  # the second label sits nearer topic 0
    assert fit["label_fit_own"] > fit["label_fit_other"] - 1


def test_unsupported_claims_numbers_and_names():
    evidence = "Athens hosted the games in 2004; tickets cost 2,000 euros. keywords: olympics"
    check = ev.unsupported_claims
    assert check("Olympic Games", "The games in Athens in 2004 cost 2000 euros.", evidence) == []
    found = check("2016 Olympics", "Held in Birmingham in 2020.", evidence)
    assert sorted(found) == ["2016", "2020", "Birmingham"]
    # Title-cased labels are not read as names; sentence-initial words are not names.
    assert check("Ticket Prices", "Prices went up.", evidence) == []
