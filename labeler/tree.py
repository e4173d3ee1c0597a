"""The topic tree: fine topics at the bottom (layer 0), coarser layers above, each node described
like a topic (keywords per stage, representative documents).

Layers come from Ward agglomeration of the topics' unit-length centre vectors (Euclidean on
unit vectors: cosine), cut at a shrinking number of groups (about a quarter of the layer below
each time). One linkage, several cuts, so the layers nest: every node has exactly one parent in
the layer above. Measured by `benchmarks/topic_tree.py` against the known coarse categories of
CLINC150 (domain → intent) and 20 Newsgroups (comp, rec, sci, talk…): Ward agreed with them
best (ARI 0.452 on CLINC150, against 0.373 for average linkage and 0.318 for HDBSCAN's condensed
tree; 0.311, 0.308 and 0.034 on 20 Newsgroups at its 7 groups), and average linkage left more
parents with a single child (4 of 10 on CLINC150). Agglomeration also needs only the run's
documents and embeddings, so the tree can be rebuilt after any change to the topics (a merge, a
split) and for a run written before trees existed. The README has the table.

A layer is described exactly as topics are: documents are mapped to their ancestor at that layer
and `describe_topics` runs on that assignment (c-TF-IDF across the layer's nodes, then the
embedding stages and representative documents).

Node ids: a leaf keeps its topic id; nodes above are numbered after the largest topic id, layer by
layer, largest first (as BERTopic numbers its parents). A node's `key` (`"2:0,3,7"`: its layer
and leaf topics) names it across rebuilds: names are stored under it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from labeler.represent import OUTLIER, STAGES, describe_topics, unit
from labeler.represent.describe import WordEmbedder

BRANCHING = 4  # a layer has about a quarter of the nodes of the layer below
MIN_TOP = 2  # the top layer keeps at least this many nodes (a single root says nothing)


def layer_counts(n_topics: int, branching: float = BRANCHING) -> list[int]:
    """Nodes per parent layer, bottom-up: 100 topics → [25, 6, 2]; 60 → [15, 4]; 20 → [5, 2];
    5 → [2]; 4 or fewer → no parent layer."""
    counts: list[int] = []
    k = n_topics
    while k > branching:
        k = max(MIN_TOP, int(round(k / branching)))
        counts.append(k)
    return counts


def agglomerate(
    centres: np.ndarray, counts: Sequence[int]
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """One Ward tree over the unit topic centres, cut at each count: group index per topic and
    per layer (nested), and the cosine distances between topics (a node's `distance` is the
    largest between two of its topics: Ward's merge heights are not on a readable scale)."""
    if len(centres) < 2 or not counts:
        return [], None
    from scipy.cluster.hierarchy import fcluster, linkage

    vectors = unit(centres).astype(np.float64)
    tree = linkage(vectors, method="ward")
    cuts = [fcluster(tree, t=k, criterion="maxclust") - 1 for k in counts]
    return cuts, np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)


