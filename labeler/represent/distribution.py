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


def window_spans(n: int, window: int, stride: int, padding: bool) -> tuple[np.ndarray, np.ndarray]:
    """The windows over a document of `n` tokens as (starts, stops), in BERTopic's order: the
    whole document when it is shorter than `window`; else a window at every `stride`-th token,
    kept when full (or always with `padding`, which also adds the shorter windows that end in
    the document's first tokens)."""
    if n < window:
        return np.array([0]), np.array([n])
    starts = np.arange(0, n, stride)
    stops = np.minimum(starts + window, n)
    if not padding:
        full = stops - starts == window
        return starts[full], stops[full]
    t = math.ceil(window / stride) - 1
    first = np.array([window - (t - i) * stride for i in range(t)], dtype=np.int64)
    return np.concatenate([np.zeros(t, dtype=np.int64), starts]), np.concatenate([first, stops])


def token_sets(tokens: list[str], window: int, stride: int, padding: bool) -> list[list[int]]:
    """The token positions of each window over one document (`window_spans` as lists)."""
    starts, stops = window_spans(len(tokens), window, stride, padding)
    return [list(range(a, b)) for a, b in zip(starts.tolist(), stops.tolist())]


def _spans(tokens: list[list[str]], window: int, stride: int, padding: bool):
    """Every window of a batch: (starts, stops) in the batch's flattened tokens, and how many
    windows each document has."""
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in tokens])]).astype(np.int64)
    starts, stops, counts = [], [], []
    for d, t in enumerate(tokens):
        a, b = window_spans(len(t), window, stride, padding)
        starts.append(a + offsets[d])
        stops.append(b + offsets[d])
        counts.append(len(a))
    return np.concatenate(starts), np.concatenate(stops), np.asarray(counts), offsets


def _cover(starts: np.ndarray, stops: np.ndarray, columns: np.ndarray | None, width: int):
    """A windows × `width` sparse count matrix: window w counts its tokens (positions
    starts[w]..stops[w]), each as its column (`columns[position]`, or the position itself)."""
    lengths = stops - starts
    total = int(lengths.sum())
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    positions = np.repeat(starts, lengths) + (np.arange(total) - np.repeat(indptr[:-1], lengths))
    indices = positions if columns is None else columns[positions]
    matrix = sp.csr_matrix((np.ones(total), indices, indptr), shape=(len(starts), width))
    matrix.sum_duplicates()
    return matrix


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
        starts, stops, counts, offsets = _spans(tokens, window, stride, padding)
        similarity = _similarity(
            ctfidf, vectorizer, topics_rows, tokens, starts, stops, separator, n_topics, embed,
            topic_vectors,
        )  # fmt: skip
        similarity[similarity < min_similarity] = 0
        if calculate_tokens:
            cover = _cover(starts, stops, None, int(offsets[-1]))
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
                shape=(len(batch), len(owner)),
            )
            batch_distr = np.asarray(gather @ similarity)
        distributions.append(_normalize_rows(batch_distr))
        if progress is not None:
            progress(min(begin + step, len(documents)), len(documents))
    if not distributions:
        return np.zeros((0, n_topics)), token_arrays
    return np.vstack(distributions), token_arrays


def _similarity(ctfidf, vectorizer, topics_rows, tokens, starts, stops, separator, n_topics,
                embed, topic_vectors) -> np.ndarray:  # fmt: skip
    """Each window's similarity to each topic (windows of the batch in order × topics)."""
    n_windows = len(starts)
    if embed is None and (topics_rows is None or n_topics == 0):
        return np.zeros((n_windows, n_topics))
    if embed is not None or not _word_counts_add_up(vectorizer, separator):
        flat = [word for t in tokens for word in t]
        sentences = [separator.join(flat[a:b]) for a, b in zip(starts.tolist(), stops.tolist())]
        if embed is not None:
            vectors = _unit_rows(np.asarray(embed(sentences), dtype=np.float64))
            return vectors @ np.asarray(topic_vectors, dtype=np.float64).T
        counts = vectorizer.transform(sentences)
    else:
        vocabulary: dict[str, int] = {}
        ids = np.fromiter(
            (vocabulary.setdefault(word, len(vocabulary)) for t in tokens for word in t),
            dtype=np.int64,
        )
        if not vocabulary:
            return np.zeros((n_windows, n_topics))
        per_word = vectorizer.transform(list(vocabulary)).tocsr()  # dicts keep their order
        counts = _cover(starts, stops, ids, len(vocabulary)) @ per_word
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
