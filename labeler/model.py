"""`TopicModel`: the fitting API, scikit-learn style and familiar to BERTopic users.

Parameters live in `__init__`, `fit` returns self, fitted state ends in `_`. The model holds no
UMAP or HDBSCAN object after fitting: new documents are assigned by a nearest-neighbour vote in
embedding space, which works identically on a model loaded from a run directory (no pickle).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from labeler import cluster as clustering
from labeler.cache import ArrayCache
from labeler.embed import DEFAULT_MODEL, CachedEmbedder, Embedder, SentenceTransformerEmbedder
from labeler.errors import LabelerError
from labeler.keywords import CTFIDF
from labeler.represent import (
    diversify,
    representative_documents,
    rerank_by_embedding,
    topic_vectors,
    unit,
)

log = logging.getLogger("labeler")

OUTLIER = -1
STAGES = ("keywords", "keybert", "mmr")  # representation chain, in order


def keyword_label(topic: int, words: list[tuple[str, float]], n_words: int = 3) -> str:
    if topic == OUTLIER:
        return "Outliers"
    return "_".join([str(topic), *[w.replace(" ", "-") for w, _ in words[:n_words]]])


class TopicModel:
    """Embed → UMAP → HDBSCAN → c-TF-IDF → KeyBERT-inspired → MMR.

    `embedding_model` is a sentence-transformers id or path, or any object with `key` and
    `embed(texts)` (see `labeler.embed.Embedder`), or None when embeddings are always passed in
    (the embedding-based keyword stages are then skipped).
    """

    def __init__(
        self,
        embedding_model: str | Embedder | None = DEFAULT_MODEL,
        n_neighbors: int = 15,
        n_components: int = 5,
        min_cluster_size: int | None = None,
        min_samples: int | None = None,
        cluster_selection: str = "eom",
        ngram_range: tuple[int, int] = (1, 1),
        min_df: int | None = None,
        stop_words: str | None = "english",
        top_n_words: int = 10,
        n_candidate_words: int = 30,
        n_representative_docs: int = 5,
        mmr_diversity: float = 0.3,
        seed: int = 42,
        layout: bool = True,
        cache_dir: str | None = None,
        use_cache: bool = True,
        show_progress: bool = False,
    ):
        self.embedding_model = embedding_model
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection = cluster_selection
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.stop_words = stop_words
        self.top_n_words = top_n_words
        self.n_candidate_words = n_candidate_words
        self.n_representative_docs = n_representative_docs
        self.mmr_diversity = mmr_diversity
        self.seed = seed
        self.layout = layout
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.show_progress = show_progress

    # ------------------------------------------------------------------ embedding
    def _embedder(self) -> Embedder | None:
        if getattr(self, "_embedder_obj", None) is not None:
            return self._embedder_obj
        model = self.embedding_model
        if model is None:
            embedder = None
        elif isinstance(model, str):
            embedder = SentenceTransformerEmbedder(model)
        else:
            embedder = model
        if embedder is not None and self.use_cache:
            from labeler.cache import EmbeddingCache

            embedder = CachedEmbedder(embedder, EmbeddingCache(self.cache_dir))
        self._embedder_obj = embedder
        return embedder

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        embedder = self._embedder()
        if embedder is None:
            raise LabelerError("no embedding model: pass embeddings, or set embedding_model")
        return embedder.embed(list(texts), show_progress=self.show_progress)

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        documents: Sequence[str],
        embeddings: np.ndarray | None = None,
        doc_ids: Sequence | None = None,
    ) -> TopicModel:
        documents = [str(d) for d in documents]
        if not documents:
            raise LabelerError("no documents to fit")
        self.timings_: dict[str, float] = {}
        clock = time.perf_counter()

        if embeddings is None:
            log.info("embedding %d documents with %s", len(documents), self._model_name())
            embeddings = self.embed(documents)
            embedder = self._embedder()
            if isinstance(embedder, CachedEmbedder) and embedder.hits:
                log.info("embedding cache: %d hits, %d computed", embedder.hits, embedder.misses)
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[0] != len(documents):
            raise LabelerError(
                f"embeddings have shape {embeddings.shape}, expected ({len(documents)}, dim): "
                "one row per document, in the same order"
            )
        if not np.isfinite(embeddings).all():
            raise LabelerError("embeddings contain NaN or infinite values")
        self.timings_["embed"] = time.perf_counter() - clock

        self.documents_ = documents
        self.doc_ids_ = list(doc_ids) if doc_ids is not None else list(range(len(documents)))
        self.embeddings_ = embeddings
        self.min_cluster_size_ = self.min_cluster_size or clustering.default_min_cluster_size(
            len(documents)
        )

        clock = time.perf_counter()
        reduced, layout = self._reduce(embeddings)
        self.layout_ = layout
        self.timings_["reduce"] = time.perf_counter() - clock

        clock = time.perf_counter()
        log.info("clustering (HDBSCAN, min cluster size %d)", self.min_cluster_size_)
        self.topics_, self.probabilities_ = clustering.cluster(
            reduced, self.min_cluster_size_, self.min_samples, self.cluster_selection
        )
        self.timings_["cluster"] = time.perf_counter() - clock

        clock = time.perf_counter()
        self._describe()
        self.timings_["describe"] = time.perf_counter() - clock
        return self

    def fit_transform(self, documents, embeddings=None, doc_ids=None):
        self.fit(documents, embeddings, doc_ids)
        return self.topics_, self.probabilities_

    def _model_name(self) -> str:
        model = self.embedding_model
        return model if isinstance(model, str) or model is None else getattr(model, "key", "custom")

    def _reduce(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        params = ("reduce-v1", self.n_neighbors, self.n_components, self.seed, self.layout)
        cache = ArrayCache(self.cache_dir) if self.use_cache else None
        key = ArrayCache.key(embeddings, *params) if cache else ""
        hit = cache.get(key) if cache else None
        if hit is not None:
            log.info("UMAP: reusing cached reduction")
            self.reduction_cached_ = True
            return hit["reduced"], hit.get("layout")
        self.reduction_cached_ = False
        log.info("UMAP: %d-d for clustering and 2-d for the map", self.n_components)
        reduced, layout = clustering.reduce(
            embeddings, self.n_neighbors, self.n_components, self.seed, with_layout=self.layout
        )
        if layout is None:
            layout = np.zeros((len(embeddings), 2), dtype=np.float32)
        if cache:
            cache.put(key, reduced=reduced, layout=layout)
        return reduced, layout

    def _describe(self) -> None:
        """c-TF-IDF, representative documents and the embedding-based keyword stages."""
        topics = self.topics_
        self.ctfidf_ = CTFIDF(self.ngram_range, self.min_df, self.stop_words).fit(
            self.documents_, topics
        )
        self.topic_ids_ = [int(t) for t in np.unique(topics)]
        self.topic_sizes_ = {t: int((topics == t).sum()) for t in self.topic_ids_}
        self.topic_embeddings_ = topic_vectors(self.embeddings_, topics)
        candidates = {
            t: self.ctfidf_.topic_words(t, self.n_candidate_words) for t in self.topic_ids_
        }
        self.keywords_ = {
            "keywords": {t: c[: self.top_n_words] for t, c in candidates.items()},
        }
        self.representative_docs_ = {
            t: representative_documents(
                self.embeddings_,
                topics,
                t,
                self.topic_embeddings_[t],
                n=self.n_representative_docs,
            )
            for t in self.topic_ids_
        }
        word_vectors = self._word_vectors(candidates)
        if word_vectors is not None:
            keybert, mmr_words = {}, {}
            for t, words in candidates.items():
                vecs = np.stack([word_vectors[w] for w, _ in words]) if words else np.zeros((0, 1))
                centre = self.topic_embeddings_[t]
                keybert[t] = rerank_by_embedding(words, vecs, centre, self.top_n_words)
                mmr_words[t] = diversify(words, vecs, centre, self.top_n_words, self.mmr_diversity)
            self.keywords_["keybert"] = keybert
            self.keywords_["mmr"] = mmr_words
        final = self.keywords_.get("mmr", self.keywords_["keywords"])
        self.labels_ = {t: keyword_label(t, final[t]) for t in self.topic_ids_}

    def _word_vectors(self, candidates: dict) -> dict[str, np.ndarray] | None:
        """Embed every candidate word once; None when no model can embed words in this space."""
        embedder = self._embedder()
        if embedder is None:
            return None
        words = sorted({w for ws in candidates.values() for w, _ in ws})
        if not words:
            return {}
        show, self.show_progress = self.show_progress, False
        try:
            vectors = self.embed(words)
        finally:
            self.show_progress = show
        if vectors.shape[1] != self.embeddings_.shape[1]:
            log.warning(
                "embedding model gives %d-d vectors but the document embeddings are %d-d: "
                "skipping the KeyBERT and MMR keyword stages",
                vectors.shape[1],
                self.embeddings_.shape[1],
            )
            return None
        return dict(zip(words, vectors))

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "topics_"):
            raise LabelerError("this TopicModel is not fitted yet: call fit() first")

    def transform(
        self, documents: Sequence[str], embeddings: np.ndarray | None = None, k: int = 15
    ) -> tuple[np.ndarray, np.ndarray]:
        """Assign new documents by a similarity-weighted vote of their k nearest fitted ones."""
        self._check_fitted()
        if embeddings is None:
            embeddings = self.embed(list(documents))
        queries = unit(np.asarray(embeddings, dtype=np.float32))
        base = unit(self.embeddings_)
        k = min(k, len(base))
        topics = np.empty(len(queries), dtype=np.int64)
        probs = np.empty(len(queries), dtype=np.float32)
        for start in range(0, len(queries), 1024):
            sims = queries[start : start + 1024] @ base.T
            nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            for row, idx in enumerate(nearest):
                weights = np.clip(sims[row, idx], 0, None) + 1e-6
                votes: dict[int, float] = {}
                for t, w in zip(self.topics_[idx], weights):
                    votes[int(t)] = votes.get(int(t), 0.0) + float(w)
                best = max(votes, key=votes.get)
                topics[start + row] = best
                probs[start + row] = votes[best] / sum(votes.values())
        return topics, probs

    def find_topics(self, query: str, top_n: int = 5) -> tuple[list[int], list[float]]:
        """Topics whose centre is most similar to the query, outliers excluded."""
        self._check_fitted()
        vector = unit(self.embed([query])[0])
        ids = [t for t in self.topic_ids_ if t != OUTLIER]
        if not ids:
            return [], []
        sims = np.array([float(self.topic_embeddings_[t] @ vector) for t in ids])
        order = np.argsort(-sims, kind="stable")[:top_n]
        return [ids[i] for i in order], [round(float(sims[i]), 4) for i in order]

    # ------------------------------------------------------------------ inspection
    def get_topic(self, topic: int, stage: str = "keywords") -> list[tuple[str, float]] | bool:
        """A topic's words for one stage (c-TF-IDF by default); False for an unknown topic."""
        self._check_fitted()
        if topic not in self.topic_sizes_:
            return False
        return list(self.keywords_.get(stage, {}).get(topic, []))

    def get_topics(self, stage: str = "keywords") -> dict[int, list[tuple[str, float]]]:
        self._check_fitted()
        return {t: list(w) for t, w in self.keywords_.get(stage, {}).items()}

    def get_representative_docs(self, topic: int | None = None):
        self._check_fitted()
        docs = {
            t: [self.documents_[i] for i in idx] for t, idx in self.representative_docs_.items()
        }
        return docs if topic is None else docs.get(topic, [])

    def get_topic_info(self) -> pd.DataFrame:
        self._check_fitted()
        rows = []
        for t in sorted(self.topic_ids_, key=lambda t: (t == OUTLIER, t)):
            row = {
                "Topic": t,
                "Count": self.topic_sizes_[t],
                "Name": self.labels_[t],
                "Representation": [w for w, _ in self.keywords_["keywords"][t]],
            }
            for stage in STAGES[1:]:
                if stage in self.keywords_:
                    row[stage.upper() if stage == "mmr" else stage.capitalize()] = [
                        w for w, _ in self.keywords_[stage][t]
                    ]
            row["Representative_Docs"] = self.get_representative_docs(t)
            rows.append(row)
        return pd.DataFrame(rows)

    def get_document_info(self, documents: Sequence[str] | None = None) -> pd.DataFrame:
        """Per document: topic, its name, probability, keywords. New documents are transformed."""
        self._check_fitted()
        if documents is None or list(documents) == self.documents_:
            documents = self.documents_
            topics, probs = self.topics_, self.probabilities_
            ids = self.doc_ids_
            representative = {i for idx in self.representative_docs_.values() for i in idx}
            is_rep = [i in representative for i in range(len(documents))]
        else:
            documents = list(documents)
            topics, probs = self.transform(documents)
            ids = list(range(len(documents)))
            is_rep = [False] * len(documents)
        keywords = self.keywords_["keywords"]
        return pd.DataFrame(
            {
                "Document": list(documents),
                "doc_id": ids,
                "Topic": topics,
                "Name": [self.labels_.get(int(t), "") for t in topics],
                "Probability": probs,
                "Representative_document": is_rep,
                "Top_n_words": [" - ".join(w for w, _ in keywords.get(int(t), [])) for t in topics],
            }
        )