def build_tree(
    texts: list[str],
    embeddings: np.ndarray,
    topics: np.ndarray,
    *,
    embed_words: WordEmbedder | None = None,
    branching: float = BRANCHING,
    describe: dict | None = None,
    leaf_labels: dict[int, str] | None = None,
    carry: tuple[list[dict], dict[int, int | None]] | None = None,
) -> list[dict]:
    """The tree's nodes (leaves first, then each layer up): `id`, `layer`, `parent`, `children`,
    `size`, `label`, `summary`, `keywords` (c-TF-IDF `[word, weight]`), and `key`, `topics` (the
    leaf topics under it), `distance` (the largest cosine distance between two of its topics),
    `keywords_keybert`, `keywords_mmr`, `representative_docs` (document indices) for the nodes
    above the leaves. Leaves carry `label` from `leaf_labels` (default: keyword labels).

    `describe`: `describe_topics`' keyword parameters (a TopicModel's `describe_params()`).
    `carry`: `(old_nodes, home)` after a change to the topics: the old tree's groups are kept
    (`carried_cuts`) rather than cut afresh, so a parent whose children did not change keeps
    its key, and so its name and review.
    """
    topics = np.asarray(topics, dtype=np.int64)
    ids = sorted(int(t) for t in np.unique(topics) if t != OUTLIER)
    sizes = {t: int((topics == t).sum()) for t in ids}
    normed = unit(np.asarray(embeddings, dtype=np.float32))
    centres = (
        np.stack([normed[topics == t].mean(axis=0) for t in ids])
        if ids
        else np.zeros((0, normed.shape[1]))
    )
    cuts, distances = agglomerate(centres, layer_counts(len(ids), branching))
    if carry is not None and cuts:
        cuts = carried_cuts(*carry, ids, centres) or cuts
    leaf_labels = leaf_labels or {}
    nodes: list[dict] = [
        {
            "id": t,
            "layer": 0,
            "parent": None,
            "children": [],
            "size": sizes[t],
            "label": leaf_labels.get(t, str(t)),
            "summary": None,
            "keywords": [],
            "key": node_key(0, [t]),
            "topics": [t],
            "distance": 0.0,
        }  # fmt: skip
        for t in ids
    ]
    by_id = {n["id"]: n for n in nodes}
    below = {t: t for t in ids}  # leaf topic → its node in the layer below the current one
    next_id = (max(ids) + 1) if ids else 0
    for layer, groups in enumerate(cuts, start=1):
        members: dict[int, list[int]] = {}
        for t, g in zip(ids, groups):
            members.setdefault(int(g), []).append(t)
        order = sorted(members, key=lambda g: (-sum(sizes[t] for t in members[g]), members[g]))
        for g in order:
            leaves = members[g]
            children = list(dict.fromkeys(below[t] for t in leaves))
            children.sort(key=lambda c: (-by_id[c]["size"], c))
            index = [ids.index(t) for t in leaves]
            node = {
                "id": next_id, "layer": layer, "parent": None, "children": children,
                "size": sum(sizes[t] for t in leaves), "label": "", "summary": None,
                "keywords": [], "key": node_key(layer, leaves), "topics": sorted(leaves),
                "distance": round(float(distances[np.ix_(index, index)].max()), 4),
            }  # fmt: skip
            for c in children:
                by_id[c]["parent"] = next_id
            nodes.append(node)
            by_id[next_id] = node
            for t in leaves:
                below[t] = next_id
            next_id += 1
    _describe_layers(nodes, texts, embeddings, topics, embed_words, describe or {})
    return nodes


def carried_cuts(
    old_nodes: list[dict], home: dict[int, int | None], ids: list[int], centres: np.ndarray
) -> list[np.ndarray] | None:
    """The old tree's layers over the new topics: each topic joins the groups of its `home` (the
    old topic most of its documents came from); a topic without one (made from outliers) joins
    the first layer's group with the nearest centre, and that group's ancestors above. None when
    fewer than half of the topics have a home (the change reshaped the corpus: cut afresh).

    Why not cut afresh every time: Ward over centres that moved a little (an outlier
    reassignment) can regroup topics that did not change, and every parent whose leaves moved
    loses its name. A tree kept this way drifts from what Ward would cut only where the topics
    changed; `labeler tree --rebuild` cuts it afresh."""
    parents = {int(n["id"]): n.get("parent") for n in old_nodes}
    first = {int(t): int(n["id"]) for n in old_nodes if n["layer"] == 1 for t in n["topics"]}
    top = max((int(n["layer"]) for n in old_nodes), default=0)
    homed = {t: first[home[t]] for t in ids if home.get(t) in first}
    if top < 1 or len(homed) * 2 < len(ids):
        return None
    position = {t: i for i, t in enumerate(ids)}
    groups = sorted(set(homed.values()))
    group_centres = unit(
        np.stack(
            [centres[[position[t] for t in homed if homed[t] == g]].mean(axis=0) for g in groups]
        )
    )
    unit_centres = unit(centres)
    for t in ids:
        if t not in homed:
            homed[t] = groups[int(np.argmax(group_centres @ unit_centres[position[t]]))]

    def ancestor(node: int, layer: int) -> int:
        for _ in range(layer - 1):
            up = parents.get(node)
            node = node if up is None else int(up)
        return node

    cuts = []
    for layer in range(1, top + 1):
        labels = [ancestor(homed[t], layer) for t in ids]
        if len(set(labels)) < MIN_TOP:
            break
        index = {g: i for i, g in enumerate(dict.fromkeys(labels))}
        cuts.append(np.array([index[g] for g in labels]))
    return cuts or None


