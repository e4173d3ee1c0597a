"""labeler.reassign's rules on small arrays: the code both the run folder's surgery and the
model's merge_topics / reduce_topics / reduce_outliers move documents with."""

from __future__ import annotations

import numpy as np
import pytest

from labeler import reassign
from labeler.errors import LabelerError
from labeler.represent import CTFIDF


def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Four topics on four axes (0 and 1 close, 2 and 3 close), two outliers."""
    rng = np.random.default_rng(0)
    axes = np.array([[1, 0.2, 0, 0], [1, -0.2, 0, 0], [0, 0, 1, 0.2], [0, 0, 1, -0.2]])
    topics = np.array([0] * 6 + [1] * 4 + [2] * 5 + [3] * 3 + [-1, -1])
    rows = [axes[t] if t >= 0 else np.array([0.9, 0.15, 0.1, 0.0]) for t in topics]
    rows[-1] = np.array([0.0, 0.1, 0.0, -1.0])  # nearest to topic 3, but not very near
    return np.asarray(rows) + rng.normal(0, 0.01, (len(topics), 4)), topics


def test_merged_keeps_each_groups_first_id():
    topics = np.array([0, 1, 2, 3, -1, 2])
    after = reassign.merged(topics, [[2, 0], [3, 1]])
    assert after.tolist() == [2, 3, 2, 3, -1, 2]
    assert topics.tolist() == [0, 1, 2, 3, -1, 2]  # the input is not changed


def test_reduced_merges_the_closest_topics_into_the_largest():
    embeddings, topics = blobs()
    assert reassign.reduce_groups(embeddings, topics, 2) == [[0, 1], [2, 3]]
    after = reassign.reduced(embeddings, topics, 2)
    assert sorted(set(after.tolist())) == [-1, 0, 2]
    assert (after[topics == 1] == 0).all() and (after[topics == 3] == 2).all()
    assert (reassign.reduced(embeddings, topics, 4) == topics).all()  # nothing to merge


def test_outliers_by_embeddings_with_a_threshold_and_a_limit():
    embeddings, topics = blobs()
    matches = reassign.outlier_matches(topics, "embeddings", embeddings=embeddings)
    assert matches.rows.tolist() == [18, 19] and matches.nearest.tolist() == [0, 3]
    assert reassign.outliers_reassigned(topics, matches)[-2:].tolist() == [0, 3]
    assert reassign.outliers_reassigned(topics, matches, limit=1)[-2:].tolist() == [0, -1]
    assert reassign.outliers_reassigned(topics, matches, threshold=0.95)[-2:].tolist() == [0, -1]
    assert (reassign.outliers_reassigned(topics, matches, threshold=1.01) == topics).all()


def test_outliers_by_words_fall_back_on_embeddings():
    embeddings, topics = blobs()
    texts = ["card arrived"] * 10 + ["exchange rate"] * 8 + ["my card", "zzz"]
    matches = reassign.outlier_matches(
        topics, "c-tf-idf", embeddings=embeddings, texts=texts, ctfidf=CTFIDF((1, 1), 2, None)
    )
    assert matches.nearest[1] == 3  # "zzz": no known word, by embeddings
    assert matches.rank[0] > 2 > matches.rank[1]  # known words first
    assert matches.nearest[0] in (0, 1)


def test_outliers_by_probabilities():
    topics = np.array([0, 1, -1, -1])
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.6], [0.0, 0.0]])
    matches = reassign.outlier_matches(topics, "probabilities", probabilities=probs)
    assert reassign.outliers_reassigned(topics, matches, threshold=0).tolist() == [0, 1, 1, -1]
    with pytest.raises(LabelerError, match="one column per topic"):
        reassign.outlier_matches(topics, "probabilities", probabilities=probs[:, :1])
    with pytest.raises(LabelerError, match="choose one of"):
        reassign.outlier_matches(topics, "nearest")
