"""Topic distributions after the fit: BERTopic's `approximate_distribution`, and each
document's top topics with their shares (the run's `mix_topics` / `mix_shares`).

A document is split into tokens by the c-TF-IDF vectorizer's tokenizer, a window of `window`
tokens slides over it `stride` tokens at a time, and each window (a "token set") is compared
with every topic: the cosine between the window's c-TF-IDF (the fit's IDF) and the topic's
c-TF-IDF row (or, with `use_embedding_model`, between the window's embedding and the topic's
centre). Similarities under `min_similarity` are set to 0, the rest summed over the document's
windows and L1-normalised: the document's topic distribution, one column per topic (outliers
excluded, in id order), rows summing to 1 or 0 (no window resembles any topic). With
`calculate_tokens`, each token also gets the sum of the similarities of the windows holding it
(a tokens × topics array per document, what `visualize_approximate_distribution` draws), and
the document's distribution is the sum of its tokens', as BERTopic computes it.

Same semantics as BERTopic 0.17's method; faster: the windows are counted as sums of their
tokens' counts (one sparse product) instead of vectorising every window's text, whenever that
gives the same counts (a word analyzer of single words with no custom preprocessor or
tokenizer, and a whitespace separator); otherwise the windows' texts are vectorised as BERTopic
does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from labeler import defaults

MIX_TOP = defaults.MIX_TOP  # topics kept per document in the run (documents.parquet's mix columns)


def token_sets(tokens: list[str], window: int, stride: int, padding: bool) -> list[list[int]]:
    """The token positions of each window over one document, in BERTopic's order: the whole
    document when it is shorter than `window`; else a window at every `stride`-th token, kept
    when full (or always with `padding`, which also adds the shorter windows that end in the
    document's first tokens)."""
    n = len(tokens)
    if n < window:
        return [list(range(n))]
    sets = []
    for start in range(0, n, stride):
        stop = min(start + window, n)
        if padding or stop - start == window:
            sets.append(list(range(start, stop)))
    if padding:
        t = math.ceil(window / stride) - 1
        sets = [list(range(0, window - (t - i) * stride)) for i in range(t)] + sets
    return sets


def _word_counts_add_up(vectorizer, separator: str) -> bool:
    """Whether a window's counts are the sum of its tokens' own counts for this vectorizer."""
    return (
        getattr(vectorizer, "analyzer", None) == "word"
        and tuple(getattr(vectorizer, "ngram_range", (1, 1))) == (1, 1)
        and getattr(vectorizer, "preprocessor", None) is None
        and getattr(vectorizer, "tokenizer", None) is None
        and separator.isspace()
    )


def _normalize_rows(matrix: np.ndarray) -> np.ndarray:
    total = np.abs(matrix).sum(axis=1, keepdims=True)
    return np.divide(matrix, total, out=np.zeros_like(matrix), where=total > 0)


def _unit_rows(matrix):
    if sp.issparse(matrix):
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        return sp.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def approximate_distribution(
    ctfidf,
    topic_ids: Sequence[int],
    documents: Sequence[str],
    *,
    window: int = defaults.DISTRIBUTION_WINDOW,
    stride: int = defaults.DISTRIBUTION_STRIDE,
    min_similarity: float = defaults.DISTRIBUTION_MIN_SIMILARITY,
    batch_size: int | None = defaults.DISTRIBUTION_BATCH_SIZE,
    padding: bool = False,
    calculate_tokens: bool = False,
    separator: str = " ",
    embed: Callable[[list[str]], np.ndarray] | None = None,
    topic_vectors: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """(n_documents, n_topics) distributions and, with `calculate_tokens`, one (n_tokens,
    n_topics) array per document (an empty document: one row of zeros, as BERTopic).

    `ctfidf`: a fitted `labeler.represent.CTFIDF`; `topic_ids`: the columns (real topics, in
    order). `embed` and `topic_vectors` (unit rows, one per topic id): compare windows in
    embedding space instead (BERTopic's `use_embedding_model`). `progress(done, total)` is
    called after each batch of documents."""
    ids = [int(t) for t in topic_ids]
    documents = [str(d) for d in documents]
    if window < 1 or stride < 1:
        raise ValueError("window and stride are numbers of tokens: 1 or more")
    vectorizer = ctfidf.vectorizer_
    if vectorizer is None:  # no vocabulary: nothing resembles any topic
        tokenize = None
        topics_rows = None
    else:
        tokenize = vectorizer.build_tokenizer()
        rows = [ctfidf.row(t) for t in ids]
        weights = ctfidf.c_tf_idf_.tocsr()
        topics_rows = sp.vstack(
            [weights[r] if r is not None else sp.csr_matrix((1, weights.shape[1]))
             for r in rows]
        ).tocsr() if ids else sp.csr_matrix((0, weights.shape[1]))  # fmt: skip
        topics_rows = _unit_rows(topics_rows.astype(np.float64)).T.tocsc()
    n_topics = len(ids)
    step = len(documents) if not batch_size else int(batch_size)
    step = max(step, 1)
    distributions: list[np.ndarray] = []
    token_arrays: list[np.ndarray] | None = [] if calculate_tokens else None
    for begin in range(0, len(documents), step):
        batch = documents[begin : begin + step]
        tokens = [tokenize(d) if tokenize else [] for d in batch]
        sets = [token_sets(t, window, stride, padding) for t in tokens]
        similarity = _similarity(
            ctfidf, vectorizer, topics_rows, tokens, sets, separator, n_topics, embed,
            topic_vectors,
        )  # fmt: skip
        similarity[similarity < min_similarity] = 0
        counts = [len(s) for s in sets]
        starts = np.concatenate([[0], np.cumsum(counts)])
        if calculate_tokens:
            offsets = np.concatenate([[0], np.cumsum([len(t) for t in tokens])])
            cols = [offsets[d] + np.asarray(s, dtype=np.int64)
                    for d, doc_sets in enumerate(sets) for s in doc_sets]  # fmt: skip
            lengths = [len(c) for c in cols]
            cover = sp.csr_matrix(
                (np.ones(sum(lengths)), (np.repeat(np.arange(len(cols)), lengths),
                 np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64))),
                shape=(len(cols), int(offsets[-1])),
            )  # fmt: skip
            per_token = np.asarray(cover.T @ similarity)  # every token of the batch × topics
            batch_distr = np.zeros((len(batch), n_topics))
            for d in range(len(batch)):
                if tokens[d]:
                    array = per_token[offsets[d] : offsets[d + 1]]
                else:
                    array = np.zeros((1, n_topics))
                token_arrays.append(array)
                batch_distr[d] = array.sum(axis=0)
        else:
            owner = np.repeat(np.arange(len(batch)), counts)
            gather = sp.csr_matrix(
                (np.ones(len(owner)), (owner, np.arange(len(owner)))),
                shape=(len(batch), int(starts[-1])),
            )
            batch_distr = np.asarray(gather @ similarity)
        distributions.append(_normalize_rows(batch_distr))
        if progress is not None:
            progress(min(begin + step, len(documents)), len(documents))
    if not distributions:
        return np.zeros((0, n_topics)), token_arrays
    return np.vstack(distributions), token_arrays


def _similarity(ctfidf, vectorizer, topics_rows, tokens, sets, separator, n_topics, embed,
                topic_vectors) -> np.ndarray:  # fmt: skip
    """Each window's similarity to each topic (windows of the batch in order × topics)."""
    n_windows = sum(len(s) for s in sets)
    if embed is not None:
        sentences = [separator.join(t[i] for i in s) for t, doc in zip(tokens, sets) for s in doc]
        vectors = _unit_rows(np.asarray(embed(sentences), dtype=np.float64))
        return vectors @ np.asarray(topic_vectors, dtype=np.float64).T
    if topics_rows is None or n_topics == 0:
        return np.zeros((n_windows, n_topics))
    if _word_counts_add_up(vectorizer, separator):
        vocabulary = {}
        flat = []
        for t in tokens:
            for word in t:
                flat.append(vocabulary.setdefault(word, len(vocabulary)))
        unique = sorted(vocabulary, key=vocabulary.get)
        per_word = vectorizer.transform(unique).tocsr() if unique else None
        offsets = np.concatenate([[0], np.cumsum([len(t) for t in tokens])])
        flat = np.asarray(flat, dtype=np.int64)
        cols = [flat[offsets[d] + np.asarray(s, dtype=np.int64)]
                for d, doc in enumerate(sets) for s in doc]  # fmt: skip
        lengths = [len(c) for c in cols]
        windows = sp.csr_matrix(
            (np.ones(sum(lengths)), (np.repeat(np.arange(len(cols)), lengths),
             np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64))),
            shape=(len(cols), len(unique)),
        )  # fmt: skip
        counts = (windows @ per_word) if per_word is not None else None
        if counts is None:
            return np.zeros((n_windows, n_topics))
    else:
        sentences = [separator.join(t[i] for i in s) for t, doc in zip(tokens, sets) for s in doc]
        counts = vectorizer.transform(sentences)
    weighted = ctfidf.weighting_.transform(sp.csr_matrix(counts, dtype=np.float64))
    return np.asarray((_unit_rows(weighted.astype(np.float64)) @ topics_rows).todense())


def top_topics(
    distribution: np.ndarray, topic_ids: Sequence[int], top: int = MIX_TOP
) -> tuple[list[list[int]], list[list[float]]]:
    """Each row's `top` largest topics (ids, largest share first, ties by id) and their shares
    (rounded to 4 places), only those above 0: the run's `mix_topics` and `mix_shares`."""
    ids = np.asarray([int(t) for t in topic_ids], dtype=np.int64)
    values = np.asarray(distribution, dtype=np.float64)
    topics_out: list[list[int]] = []
    shares_out: list[list[float]] = []
    if values.ndim != 2 or values.shape[1] != len(ids):
        raise ValueError(f"a distribution of shape {values.shape} for {len(ids)} topics")
    order = np.argsort(-values, axis=1, kind="stable")[:, :top]
    for row, columns in zip(values, order):
        kept = [c for c in columns if row[c] > 0]
        topics_out.append([int(ids[c]) for c in kept])
        shares_out.append([round(float(row[c]), 4) for c in kept])
    return topics_out, shares_out
