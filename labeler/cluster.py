"""Neighbour graph → UMAP (5-d for clustering, 2-d for the map) → HDBSCAN.

The k-nearest-neighbour graph is computed once and shared by both UMAP layouts, so the map costs
one extra layout optimisation instead of a second full UMAP fit. Everything is seeded: the same
input gives the same topics.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

import numpy as np

from labeler import vectors

EXACT_KNN_LIMIT = 60_000


def default_min_cluster_size(n_docs: int) -> int:
    """Grow the smallest topic with the corpus: 10 up to 400 docs, ~22 at 2k, ~57 at 13k.

    A fixed size (BERTopic's 10) splits large corpora into hundreds of near-duplicate topics.
    """
    return int(max(10, min(500, round(0.5 * math.sqrt(n_docs)))))


def knn_cosine(
    embeddings: np.ndarray, n_neighbors: int, seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine distances of each point's neighbours (itself first).

    Exact blocked matrix products up to EXACT_KNN_LIMIT points (faster than NN-descent there and
    needs no JIT compilation); approximate NN-descent beyond.
    """
    n = embeddings.shape[0]
    k = min(n_neighbors, n)
    if n > EXACT_KNN_LIMIT:
        from pynndescent import NNDescent

        index = NNDescent(embeddings, n_neighbors=k, metric="cosine", random_state=seed)
        indices, distances = index.neighbor_graph
        return indices, distances.astype(np.float32)
    unit = vectors.unit(embeddings)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    block = max(1, 2_000_000 // max(n, 1))
    for start in range(0, n, block):
        sims = unit[start : start + block] @ unit.T
        rows = np.arange(sims.shape[0])
        sims[rows, rows + start] = np.inf  # each point is its own first neighbour
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        part_sims = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-part_sims, axis=1, kind="stable")
        indices[start : start + block] = np.take_along_axis(part, order, axis=1)
        top = np.take_along_axis(part_sims, order, axis=1)
        top[:, 0] = 1.0
        distances[start : start + block] = np.clip(1.0 - top, 0.0, 2.0)
    return indices, distances


@dataclass
class ClusterResult:
    labels: np.ndarray  # topic per document, -1 = outlier, topics sorted by size
    probabilities: np.ndarray  # HDBSCAN membership strength in the assigned topic
    reduced: np.ndarray  # the 5-d UMAP embedding used for clustering
    layout: np.ndarray  # 2-d map coordinates


def default_epochs(n_docs: int) -> int:
    """Fewer optimisation epochs on large corpora: topics barely change past ~100 there."""
    return 200 if n_docs < 10_000 else 100


def _umap(knn, n_components, min_dist, n_neighbors, seed, n_epochs, init="spectral"):
    import umap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state": seeding is the point
        reducer = umap.UMAP(
            n_components=n_components,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            metric="cosine",
            random_state=seed,
            precomputed_knn=(knn[0], knn[1], None),
            n_epochs=n_epochs,
            init=init,
            low_memory=True,
        )
        return reducer.fit_transform(np.zeros((knn[0].shape[0], 1), dtype=np.float32))


def reduce(
    embeddings: np.ndarray,
    n_neighbors: int = 15,
    n_components: int = 5,
    seed: int = 42,
    n_epochs: int | None = None,
    with_layout: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """5-d UMAP for clustering and 2-d UMAP for the map, from one shared neighbour graph."""
    n = embeddings.shape[0]
    n_neighbors = max(2, min(n_neighbors, n - 1))
    knn = knn_cosine(embeddings, n_neighbors, seed)
    if n <= n_components + 2:
        # Too few points for a spectral layout: the normalised vectors themselves are the reduction.
        unit = vectors.unit(embeddings)
        return unit[:, :n_components], unit[:, :2] if with_layout else None
    n_epochs = n_epochs or default_epochs(n)
    reduced = _umap(knn, n_components, 0.0, n_neighbors, seed, n_epochs)
    layout = None
    if with_layout:
        # Start the map from the clustering layout's main axes: same graph, same neighbourhoods,
        # so it converges in the same epochs without a second spectral initialisation.
        centred = reduced - reduced.mean(axis=0)
        _, _, axes = np.linalg.svd(centred, full_matrices=False)
        start = centred @ axes[:2].T
        start = 10.0 * start / max(float(np.abs(start).max()), 1e-9)
        layout = _umap(knn, 2, 0.1, n_neighbors, seed, n_epochs, init=start.astype(np.float32))
    return reduced, layout


def default_min_samples(min_cluster_size: int) -> int:
    """Density smoothing decoupled from topic size: HDBSCAN's default (= min_cluster_size) merges
    distinct topics once the size grows with the corpus (17 topics instead of 38 on 20 Newsgroups,
    ARI 0.31 instead of 0.53)."""
    return min(10, min_cluster_size)


def cluster(
    reduced: np.ndarray,
    min_cluster_size: int,
    min_samples: int | None = None,
    selection: str = "eom",
) -> tuple[np.ndarray, np.ndarray]:
    """HDBSCAN on the reduced vectors; topics renumbered by size (0 = largest), -1 = outliers."""
    import hdbscan

    n = reduced.shape[0]
    if n < max(2, min_cluster_size):
        return np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.float32)
    model = hdbscan.HDBSCAN(
        min_cluster_size=max(2, min_cluster_size),
        min_samples=min_samples or default_min_samples(min_cluster_size),
        metric="euclidean",
        cluster_selection_method=selection,
        core_dist_n_jobs=os.cpu_count() or 1,
    )
    raw = model.fit_predict(reduced)
    return renumber_by_size(raw), np.asarray(model.probabilities_, dtype=np.float32)


def renumber_by_size(labels: np.ndarray) -> np.ndarray:
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = ids[np.lexsort((ids, -counts))]
    mapping = {old: new for new, old in enumerate(order)}
    return np.array([mapping.get(int(v), -1) for v in labels], dtype=np.int64)


# A topic holding more than this share of the corpus is a catch-all candidate (issue 10).
MAX_TOPIC_SHARE = 0.25
# ... and is split when its best k-means partition has at least this mean silhouette (cosine, in
# the embedding space). Calibrated on the shared corpora (README, "Catch-all topics"): a topic
# that mixes categories scores well above it, one theme's spread-out documents below it.
SPLIT_SILHOUETTE = 0.06
MAX_SUBGROUPS = 8


def subgroups(
    embeddings: np.ndarray, min_size: int, seed: int = 42, max_k: int = MAX_SUBGROUPS
) -> tuple[float, np.ndarray]:
    """The topic's best k-means partition (k = 2..max_k, every part at least `min_size` docs)
    in its own embedding space, and that partition's mean cosine silhouette (-1 when none)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    unit = vectors.unit(embeddings)
    n = len(unit)
    best = (-1.0, np.zeros(n, dtype=np.int64))
    for k in range(2, min(max_k, n // max(2, min_size)) + 1):
        parts = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(unit)
        if np.bincount(parts).min() < min_size:
            continue
        score = float(
            silhouette_score(
                unit, parts, metric="cosine", sample_size=min(n, 2000), random_state=seed
            )
        )
        if score > best[0]:
            best = (score, parts.astype(np.int64))
    return best


def split_catch_all(
    labels: np.ndarray,
    embeddings: np.ndarray,
    min_cluster_size: int,
    max_share: float | None = MAX_TOPIC_SHARE,
    min_silhouette: float = SPLIT_SILHOUETTE,
    seed: int = 42,
) -> tuple[np.ndarray, list[dict]]:
    """Split every topic over `max_share` of the corpus along its sub-groups, unless they are not
    distinct (best silhouette under `min_silhouette`: the documents share one theme).

    HDBSCAN in a global 5-d UMAP often merges two neighbouring themes into one dense region when
    the corpus is dominated by a few of them; a user then gets one topic for 40% of the corpus,
    labelled after half of it. Returns the new labels (renumbered by size) and one decision
    record per candidate topic, so the run can say what was split and why.
    """
    if not max_share or len(labels) == 0:
        return labels, []
    out = labels.copy()
    next_id = int(labels.max()) + 1
    decisions = []
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    # A split part that still holds over `max_share` is examined again (a three-theme topic may
    # split two ways first), a few levels deep at most.
    queue = [(int(t), 0) for t, size in zip(ids, counts) if size > max_share * len(labels)]
    while queue:
        topic, depth = queue.pop(0)
        members = np.flatnonzero(out == topic)
        score, parts = subgroups(embeddings[members], max(2, min_cluster_size), seed)
        split = score >= min_silhouette
        decisions.append(
            {
                "topic": topic,
                "share": round(float(len(members) / len(labels)), 4),
                "silhouette": round(score, 4),
                "subgroups": int(parts.max() + 1) if split else 1,
                "split": bool(split),
            }
        )
        if not split:
            continue
        new_ids = [topic]
        for part in range(1, int(parts.max()) + 1):
            out[members[parts == part]] = next_id
            new_ids.append(next_id)
            next_id += 1
        if depth < 2:
            queue += [(t, depth + 1) for t in new_ids if (out == t).sum() > max_share * len(labels)]
    return (renumber_by_size(out) if any(d["split"] for d in decisions) else labels), decisions


def merge_groups(labels: np.ndarray, embeddings: np.ndarray, n_topics: int) -> dict[int, int]:
    """Which group each topic joins when the most similar topics (average linkage on cosine
    between topic centroids) are merged until `n_topics` remain: topic id → group number. Empty
    when there are no more topics than that."""
    from sklearn.cluster import AgglomerativeClustering

    ids = np.unique(labels[labels >= 0])
    if n_topics < 1 or len(ids) <= n_topics:
        return {}
    unit = vectors.unit(embeddings)
    centres = vectors.unit(np.stack([unit[labels == t].mean(axis=0) for t in ids]))
    groups = AgglomerativeClustering(
        n_clusters=n_topics, metric="cosine", linkage="average"
    ).fit_predict(centres)
    return {int(t): int(g) for t, g in zip(ids.tolist(), groups.tolist())}


def merge_to(labels: np.ndarray, embeddings: np.ndarray, n_topics: int) -> np.ndarray:
    """Merge the most similar topics (`merge_groups`) until at most `n_topics` remain; outliers
    stay outliers. Fewer topics than asked are left as they are: a split that density does not
    support would only invent topics (lower --min-cluster-size for finer ones)."""
    mapping = merge_groups(labels, embeddings, n_topics)
    if not mapping:
        return labels
    merged = np.array([mapping.get(int(v), -1) for v in labels], dtype=np.int64)
    return renumber_by_size(merged)
