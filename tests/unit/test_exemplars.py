"""Exemplars that cover a topic, on synthetic embeddings: sub-groups are found where they exist
and not where there are none, every sub-group gets exemplars, and a label leaning to one
sub-group is told apart from one that covers them all (labeler/labels/exemplars.py)."""

from __future__ import annotations

import numpy as np

from labeler.labels import exemplars as cover
from labeler.vectors import unit


def blobs(sizes: list[int], spread: float = 0.35, dim: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = np.eye(dim)[: len(sizes)]
    parts = [centres[i] + spread * rng.normal(size=(n, dim)) / np.sqrt(dim)
             for i, n in enumerate(sizes)]  # fmt: skip
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return unit(np.vstack(parts)), truth, centres


def test_two_distinct_groups_are_found_and_one_blob_stays_whole():
    vectors, truth, _ = blobs([120, 60])
    groups = cover.find_subgroups(vectors, seed=1)
    assert groups.k == 2 and groups.shares[0] > groups.shares[1]
    agree = max((groups.labels == truth).mean(), (groups.labels != truth).mean())
    assert agree > 0.95
    rng = np.random.default_rng(2)
    ball = unit(rng.normal(size=(200, 32)))  # no structure: k-means only cuts it
    assert cover.find_subgroups(ball, seed=1).k == 1
    assert cover.find_subgroups(vectors[:30], seed=1).k == 1  # too few documents to split


def test_exemplars_come_from_every_group_round_robin():
    vectors, truth, _ = blobs([150, 50])
    groups = cover.find_subgroups(vectors, seed=0)
    preferred = [0, 1, 2, 3, 4]  # the fit's representative documents, all in the large group
    n = cover.exemplar_count(200, groups.k, least=3, most=6)
    chosen = cover.choose_exemplars(vectors, groups, preferred, n)
    assert n == 4 and len(chosen) == 4 and chosen[0] == 0
    assert {int(truth[i]) for i in chosen[:2]} == {0, 1}  # a prompt cut to two still has both
    assert cover.exemplar_count(50, 1, 3, 6) == 3 < cover.exemplar_count(3200, 1, 3, 6) == 6


def test_a_label_leaning_to_one_group_is_told_from_a_broad_one():
    vectors, truth, centres = blobs([100, 80])
    groups = cover.find_subgroups(vectors, seed=0)
    samples = cover.held_out(groups, shown=[], seed=0)
    big = int(np.bincount(groups.labels[truth == 0]).argmax())
    narrow = centres[0] + 0.05 * np.eye(32)[5]  # names the first group only
    broad = centres[0] + centres[1]
    best, missed = cover.uncovered(narrow, vectors, samples, groups.shares)
    assert best == big and missed == [1 - big]
    assert cover.uncovered(broad, vectors, samples, groups.shares)[1] == []


def test_large_and_spread_out_topics_are_the_ones_split():
    sizes = {0: 400, 1: 60, 2: 50, 3: 45, 4: 30}
    spreads = {0: 0.3, 1: 0.5, 2: 0.3, 3: 0.31, 4: 0.9}
    assert cover.worth_splitting(sizes, spreads, n_docs=600) == {0, 1}  # 4: too small
