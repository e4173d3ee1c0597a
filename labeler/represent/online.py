"""`OnlineCountVectorizer`: a CountVectorizer whose vocabulary grows batch by batch, and a
topic × word bag of words that decays, for online topic modelling (`TopicModel.partial_fit`).

BERTopic's class of the same name (`bertopic.vectorizers.OnlineCountVectorizer`), with the same
parameters and calls: `partial_fit(docs)` adds the batch's new words to the vocabulary (the
first call is a plain `fit`, so `min_df`, `max_df` and `stop_words` prune it), and
`update_bow(docs)` adds the batch's counts to the running bag of words `X_`, after multiplying
the old counts by `1 - decay`; `delete_min_df` then drops the words whose total count fell below
it (the vocabulary shrinks with them).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer


class OnlineCountVectorizer(CountVectorizer):
    """A CountVectorizer for batches (BERTopic's `OnlineCountVectorizer`).

    Parameters
    ----------
    decay : float or None, default None
        Share of the bag of words' counts forgotten at each `update_bow` (0.01: 1%), so that
        recent batches weigh more; None keeps every count.
    delete_min_df : float or None, default None
        After each `update_bow`, words whose total count in `X_` is below this are removed from
        the vocabulary and the bag of words.
    **kwargs
        scikit-learn's `CountVectorizer` parameters (`stop_words`, `ngram_range`, `min_df`, ...).

    Attributes
    ----------
    vocabulary_ : dict of str to int
    X_ : scipy.sparse.csr_matrix
        The running bag of words: one row per row of the documents given to `update_bow` (per
        topic, in `TopicModel.partial_fit`), one column per word of `vocabulary_`.
    """

    def __init__(self, decay: float | None = None, delete_min_df: float | None = None, **kwargs):
        self.decay = decay
        self.delete_min_df = delete_min_df
        super().__init__(**kwargs)

    # scikit-learn's get_params reads __init__'s signature: CountVectorizer's parameters are
    # passed through **kwargs, so they are listed here to make clone() and repr work.
    @classmethod
    def _get_param_names(cls):
        return sorted({"decay", "delete_min_df", *CountVectorizer._get_param_names()})

    def partial_fit(self, raw_documents, y=None) -> OnlineCountVectorizer:
        """Learn the words of `raw_documents` that the vocabulary lacks (the first call fits)."""
        if isinstance(raw_documents, str):
            raw_documents = [raw_documents]
        if not hasattr(self, "vocabulary_"):
            return self.fit(raw_documents)
        analyze = self.build_analyzer()
        new = []
        known = self.vocabulary_
        seen: set[str] = set()
        for doc in raw_documents:
            for token in analyze(doc):
                if token not in known and token not in seen:
                    seen.add(token)
                    new.append(token)
        start = max(known.values(), default=-1) + 1
        for offset, token in enumerate(sorted(new)):
            known[token] = start + offset
        return self

    def update_bow(self, raw_documents) -> sp.csr_matrix:
        """Add the counts of `raw_documents` (row i to row i of `X_`; rows and columns are added
        for new rows and new words) after decaying the old ones; returns `X_`."""
        X = self.transform(raw_documents).tocsr().astype(np.float64)
        if not hasattr(self, "X_"):
            self.X_ = X
        else:
            old = self.X_.tocsr()
            rows, cols = max(old.shape[0], X.shape[0]), X.shape[1]
            old = sp.csr_matrix((old.data, old.indices, old.indptr), shape=(old.shape[0], cols))
            if old.shape[0] < rows:
                old = sp.vstack([old, sp.csr_matrix((rows - old.shape[0], cols))]).tocsr()
            if X.shape[0] < rows:
                X = sp.vstack([X, sp.csr_matrix((rows - X.shape[0], cols))]).tocsr()
            if self.decay is not None:
                old = old * (1.0 - float(self.decay))
            self.X_ = (old + X).tocsr()
        if self.delete_min_df is not None:
            self._clean_bow()
        return self.X_

    def _clean_bow(self) -> None:
        """Drop the words whose total count is below `delete_min_df`, renumbering the rest."""
        totals = np.asarray(self.X_.sum(axis=0)).ravel()
        keep = np.flatnonzero(totals >= self.delete_min_df)
        words = self.get_feature_names_out()
        self.X_ = self.X_[:, keep].tocsr()
        self.vocabulary_ = {str(words[i]): n for n, i in enumerate(keep)}
