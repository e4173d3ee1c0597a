"""A fitted `TopicModel`'s topic distributions: BERTopic's `approximate_distribution` (token
windows against the topics, `labeler.represent.distribution`) and each document's mix of topics
(what a run keeps in documents.parquet)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from labeler import defaults
from labeler.errors import LabelerError
from labeler.represent import OUTLIER
from labeler.represent import distribution as approx

log = logging.getLogger("labeler")


class DistributionMixin:
    """`approximate_distribution` and `topic_mix` on the fitted model."""

    def approximate_distribution(
        self,
        documents: str | Sequence[str],
        window: int = defaults.DISTRIBUTION_WINDOW,
        stride: int = defaults.DISTRIBUTION_STRIDE,
        min_similarity: float = defaults.DISTRIBUTION_MIN_SIMILARITY,
        batch_size: int | None = defaults.DISTRIBUTION_BATCH_SIZE,
        padding: bool = False,
        use_embedding_model: bool = False,
        calculate_tokens: bool = False,
        separator: str = " ",
    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """Each document's topic distribution, from windows of its tokens, as BERTopic's.

        Every document (fitted or new; one string is one document) is split into tokens by
        the c-TF-IDF vectorizer; a window of `window` tokens moves `stride` tokens at a time
        (`padding` adds the shorter windows at the start, and keeps those cut at the end); each
        window's c-TF-IDF is compared with each topic's (cosine; with `use_embedding_model`, the
        window's embedding with the topic's centre), similarities under `min_similarity`
        count 0, and a document's sums are L1-normalised. `separator` joins a window's tokens
        (for the embedding model, and for vectorizers whose counts are not per word).
        `batch_size` documents are done at a time (None: all at once).

        Returns `(topic_distr, topic_token_distr)`: an (n_documents, n_topics) array, columns
        the topics in id order (outliers excluded), rows summing to 1, or to 0 when no window
        resembles any topic; and with `calculate_tokens` a list of (n_tokens, n_topics) arrays,
        one per document, each token's summed similarities (for
        `visualize_approximate_distribution(doc, topic_token_distr[i])`), else None.
        `visualize_distribution(topic_distr[i])` draws one row."""
        self._check_fitted()
        if isinstance(documents, str):
            documents = [documents]
        for name, value in (("window", window), ("stride", stride)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise LabelerError(f"{name} is a number of tokens (1 or more), not {value!r}")
        if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) < 1):
            raise LabelerError(f"batch_size is a number of documents or None, not {batch_size!r}")
        ids = [t for t in sorted(self.topic_ids_) if t != OUTLIER]
        embed = vectors = None
        if use_embedding_model and ids:
            if self._embedder() is None:
                raise LabelerError(
                    "use_embedding_model=True embeds each window: this model has no embedding_model"
                )
            embed = self._embed_words
            vectors = np.stack([self.topic_centres_[t] for t in ids])
        progress = None
        if self.show_progress:

            def progress(done: int, total: int) -> None:
                log.info("approximate_distribution: %d of %d documents", done, total)

        return approx.approximate_distribution(
            self.ctfidf_, ids, list(documents), window=int(window), stride=int(stride),
            min_similarity=float(min_similarity), batch_size=batch_size, padding=padding,
            calculate_tokens=calculate_tokens, separator=separator, embed=embed,
            topic_vectors=vectors, progress=progress,
        )  # fmt: skip

    def topic_mix(
        self, top: int = defaults.MIX_TOP
    ) -> tuple[list[list[int]], list[list[float]], str]:
        """Each fitted document's `top` topics with their shares (largest first): from
        `probabilities_` when it is the full distribution (`calculate_probabilities`), else
        from `approximate_distribution` of the fitted documents. Returns (topics, shares,
        method), method being `probability_method_` ("hdbscan", "centres") or
        "approximate_distribution"; what a run writes as documents.parquet's `mix_topics` and
        `mix_shares`."""
        self._check_fitted()
        ids = [t for t in sorted(self.topic_ids_) if t != OUTLIER]
        method = self.mix_method()
        if method == "approximate_distribution":
            matrix, _ = self.approximate_distribution(self.documents_)
        else:
            matrix = self.probabilities_
        topics, shares = approx.top_topics(matrix, ids, top)
        return topics, shares, method

    def mix_method(self) -> str:
        """Where `topic_mix` takes the documents' shares from: `probability_method_` when
        `probabilities_` is the full distribution, else "approximate_distribution"."""
        ids = [t for t in self.topic_ids_ if t != OUTLIER]
        matrix = getattr(self, "probabilities_", None)
        if np.ndim(matrix) == 2 and np.shape(matrix) == (len(self.documents_), len(ids)):
            return getattr(self, "probability_method_", "centres")
        return "approximate_distribution"
