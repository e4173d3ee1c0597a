"""The catch-all rule: a topic over a quarter of the corpus is split only along distinct groups."""

from __future__ import annotations

import numpy as np

from labeler.cluster import split_catch_all


def _blob(rng, centre, n, spread=8.0):
    """Points around `centre`, noise about as long as the centre itself (real topics are spread)."""
    return centre + spread * rng.standard_normal((n, centre.shape[0])) / np.sqrt(centre.shape[0])


def _corpus(rng, big_topic: np.ndarray, dim: int = 64):
    """Topic 0 = `big_topic` (60% of the corpus), topics 1-4 = small distinct blobs."""
    small = [_blob(rng, rng.standard_normal(dim), 40) for _ in range(4)]
    vectors = np.vstack([big_topic, *small])
    labels = np.concatenate([np.zeros(len(big_topic), int), np.repeat([1, 2, 3, 4], 40)])
    return labels, vectors


def test_two_group_topic_is_split_along_its_groups():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(64), rng.standard_normal(64)
    group_a, group_b = _blob(rng, a, 120), _blob(rng, b, 120)
    labels, vectors = _corpus(rng, np.vstack([group_a, group_b]))
    new, decisions = split_catch_all(labels, vectors, min_cluster_size=10)
    # split in two; each half (30% of the corpus) is examined again and is one theme
    assert [d["split"] for d in decisions] == [True, False, False]
    assert decisions[0]["subgroups"] == 2
    # each group lands whole in its own topic, and the small topics are untouched
    assert len(set(new[:120])) == 1 and len(set(new[120:240])) == 1
    assert new[0] != new[120]
    for t in (1, 2, 3, 4):
        assert len(set(new[labels == t])) == 1
    assert len(set(new.tolist())) == 6


def test_one_theme_topic_is_kept():
    rng = np.random.default_rng(1)
    labels, vectors = _corpus(rng, _blob(rng, rng.standard_normal(64), 240))
    new, decisions = split_catch_all(labels, vectors, min_cluster_size=10)
    assert [d["split"] for d in decisions] == [False]
    assert decisions[0]["share"] == round(240 / 400, 4)
    assert (new == labels).all()


def test_small_topics_are_never_candidates_and_the_rule_can_be_off():
    rng = np.random.default_rng(2)
    labels, vectors = _corpus(rng, _blob(rng, rng.standard_normal(64), 30))
    assert split_catch_all(labels, vectors, 10)[1] == []  # 30 of 190 docs: under 25%
    assert split_catch_all(labels, vectors, 10, max_share=None)[1] == []
