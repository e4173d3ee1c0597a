"""The topic tree's pure parts on small arrays: layer sizes, nesting, consistency, the text tree
and BERTopic-style table (no model, no data)."""

from __future__ import annotations

import numpy as np

from labeler.tree import assignment, build_tree, hierarchy_frame, layer_counts, text_tree


def test_layer_counts_shrink_by_the_branching_factor():
    assert layer_counts(100) == [25, 6, 2]
    assert layer_counts(60) == [15, 4]
    assert layer_counts(5) == [2]
    assert layer_counts(4) == [] and layer_counts(1) == []


def three_themes(rng):
    """Nine topics in three well-separated themes (three topics each), 20 documents a topic."""
    dim, texts, vectors, topics = 12, [], [], []
    words = ["alpha", "beta", "gamma"]
    for theme in range(3):
        centre = np.zeros(dim)
        centre[theme * 4] = 5.0
        for sub in range(3):
            offset = np.zeros(dim)
            offset[theme * 4 + 1 + sub] = 1.5
            for _ in range(20):
                vectors.append(centre + offset + rng.normal(0, 0.1, dim))
                texts.append(f"{words[theme]} thing{theme}{sub} common")
                topics.append(theme * 3 + sub)
    topics = np.array(topics)
    topics[:3] = -1  # a few outliers
    return texts, np.array(vectors, dtype=np.float32), topics


def test_tree_nests_recovers_the_themes_and_sums_sizes():
    texts, vectors, topics = three_themes(np.random.default_rng(0))
    nodes = build_tree(texts, vectors, topics, branching=3)
    by_id = {n["id"]: n for n in nodes}
    leaves = [n for n in nodes if n["layer"] == 0]
    assert sorted(n["id"] for n in leaves) == list(range(9))
    parents = [n for n in nodes if n["layer"] == 1]
    assert len(parents) == 3 and min(n["id"] for n in parents) == 9  # numbered after topics
    # each parent holds exactly one theme's three topics
    assert sorted(sorted(n["topics"]) for n in parents) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    for n in parents:
        assert n["size"] == sum(by_id[c]["size"] for c in n["children"])
        assert all(by_id[c]["parent"] == n["id"] for c in n["children"])
        theme = ["alpha", "beta", "gamma"][n["topics"][0] // 3]
        assert n["keywords"][0][0] == theme and n["label"].startswith(f"{n['id']}_")
    layer1 = assignment(topics, nodes, 1)
    assert (layer1[topics == -1] == -1).all()
    assert len(set(layer1[topics >= 0])) == 3


def test_text_tree_and_table():
    texts, vectors, topics = three_themes(np.random.default_rng(1))
    nodes = build_tree(texts, vectors, topics, branching=3, leaf_labels={0: "Zero Things"})
    text = text_tree(nodes)
    assert "0 · Zero Things" in text and text.count("├── ") + text.count("└── ") == 9
    frame = hierarchy_frame(nodes)
    assert len(frame) == 3 and frame["Layer"].tolist() == [1, 1, 1]
    row = frame.iloc[0]
    assert row["Child_Left_ID"] == row["Child_IDs"][0] and len(row["Child_IDs"]) == 3
    assert sorted(t for ts in frame["Topics"] for t in ts) == list(range(9))


def test_a_carried_tree_keeps_the_old_groups_where_ward_would_regroup():
    texts, vectors, topics = three_themes(np.random.default_rng(2))
    old = build_tree(texts, vectors, topics, branching=3)
    old_groups = sorted(sorted(n["topics"]) for n in old if n["layer"] == 1)
    # topic 2's documents drift into theme "beta": cut afresh, Ward moves it to beta's parent
    moved = vectors.copy()
    moved[topics == 2] = vectors[topics == 4][: (topics == 2).sum()]
    fresh = build_tree(texts, moved, topics, branching=3)
    assert sorted(sorted(n["topics"]) for n in fresh if n["layer"] == 1) != old_groups
    home = {t: t for t in range(9)}
    carried = build_tree(texts, moved, topics, branching=3, carry=(old, home))
    assert sorted(sorted(n["topics"]) for n in carried if n["layer"] == 1) == old_groups
    keys = {n["key"] for n in old if n["layer"] == 1}
    assert {n["key"] for n in carried if n["layer"] == 1} == keys  # so names are found again


def test_a_carried_tree_places_a_new_topic_by_its_centre_and_drops_a_merged_one():
    texts, vectors, topics = three_themes(np.random.default_rng(3))
    old = build_tree(texts, vectors, topics, branching=3)
    changed = topics.copy()
    changed[topics == 1] = 0  # topic 1 merged into 0
    changed[topics == 7] = 9  # topic 7 renumbered, as a split's new part: no home
    home = {0: 0, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 8: 8, 9: None}
    nodes = build_tree(texts, vectors, changed, branching=3, carry=(old, home))
    groups = sorted(sorted(n["topics"]) for n in nodes if n["layer"] == 1)
    assert groups == [[0, 2], [3, 4, 5], [6, 8, 9]]  # 9 joined its theme (nearest centre)
    by_key = {n["key"] for n in nodes}
    assert "1:3,4,5" in by_key and "1:0,1,2" not in by_key
