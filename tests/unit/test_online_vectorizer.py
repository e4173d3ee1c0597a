"""`OnlineCountVectorizer` (labeler.represent.online, BERTopic's `bertopic.vectorizers` name):
a vocabulary that grows with each batch and a bag of words that decays."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from labeler.bertopic.vectorizers import OnlineCountVectorizer


def test_partial_fit_adds_the_new_words_and_keeps_the_old_indices():
    vectorizer = OnlineCountVectorizer(stop_words="english")
    vectorizer.partial_fit(["card arrived late", "exchange rate"])
    before = dict(vectorizer.vocabulary_)
    vectorizer.partial_fit(["card pending wallet", "the rate"])  # "the" is a stop word
    assert {w: vectorizer.vocabulary_[w] for w in before} == before
    assert set(vectorizer.vocabulary_) - set(before) == {"pending", "wallet"}
    assert sorted(vectorizer.vocabulary_.values()) == list(range(len(vectorizer.vocabulary_)))
    assert list(vectorizer.get_feature_names_out()[-2:]) == ["pending", "wallet"]


def test_update_bow_decays_old_counts_and_grows_rows_and_columns():
    vectorizer = OnlineCountVectorizer(decay=0.5)
    vectorizer.partial_fit(["card card", "rate"])
    first = vectorizer.update_bow(["card card", "rate"]).toarray()
    assert first.tolist() == [[2, 0], [0, 1]]
    vectorizer.partial_fit(["card pending", "rate", "pending"])
    bow = vectorizer.update_bow(["card pending", "rate", "pending"]).toarray()
    words = list(vectorizer.get_feature_names_out())
    assert bow.shape == (3, 3)  # a row for the new topic, a column for the new word
    assert bow[0, words.index("card")] == 2 * 0.5 + 1
    assert bow[1, words.index("rate")] == 1 * 0.5 + 1
    assert bow[2, words.index("pending")] == 1 and bow[0, words.index("pending")] == 1


def test_delete_min_df_drops_rare_words_from_the_vocabulary():
    vectorizer = OnlineCountVectorizer(delete_min_df=2)
    vectorizer.partial_fit(["card card rate"])
    bow = vectorizer.update_bow(["card card rate"])
    assert list(vectorizer.get_feature_names_out()) == ["card"]
    assert bow.toarray().tolist() == [[2]]
    np.testing.assert_array_equal(vectorizer.transform(["card rate"]).toarray(), [[1]])


def test_clone_keeps_the_count_vectorizer_parameters():
    vectorizer = OnlineCountVectorizer(stop_words="english", decay=0.01, ngram_range=(1, 2))
    copy = clone(vectorizer)
    assert copy.get_params()["stop_words"] == "english"
    assert copy.decay == 0.01 and copy.ngram_range == (1, 2)
    assert "decay=0.01" in repr(copy)
