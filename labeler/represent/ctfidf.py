"""Class-based TF-IDF: the words that set one topic's documents apart from all others.

Same weighting as BERTopic (L1 term frequency per topic × log(1 + mean words per topic / word
frequency)), but the vocabulary is learned from the documents themselves with a `min_df` that grows
with the corpus, so 20 Newsgroups' uuencoded blobs cannot blow it up, and tokens must start with a
letter, so numbers and hashes never become keywords.

A user's `CountVectorizer` (`TopicModel(vectorizer_model=...)`) replaces that vocabulary, and
`ClassTfidfTransformer` (`ctfidf_model=...`, BERTopic's class of the same name) chooses BERTopic's
other weightings: BM25-inspired IDF, square-rooted term frequencies, seed words.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.feature_extraction.text import CountVectorizer

from labeler.defaults import N_CANDIDATE_WORDS, NGRAM_RANGE, STOP_WORDS
from labeler.errors import LabelerError
from labeler.represent._base import TopicInput, Words

TOKEN_PATTERN = r"(?u)\b[^\W\d_][\w-]*[^\W_]\b"


# Fragments the token pattern leaves of contractions ("didn't" → "didn"), which sklearn's English
# list misses; they would otherwise top the keywords of every conversational corpus.
CONTRACTIONS = frozenset(
    {"didn", "doesn", "don", "dont", "isn", "wasn", "weren", "aren", "couldn", "wouldn"}
    | {"shouldn", "haven", "hasn", "hadn", "won", "ll", "ve", "re", "im", "ive", "id"}
    | {"youre", "thats", "cant", "wont"}
)


def is_english(language: str | None) -> bool:
    """Whether `language` (BERTopic's parameter) means English documents."""
    return language is None or str(language).strip().lower() in ("english", "en")


def stop_word_list(stop_words, language: str | None = "english"):
    """The stop words for a language.

    "english" (the default) means sklearn's list and contraction fragments for English
    documents, and for documents in another single language (`language="german"` or "de") that
    language's stopwords-iso list; "multilingual" keeps every word. A string names languages by
    code or name, joined by "+" ("english+de": English documents labelled in German, as
    `labeler run --label-language de` asks); a list is used as it is."""
    if stop_words == "english" and not is_english(language):
        from labeler.corpus.languages import language_code
        from labeler.corpus.languages import stop_words as listed

        code = language_code(language)
        return listed(code) if code else None
    if isinstance(stop_words, str):
        return sorted(set().union(*(_one_list(part) for part in stop_words.split("+"))))
    return stop_words


def _one_list(language: str) -> set[str]:
    from labeler.corpus.languages import language_code, stop_words

    code = language_code(language)
    if code == "en":
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return set(ENGLISH_STOP_WORDS | CONTRACTIONS)
    words = stop_words(code) if code else None
    if words is None:
        raise LabelerError(
            f"no stop word list for {language.strip()!r}: give a language code or name such as "
            "'english', 'de' or 'french' (stopwords-iso's 58 languages), or a list of words"
        )
    return set(words)


def default_min_df(n_docs: int) -> int:
    """2 for small corpora, rising slowly so rare junk tokens never enter the vocabulary."""
    return int(max(1 if n_docs < 50 else 2, min(20, n_docs // 2000)))


def make_vectorizer(
    n_docs: int,
    ngram_range=NGRAM_RANGE,
    min_df: int | None = None,
    stop_words=STOP_WORDS,
    language: str | None = "english",
):
    return CountVectorizer(
        stop_words=stop_word_list(stop_words, language),
        ngram_range=tuple(ngram_range),
        min_df=default_min_df(n_docs) if min_df is None else min_df,
        max_df=0.5 if n_docs >= 200 else 1.0,
        token_pattern=TOKEN_PATTERN,
        lowercase=True,
        dtype=np.float32,
    )


# BERTopic's weight for seed words (`seed_topic_list`): their IDF is multiplied by 1.2, enough to
# lift a seed word that the topic uses over a near tie, not to put an absent word in its keywords.
SEED_MULTIPLIER = 1.2


def ctfidf_idf(counts: sp.spmatrix, bm25_weighting: bool = False) -> np.ndarray:
    """From topic × word counts: log(1 + A / f), A the mean words per topic and f the word's
    frequency over all topics; with `bm25_weighting`, BERTopic's BM25-inspired
    log(1 + (A - f + 0.5) / (f + 0.5)), which can be negative for words more frequent than A."""
    frequency = np.asarray(counts.sum(axis=0)).ravel()
    mean_words = float(np.asarray(counts.sum(axis=1)).mean()) if counts.shape[0] else 0.0
    if bm25_weighting:
        return np.log(1.0 + (mean_words - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)
    return np.log(1.0 + mean_words / np.maximum(frequency, 1e-12)).astype(np.float32)


def ctfidf_weights(
    counts: sp.spmatrix, idf: np.ndarray | None = None, reduce_frequent_words: bool = False
) -> sp.csr_matrix:
    """c-TF-IDF from topic × word counts; a function of the counts alone, so counts summed over
    streamed batches (`labeler.pipeline.large`) weigh exactly as counts of the whole corpus at once.
    `idf`: the corpus' weights, for counts of a slice of it (topics over time, per class).
    `reduce_frequent_words`: the square root of the L1 term frequencies (BERTopic's option)."""
    tf = sp.diags(1.0 / np.maximum(np.asarray(counts.sum(axis=1)).ravel(), 1e-12)) @ counts
    tf = sp.csr_matrix(tf)
    if reduce_frequent_words:
        tf.data = np.sqrt(tf.data)
    idf = ctfidf_idf(counts) if idf is None else idf
    return (tf @ sp.diags(idf)).tocsr().astype(np.float32)


class ClassTfidfTransformer(BaseEstimator):
    """BERTopic's c-TF-IDF options (`bertopic.vectorizers.ClassTfidfTransformer`), as
    `TopicModel(ctfidf_model=...)` takes them; `fit(X)` / `transform(X)` on topic × word counts
    also work alone, as BERTopic's do.

    Parameters
    ----------
    bm25_weighting : bool, default False
        IDF log(1 + (A - f + 0.5) / (f + 0.5)) instead of log(1 + A / f) (A: mean words per
        topic, f: the word's frequency over all topics).
    reduce_frequent_words : bool, default False
        Square root of the L1-normalised term frequencies, so that very frequent words weigh less.
    seed_words : list of str or None, default None
        Words whose IDF is multiplied by `seed_multiplier` (exact matches only). Seed topics'
        words (`seed_topic_list`) get 1.2 instead, as in BERTopic.
    seed_multiplier : float, default 2
    """

    def __init__(
        self,
        bm25_weighting: bool = False,
        reduce_frequent_words: bool = False,
        seed_words: list[str] | None = None,
        seed_multiplier: float = 2,
    ):
        self.bm25_weighting = bm25_weighting
        self.reduce_frequent_words = reduce_frequent_words
        self.seed_words = seed_words
        self.seed_multiplier = seed_multiplier

    def multiplier(self, words, seed_topic_words: Collection[str] = ()) -> np.ndarray | None:
        """The IDF multiplier per word: `seed_multiplier` for `seed_words`, then
        SEED_MULTIPLIER (1.2) for seed topics' words; None when neither applies."""
        seeds, topic_seeds = set(self.seed_words or ()), set(seed_topic_words)
        if not seeds and not topic_seeds:
            return None
        return np.array(
            [
                SEED_MULTIPLIER if w in topic_seeds else self.seed_multiplier if w in seeds else 1.0
                for w in words
            ],
            dtype=np.float64,
        )

    def fit(self, X, multiplier: np.ndarray | None = None) -> ClassTfidfTransformer:
        """Learn the IDF from topic × word counts `X` (one row per topic)."""
        idf = ctfidf_idf(sp.csr_matrix(X), self.bm25_weighting)
        if multiplier is not None:
            idf = (idf * np.asarray(multiplier, dtype=np.float64)).astype(np.float32)
        self.idf_ = idf
        return self

    def transform(self, X) -> sp.csr_matrix:
        """c-TF-IDF of topic × word counts `X` with the fitted IDF."""
        return ctfidf_weights(sp.csr_matrix(X), self.idf_, self.reduce_frequent_words)

    def fit_transform(self, X, y=None, multiplier: np.ndarray | None = None) -> sp.csr_matrix:
        return self.fit(X, multiplier).transform(X)


def topic_counts(doc_term: sp.spmatrix, topics: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix]:
    """The topic ids (sorted) and their topic × word frequencies (documents' counts summed)."""
    ids = np.unique(topics)
    row = {t: i for i, t in enumerate(ids)}
    ones = np.ones(len(topics), dtype=np.float32)
    membership = sp.csr_matrix(
        (ones, ([row[t] for t in topics], np.arange(len(topics)))), shape=(len(ids), len(topics))
    )
    return ids, (membership @ doc_term).tocsr()


class CTFIDF:
    """Fit on documents and their topics; `topic_words(t)` gives the best words of topic t.

    `vectorizer_model`: a CountVectorizer used as given (a clone of it is fitted on the
    documents) instead of labeler's; `ctfidf_model`: a `ClassTfidfTransformer` for BERTopic's
    other weightings; `language`: English stop words only for English documents."""

    def __init__(
        self,
        ngram_range=NGRAM_RANGE,
        min_df: int | None = None,
        stop_words=STOP_WORDS,
        seed_words: Collection[str] | None = None,
        *,
        vectorizer_model=None,
        ctfidf_model: ClassTfidfTransformer | None = None,
        language: str | None = "english",
    ):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.stop_words = stop_words
        self.seed_words = seed_words
        self.vectorizer_model = vectorizer_model
        self.ctfidf_model = ctfidf_model
        self.language = language

    def fit(self, texts: list[str], topics: np.ndarray) -> CTFIDF:
        if self.vectorizer_model is not None:
            vectorizer = clone(self.vectorizer_model)
            try:
                doc_term = vectorizer.fit_transform(texts)
            except ValueError as exc:
                raise LabelerError(f"vectorizer_model found no words: {exc}") from exc
            return self._weigh(vectorizer, *topic_counts(doc_term, topics))
        vectorizer = make_vectorizer(
            len(texts), self.ngram_range, self.min_df, self.stop_words, self.language
        )
        try:
            doc_term = vectorizer.fit_transform(texts)
        except ValueError:
            # Vocabulary empty after pruning (tiny or numeric corpus): retry with no pruning at all.
            vectorizer = make_vectorizer(len(texts), self.ngram_range, 1, None)
            vectorizer.max_df = 1.0
            try:
                doc_term = vectorizer.fit_transform(texts)
            except ValueError:
                vectorizer, doc_term = None, sp.csr_matrix((len(texts), 0), dtype=np.float32)
        return self._weigh(vectorizer, *topic_counts(doc_term, topics))

    def from_counts(self, vectorizer, topic_ids, counts: sp.spmatrix) -> CTFIDF:
        """Fitted from topic × word counts in `vectorizer`'s vocabulary instead of texts: counts
        summed over streamed batches of a corpus too large to vectorize at once
        (`labeler.pipeline.large`) weigh exactly as the whole corpus' would."""
        return self._weigh(vectorizer, np.asarray(topic_ids), sp.csr_matrix(counts))

    def _weigh(self, vectorizer, topic_ids: np.ndarray, counts: sp.csr_matrix) -> CTFIDF:
        self.vectorizer_ = vectorizer
        self.words_ = (
            np.array([])
            if vectorizer is None
            else vectorizer.get_feature_names_out().astype(object)
        )
        self.topic_ids_ = topic_ids
        self.counts_ = counts
        weighting = self.ctfidf_model if self.ctfidf_model is not None else ClassTfidfTransformer()
        seeds = {w.lower() for w in self.seed_words or ()}
        self.weighting_ = clone(weighting).fit(
            self.counts_, weighting.multiplier(self.words_, seeds)
        )
        self.idf_ = self.weighting_.idf_
        self.c_tf_idf_ = self.weighting_.transform(self.counts_)
        self._row = {int(t): i for i, t in enumerate(topic_ids)}
        return self

    def doc_term(self, texts: list[str]) -> sp.csr_matrix:
        """Word counts per document in the fitted vocabulary."""
        if self.vectorizer_ is None:
            return sp.csr_matrix((len(texts), 0), dtype=np.float32)
        return self.vectorizer_.transform(texts).tocsr()

    def slice_weights(self, doc_term: sp.csr_matrix, topics: np.ndarray):
        """c-TF-IDF of a slice of the corpus (documents of one period or class): the slice's
        term frequencies per topic with the whole corpus' IDF, as BERTopic's topics over time.
        Returns the topic ids present in the slice and their rows."""
        ids, counts = topic_counts(doc_term, topics)
        return ids, self.weighting_.transform(counts)

    def row(self, topic: int) -> int | None:
        """The row of `c_tf_idf_` holding `topic`."""
        return self._row.get(topic)

    def topic_words(self, topic: int, top_n: int = N_CANDIDATE_WORDS) -> Words:
        if topic not in self._row or self.c_tf_idf_.shape[1] == 0:
            return []
        scores = self.c_tf_idf_[self._row[topic]].toarray().ravel()
        top = np.argsort(-scores, kind="stable")[:top_n]
        return [(str(self.words_[i]), float(scores[i])) for i in top if scores[i] > 0]


class CTFIDFStage:
    """The first stage: the best c-TF-IDF candidates themselves."""

    name: ClassVar[str] = "ctfidf"
    key: ClassVar[str] = "keywords"
    title: ClassVar[str] = "c-TF-IDF"
    column: ClassVar[str] = "Representation"
    needs_vectors: ClassVar[bool] = False

    def words(self, topic: TopicInput) -> Words:
        return list(topic.candidates[: topic.top_n])