def node_key(layer: int, leaves: Sequence[int]) -> str:
    return f"{layer}:" + ",".join(str(t) for t in sorted(int(x) for x in leaves))


def layers(nodes: list[dict]) -> list[int]:
    return sorted({int(n["layer"]) for n in nodes})


def assignment(topics: np.ndarray, nodes: list[dict], layer: int) -> np.ndarray:
    """Each document's node at `layer` (outliers stay -1): a layer as a topic assignment."""
    topics = np.asarray(topics, dtype=np.int64)
    if layer == 0:
        return topics.copy()
    ancestor = {t: n["id"] for n in nodes if n["layer"] == layer for t in n["topics"]}
    return np.array([ancestor.get(int(t), OUTLIER) for t in topics], dtype=np.int64)


def _describe_layers(nodes, texts, embeddings, topics, embed_words, params) -> None:
    for layer in layers(nodes):
        if layer == 0:
            continue
        found = describe_topics(
            texts, embeddings, assignment(topics, nodes, layer), embed_words=embed_words,
            only=[n["id"] for n in nodes if n["layer"] == layer], **params,
        )  # fmt: skip
        for n in nodes:
            if n["layer"] != layer:
                continue
            for s in STAGES:
                if s.name in found.keywords:
                    n[s.key] = [[w, round(float(v), 5)] for w, v in found.keywords[s.name][n["id"]]]
            n["label"] = found.labels[n["id"]]
            n["representative_docs"] = [int(i) for i in found.representative_docs[n["id"]]]


# ---------------------------------------------------------------------------------- views
def _name(node: dict) -> str:
    label = str(node.get("label") or "")
    return label if label.startswith(f"{node['id']}_") else f"{node['id']} · {label}"


def text_tree(nodes: list[dict]) -> str:
    """The tree as indented text, top layer first, children by size (BERTopic's get_topic_tree
    draws its binary tree the same way)."""
    by_id = {n["id"]: n for n in nodes}
    roots = sorted((n for n in nodes if n["parent"] is None), key=lambda n: (-n["size"], n["id"]))
    lines: list[str] = []

    def walk(node: dict, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└── " if last else "├── ")
        lines.append(f"{prefix}{branch}{_name(node)} ({node['size']:,})")
        children = [by_id[c] for c in node["children"] if c in by_id]
        inner = prefix + ("" if top else ("    " if last else "│   "))
        for i, child in enumerate(children):
            walk(child, inner, i == len(children) - 1, False)

    for root in roots:
        walk(root, "", True, True)
    return "\n".join(lines)


def hierarchy_frame(nodes: list[dict]) -> pd.DataFrame:
    """BERTopic's `hierarchical_topics()` table, for n-ary layers: one row per parent node
    (lowest layer first), with its leaf `Topics`, all its children (`Child_IDs`,
    `Child_Names`), BERTopic's binary columns filled from its two largest children
    (`Child_Left_*`, `Child_Right_*`; None when it has one child), its `Distance` (the largest
    cosine distance between two of its topics) and its `Layer`."""
    by_id = {n["id"]: n for n in nodes}
    rows = []
    for n in sorted(nodes, key=lambda n: (n["layer"], n["id"])):
        if n["layer"] == 0:
            continue
        kids = [by_id[c] for c in n["children"]]
        left = kids[0] if kids else None
        right = kids[1] if len(kids) > 1 else None
        rows.append(
            {
                "Parent_ID": n["id"],
                "Parent_Name": n["label"],
                "Topics": list(n["topics"]),
                "Child_Left_ID": left["id"] if left else None,
                "Child_Left_Name": left["label"] if left else None,
                "Child_Right_ID": right["id"] if right else None,
                "Child_Right_Name": right["label"] if right else None,
                "Child_IDs": [k["id"] for k in kids],
                "Child_Names": [k["label"] for k in kids],
                "Distance": n.get("distance", 0.0),
                "Layer": n["layer"],
            }
        )
    columns = [
        "Parent_ID", "Parent_Name", "Topics", "Child_Left_ID", "Child_Left_Name",
        "Child_Right_ID", "Child_Right_Name", "Child_IDs", "Child_Names", "Distance", "Layer",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
