"""Models that grow or combine: BERTopic's `partial_fit` (online topic modelling over batches
with incremental components) and `merge_models` (the topics of several fitted models in one),
for `TopicModel`.

`partial_fit(docs)` needs a reduction and a clusterer that learn batch by batch, as BERTopic's
(`IncrementalPCA`, `MiniBatchKMeans`), and counts words with an `OnlineCountVectorizer`
(`labeler.represent.online`; labeler builds one from its own vocabulary settings when no
`vectorizer_model` is given). Each batch is embedded, reduced and clustered by the incremental
components; a cluster seen for the first time becomes a new topic; the topics' word counts
decay and grow (`update_bow`), their sizes and centres add up over every batch, and every topic
is described again from them (`describe_topics` on the accumulated counts, as the large path
does). As in BERTopic, `topics_` (and `documents_`, `embeddings_`) hold the latest batch.

`merge_models([m1, m2, ...], min_similarity)` keeps the first model's topics and adds each later
model's topics whose centre's cosine similarity to every topic of the merged model is below
`min_similarity`; a later model's other topics join the topic they match. Unlike BERTopic's
(which keeps no documents), the merged model holds every model's documents, so it is described
from them, saves as a run and works with every call; names given to a topic (LLM, custom,
zero-shot, a run's reviewed label) stay with it, and keyword labels are made again under the
topic's merged id. `labeler.pipeline.merge` does the same for two run folders.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from labeler import cluster as clustering
from labeler import guided
from labeler.errors import LabelerError
from labeler.model.mapper import TopicMapper
from labeler.represent import OUTLIER, CorpusCounts, keyword_label, unit

log = logging.getLogger("labeler")

DEFAULT_MIN_SIMILARITY = 0.7  # BERTopic's merge_models default


@dataclass
class OnlineState:
    """What `partial_fit` carries from batch to batch (`TopicModel.online_`)."""

    topic_of: dict[int, int] = field(default_factory=dict)  # clusterer label → topic id
    rows: list[int] = field(default_factory=list)  # topic ids in the bag of words' row order
    sizes: dict[int, int] = field(default_factory=dict)  # documents per topic, every batch
    centre_sums: dict[int, np.ndarray] = field(default_factory=dict)  # of unit embeddings
    documents_seen: int = 0
    batches: int = 0
    seed_vectors: np.ndarray | None = None
    # topic → its representative documents over every batch so far, as (text, unit vector)
    representative: dict[int, list[tuple[str, np.ndarray]]] = field(default_factory=dict)


@dataclass
class Merge:
    """What `merge_fitted` did: the merged model and, per source model, each of its topics'
    merged topic (`mappings`), which of them were added (`added`) and which of its documents'
    rows were kept (`rows`; a document already in an earlier model, same id and text, is not
    added twice)."""

    model: object
    mappings: list[dict[int, int]]
    added: list[list[int]]
    rows: list[np.ndarray]


def _online_parts(model) -> None:
    """The components partial_fit needs, checked before anything is embedded."""
    name = model._param
    if model.hdbscan_model is None or not hasattr(model.hdbscan_model, "partial_fit"):
        given = (
            "labeler's HDBSCAN"
            if model.hdbscan_model is None
            else type(model.hdbscan_model).__name__
        )
        raise LabelerError(
            f"partial_fit needs {name('hdbscan_model')}= a clusterer that learns batch by batch "
            f"(with partial_fit), such as sklearn.cluster.MiniBatchKMeans(n_clusters=50); "
            f"{given} clusters all documents at once: use fit"
        )
    if model.umap_model is None:
        raise LabelerError(
            f"partial_fit needs {name('umap_model')}= a reduction that learns batch by batch, "
            "such as sklearn.decomposition.IncrementalPCA(n_components=5) (or "
            "BaseDimensionalityReduction() for none); labeler's UMAP reduces all documents at "
            "once: use fit"
        )
    clustering.check_reducer(model.umap_model)
    vectorizer = model.vectorizer_model
    if vectorizer is not None and not (
        hasattr(vectorizer, "partial_fit") and hasattr(vectorizer, "update_bow")
    ):
        raise LabelerError(
            f"partial_fit needs {name('vectorizer_model')}= an OnlineCountVectorizer "
            "(labeler.bertopic.vectorizers; partial_fit and update_bow), such as "
            f'OnlineCountVectorizer(stop_words="english", decay=.01), not '
            f"{type(vectorizer).__name__}, whose vocabulary is fixed by its first fit"
        )
    if model.zeroshot_topic_list is not None:
        raise LabelerError(
            f"partial_fit does not take zero-shot topics ({name('zeroshot_topic_list')}): use fit"
        )


class CombineMixin:
    """`TopicModel.partial_fit` (online, over batches) and `TopicModel.merge_models`."""

    # ------------------------------------------------------------------ online
    def partial_fit(self, documents, embeddings: np.ndarray | None = None, y=None):
        """Fit on one batch of documents more (BERTopic's online topic modelling); returns self.

        Needs incremental components, as BERTopic's: `umap_model` with `partial_fit` (such as
        `IncrementalPCA(n_components=5)`; a reduction without it is fitted on the first batch
        and then only applied), `hdbscan_model` with `partial_fit` (such as
        `MiniBatchKMeans(n_clusters=50)`) and `vectorizer_model` an `OnlineCountVectorizer`
        (`labeler.bertopic.vectorizers`; by default labeler's vocabulary settings in one, with
        no decay). A cluster seen for the first time becomes a new topic (`topic_mapper_`
        records it); sizes, centres and the decaying word counts cover every batch, and every
        topic is described again from them. `topics_`, `documents_` and `embeddings_` are the
        latest batch's (as BERTopic's `topics_`); `doc_ids_` count documents across batches;
        representative documents are chosen over every batch (the nearest to each topic's
        running centre), where BERTopic's come from the latest batch only.
        `representation_model`'s LLM namers are not called per batch, and the model does not
        save as a run (it holds the latest batch's documents only). `y` is not used (BERTopic's
        partial_fit ignores it too)."""
        if y is not None:
            raise LabelerError("partial_fit is unsupervised: y is not used (pass y=None)")
        if isinstance(documents, str):
            documents = [documents]
        documents = [str(d) for d in documents]
        if not documents:
            raise LabelerError("no documents in this batch")
        state: OnlineState | None = getattr(self, "online_", None)
        if state is None and hasattr(self, "topics_"):
            raise LabelerError(
                f"this {type(self).__name__} was fitted with fit(): partial_fit continues only "
                "a partial_fit (start from an unfitted model, e.g. sklearn.base.clone(model))"
            )
        self._check_parts()
        _online_parts(self)
        seeds, _ = self._guidance()
        clock = time.perf_counter()
        if embeddings is None:
            embeddings = self.embed(documents)
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[0] != len(documents):
            raise LabelerError(
                f"embeddings have shape {embeddings.shape}, expected ({len(documents)}, dim): "
                "one row per document, in the same order"
            )
        first = state is None
        if first:
            from sklearn.base import clone

            state = OnlineState()
            self.umap_model_ = clone(self.umap_model, safe=False)
            self.hdbscan_model_ = clone(self.hdbscan_model, safe=False)
            self.vectorizer_ = (
                clone(self.vectorizer_model) if self.vectorizer_model is not None
                else self._default_online_vectorizer()
            )  # fmt: skip
            self.topic_mapper_ = TopicMapper()
            self.timings_ = {}
            if seeds is not None:
                state.seed_vectors = self.embed([" ".join(w) for w in seeds])
        elif embeddings.shape[1] != next(iter(state.centre_sums.values()), embeddings[0]).shape[0]:
            raise LabelerError("this batch's embeddings have another dimension than the last")
        self._add_timing("embed", clock)

        clock = time.perf_counter()
        clustered = embeddings
        if state.seed_vectors is not None:
            clustered, _ = guided.nudge(embeddings, state.seed_vectors)
        reducer = self.umap_model_
        try:
            if hasattr(reducer, "partial_fit"):
                reducer.partial_fit(clustered)
                reduced = reducer.transform(clustered)
            elif first and hasattr(reducer, "fit_transform"):
                reduced = reducer.fit_transform(clustered)
            else:
                if first:
                    reducer.fit(clustered)
                reduced = reducer.transform(clustered)
        except ValueError as exc:
            raise LabelerError(
                f"{self._param('umap_model')} could not learn from this batch of "
                f"{len(documents)} documents: {exc}"
            ) from exc
        reduced = np.nan_to_num(np.asarray(reduced, dtype=np.float32))
        self._add_timing("reduce", clock)

        clock = time.perf_counter()
        try:
            self.hdbscan_model_.partial_fit(reduced)
        except ValueError as exc:
            raise LabelerError(
                f"{self._param('hdbscan_model')} could not learn from this batch of "
                f"{len(documents)} documents: {exc}"
            ) from exc
        labels = getattr(self.hdbscan_model_, "labels_", None)
        if labels is None or len(labels) != len(documents):
            labels = self.hdbscan_model_.predict(reduced)
        labels = np.asarray(labels, dtype=np.int64)
        topics = self._online_topics(state, labels, first)
        self._add_timing("cluster", clock)

        clock = time.perf_counter()
        start = state.documents_seen
        state.documents_seen += len(documents)
        state.batches += 1
        vectors = unit(embeddings)
        for t, n in zip(*np.unique(topics, return_counts=True)):
            t = int(t)
            state.sizes[t] = state.sizes.get(t, 0) + int(n)
            total = vectors[topics == t].sum(axis=0)
            state.centre_sums[t] = state.centre_sums.get(t, 0) + total
        for t in np.unique(topics).tolist():
            if t not in state.rows:
                state.rows.append(int(t))
        self.vectorizer_.partial_fit(documents)
        joined = [" ".join(d for d, x in zip(documents, topics) if x == t) for t in state.rows]
        counts = self.vectorizer_.update_bow(joined).tocsr()
        order = np.argsort(state.rows, kind="stable")
        ids = [state.rows[i] for i in order]
        corpus = CorpusCounts(
            vectorizer=self.vectorizer_,
            topic_ids=ids,
            counts=counts[order],
            centres={t: unit(state.centre_sums[t]) for t in ids},
            sizes={t: state.sizes[t] for t in ids},
        )
        self.online_ = state
        self.documents_ = documents
        self.doc_ids_ = list(range(start, start + len(documents)))
        self.embeddings_ = embeddings
        self.topics_ = topics
        self.min_cluster_size_ = self.min_cluster_size or clustering.default_min_cluster_size(
            state.documents_seen
        )
        self.splits_: list = []
        self.zeroshot_topics_: dict = {}
        self.guided_ = {}
        self.reduction_cached_ = False
        if not self.layout:
            self.layout_ = np.zeros((len(documents), 2), dtype=np.float32)
        elif reduced.shape[1] >= 2:  # the reduction's first two axes (PCA's main components)
            self.layout_ = reduced[:, :2].copy()
        else:
            self.layout_ = np.hstack([reduced, np.zeros((len(reduced), 1), np.float32)])[:, :2]
        probabilities = getattr(self.hdbscan_model_, "probabilities_", None)
        if probabilities is None or len(probabilities) != len(documents):
            probabilities = np.where(topics >= 0, 1.0, 0.0)
        self.assigned_probabilities_ = np.asarray(probabilities, dtype=np.float32)
        self._set_description(topics, corpus, name=False)
        self._carry_representatives(state, documents, vectors)
        self._online_distribution()
        self._add_timing("describe", clock)
        log.info(
            "partial_fit: batch %d, %d documents (%d in all), %d topics",
            state.batches, len(documents), state.documents_seen,
            sum(1 for t in state.sizes if t != OUTLIER),
        )  # fmt: skip
        return self

    def _carry_representatives(self, state: OnlineState, documents, vectors) -> None:
        """Each topic's representative documents over every batch: the nearest to its running
        centre among those it had and this batch's. BERTopic's partial_fit keeps the latest
        batch's only, so a topic absent from that batch had none, and a topic's examples came
        from whichever batch was last (`representative_docs_` reads these)."""
        for t, sums in state.centre_sums.items():
            if t == OUTLIER:
                continue
            had = state.representative.get(t, [])
            fresh = [(documents[i], vectors[i]) for i in self.representative_rows_.get(t, [])]
            pool = dict(had + fresh)  # by text: a document seen again counts once
            if pool:
                centre = unit(sums)
                keep = max(len(had), len(fresh))
                ranked = sorted(pool.items(), key=lambda pair: -float(pair[1] @ centre))
                state.representative[t] = ranked[:keep]

    def _add_timing(self, step: str, since: float) -> None:
        self.timings_[step] = self.timings_.get(step, 0.0) + time.perf_counter() - since

    def _default_online_vectorizer(self):
        """labeler's vocabulary settings (`labeler.represent.ctfidf`) in an
        OnlineCountVectorizer: no min_df or max_df pruning, since a batch is a small sample."""
        from labeler.represent.ctfidf import TOKEN_PATTERN, stop_word_list
        from labeler.represent.online import OnlineCountVectorizer

        return OnlineCountVectorizer(
            stop_words=stop_word_list(self.stop_words, self.language),
            ngram_range=tuple(self.ngram_range),
            token_pattern=TOKEN_PATTERN,
            lowercase=True,
        )

    @staticmethod
    def _online_topics(state: OnlineState, labels: np.ndarray, first: bool) -> np.ndarray:
        """The clusterer's labels as topic ids: the first batch's as they are, a label seen for
        the first time later on the next free id (BERTopic's topic_mapper_ does the same)."""
        new = sorted(set(labels.tolist()) - set(state.topic_of))
        if first:
            added = {int(label): int(label) for label in new}
        else:
            top = max((t for t in state.topic_of.values()), default=-1)
            added = {}
            for label in new:
                if label == OUTLIER:
                    added[label] = OUTLIER
                else:
                    top += 1
                    added[int(label)] = top
        state.topic_of.update(added)
        return np.array([state.topic_of[int(x)] for x in labels], dtype=np.int64)

    def _online_distribution(self) -> None:
        if not self.calculate_probabilities:
            self.probability_method_ = "assigned"
            self.probabilities_ = self.assigned_probabilities_
            return
        ids = [t for t in sorted(self.topic_ids_) if t != OUTLIER]
        centres = (
            np.stack([self.topic_centres_[t] for t in ids]) if ids
            else np.zeros((0, self.embeddings_.shape[1]), dtype=np.float32)
        )  # fmt: skip
        self.probabilities_ = clustering.centre_probabilities(self.embeddings_, centres)
        self.probability_method_ = "centres"

    def _online_transform(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New documents through the incremental reduction and clusterer (`predict`), as
        BERTopic's transform after partial_fit; a cluster never seen in a batch is an outlier."""
        state: OnlineState = self.online_
        clustered = embeddings
        if state.seed_vectors is not None:
            clustered, _ = guided.nudge(embeddings, state.seed_vectors)
        reduced = np.nan_to_num(np.asarray(self.umap_model_.transform(clustered), np.float32))
        labels = np.asarray(self.hdbscan_model_.predict(reduced), dtype=np.int64)
        topics = np.array([state.topic_of.get(int(x), OUTLIER) for x in labels], dtype=np.int64)
        sims = np.zeros(len(topics), dtype=np.float32)
        vectors = unit(embeddings)
        for row, t in enumerate(topics.tolist()):
            if t != OUTLIER and t in self.topic_centres_:
                sims[row] = max(0.0, float(vectors[row] @ self.topic_centres_[t]))
        return topics, sims

    # ------------------------------------------------------------------ merging
    @classmethod
    def merge_models(
        cls, models: Sequence, min_similarity: float = DEFAULT_MIN_SIMILARITY, embedding_model=None
    ):
        """One model from several fitted ones (BERTopic's `merge_models`): the first model's
        topics, plus each later model's topics whose centre has a cosine similarity below
        `min_similarity` to every topic of the merged model so far, as new topics (the next
        ids, in their model's order). A later model's other topics join the topic they are most
        similar to, and its outliers stay outliers. The merged model holds every model's
        documents (one already in an earlier model, same id and text, once), is described from
        them, and keeps the names given to its topics (LLM, custom, zero-shot, a run's reviewed
        label); `embedding_model` replaces the first model's."""
        return merge_fitted(cls, models, min_similarity, embedding_model).model


def _keyword_made(model, topic: int, label: str) -> bool:
    """Whether `label` is one of the keyword labels the model would make for `topic`."""
    lists = [words.get(topic, []) for words in model.keywords_.values()]
    lists.append(model.topic_representations_.get(topic, []))
    return any(label == keyword_label(topic, words) for words in lists)


def _given_names(model) -> dict[int, dict]:
    """The names given to a model's topics, beyond keywords: topic → {label, llm, custom,
    zero_shot}."""
    names: dict[int, dict] = {}
    custom = getattr(model, "custom_labels_", None)
    ids = sorted(model.topic_ids_)
    custom = dict(zip(ids, custom)) if custom and len(custom) == len(ids) else {}
    llm = getattr(model, "llm_labels_", None) or {}
    zero = getattr(model, "zeroshot_topics_", None) or {}
    for t in ids:
        if t == OUTLIER:
            continue
        label = model.labels_.get(t)
        entry = {}
        if label is not None and not _keyword_made(model, t, label):
            entry["label"] = label
        if t in llm:
            entry["llm"] = llm[t]
        if t in custom and custom[t] is not None:
            entry["custom"] = custom[t]
        if t in zero:
            entry["zero_shot"] = zero[t]
        if entry:
            names[t] = entry
    return names


def merge_fitted(
    cls,
    models: Sequence,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    embedding_model=None,
    prefixes: Sequence[str] | None = None,
) -> Merge:
    """`merge_models`, with what it did (`Merge`). `prefixes`: per model, what its document
    ids are prefixed with (`"B:12"`) when they collide with an earlier model's (default
    `model2`, `model3`, ...)."""
    models = list(models)
    if not models:
        raise LabelerError("merge_models needs a list of fitted models")
    for i, m in enumerate(models):
        if not hasattr(m, "topics_") or not hasattr(m, "topic_centres_"):
            raise LabelerError(f"merge_models: model {i + 1} of {len(models)} is not fitted")
    if (
        isinstance(min_similarity, bool)
        or not isinstance(min_similarity, (int, float))
        or not (0 <= min_similarity <= 1)
    ):
        raise LabelerError(
            f"min_similarity is a cosine similarity in [0, 1], not {min_similarity!r}"
        )
    dims = {int(m.embeddings_.shape[1]) for m in models}
    names = {m._model_name() for m in models if m._model_name() is not None}
    if len(dims) > 1 or len(names) > 1:
        raise LabelerError(
            "merge_models compares topic centres, so the models must share their embedding "
            f"model: they use {', '.join(sorted(map(str, names)) or sorted(map(str, dims)))}"
        )
    prefixes = list(prefixes) if prefixes else [f"model{i + 1}" for i in range(len(models))]
    first = models[0]
    merged = cls()
    known = set(merged.topic_model_param_names())
    for name, value in first.topic_model_params().items():
        if name in known:
            setattr(merged, name, value)
    if embedding_model is not None:
        merged.embedding_model = embedding_model

    # Topics: the first model's, then each later model's unmatched ones.
    base = {t: first.topic_centres_[t] for t in sorted(first.topic_ids_) if t != OUTLIER}
    origin: dict[int, tuple[int, int]] = {t: (0, t) for t in first.topic_ids_}
    top = max(base, default=-1)
    mappings = [{t: t for t in first.topic_ids_}]
    added_lists: list[list[int]] = [[]]
    for i, m in enumerate(models[1:], start=1):
        ids = [t for t in sorted(m.topic_ids_) if t != OUTLIER]
        mapping, new = {OUTLIER: OUTLIER}, []
        if ids and base:
            ref_ids = list(base)
            sims = (
                unit(np.stack([m.topic_centres_[t] for t in ids]))
                @ unit(np.stack([base[t] for t in ref_ids])).T
            )
            for row, t in enumerate(ids):
                best = int(np.argmax(sims[row]))
                if sims[row, best] >= min_similarity:
                    mapping[t] = ref_ids[best]
                else:
                    new.append(t)
        else:
            new = ids
        for t in new:  # added after the comparison: one model's topics never match each other
            top += 1
            mapping[t] = top
            origin[top] = (i, t)
            base[top] = m.topic_centres_[t]
        mappings.append(mapping)
        added_lists.append(new)
        log.info(
            "merge_models: model %d: %d of %d topics added, %d joined a topic",
            i + 1, len(new), len(ids), len(ids) - len(new),
        )  # fmt: skip

    # Documents: every model's, a document already in an earlier model (same id and text) once.
    seen_pairs: set = set()
    seen_ids: set = set()
    texts, ids_out, vectors, topics, probs, rows_kept = [], [], [], [], [], []
    stamps: list | None = []
    classes: list | None = []
    for i, m in enumerate(models):
        pairs = list(zip(m.doc_ids_, m.documents_))
        keep = np.array([i == 0 or (d, t) not in seen_pairs for d, t in pairs], dtype=bool)
        rows = np.flatnonzero(keep)
        doc_ids = [m.doc_ids_[r] for r in rows]
        if i and any(d in seen_ids for d in doc_ids):
            doc_ids = [f"{prefixes[i]}:{d}" for d in doc_ids]
        seen_pairs.update(pairs)
        seen_ids.update(doc_ids)
        rows_kept.append(rows)
        texts += [m.documents_[r] for r in rows]
        ids_out += doc_ids
        vectors.append(np.asarray(m.embeddings_[rows], dtype=np.float32))
        topics.append(np.array([mappings[i][int(t)] for t in m.topics_[rows]], dtype=np.int64))
        probs.append(np.asarray(m.assigned_probabilities_, dtype=np.float32)[rows])
        for attr, acc in (("timestamps_", stamps), ("classes_", classes)):
            values = getattr(m, attr, None)
            if acc is not None and values is not None:
                acc += [values[r] for r in rows]
        if getattr(m, "timestamps_", None) is None:
            stamps = None
        if getattr(m, "classes_", None) is None:
            classes = None

    merged.documents_ = texts
    merged.doc_ids_ = ids_out
    merged.embeddings_ = np.vstack(vectors)
    merged.topics_ = np.concatenate(topics)
    merged.assigned_probabilities_ = np.concatenate(probs)
    merged.probabilities_ = merged.assigned_probabilities_
    merged.probability_method_ = "assigned"
    merged.timestamps_, merged.classes_ = stamps, classes
    merged.min_cluster_size_ = getattr(first, "min_cluster_size_", None) or (
        clustering.default_min_cluster_size(len(texts))
    )
    merged.splits_ = []
    merged.guided_ = dict(getattr(first, "guided_", {}))
    merged.timings_ = {}
    merged.reduction_cached_ = False
    clock = time.perf_counter()
    merged.layout_ = _merged_layout(merged)
    merged.timings_["reduce"] = time.perf_counter() - clock
    merged.zeroshot_topics_ = {}
    clock = time.perf_counter()
    merged._set_description(merged.topics_, name=False)
    merged.timings_["describe"] = time.perf_counter() - clock
    merged.topic_mapper_ = TopicMapper(merged.topic_ids_)

    # Names: each topic keeps those its source model gave it.
    given = [_given_names(m) for m in models]
    custom: dict[int, str] = {}
    for t in merged.topic_ids_:
        if t == OUTLIER or t not in origin:
            continue
        i, source = origin[t]
        entry = given[i].get(source, {})
        if "label" in entry:
            merged.labels_[t] = entry["label"]
        if "llm" in entry:
            merged.llm_labels_[t] = {**entry["llm"], "topic": t}
        if "zero_shot" in entry:
            merged.zeroshot_topics_[t] = entry["zero_shot"]
            merged.labels_[t] = entry["zero_shot"]
        if "custom" in entry:
            custom[t] = entry["custom"]
    if custom:
        merged.custom_labels_ = [
            custom.get(t, merged.labels_[t]) for t in sorted(merged.topic_ids_)
        ]
    return Merge(merged, mappings, added_lists, rows_kept)


def _merged_layout(merged) -> np.ndarray:
    """The merged documents' map: each model's map is its own, so it is drawn again (labeler's
    2-d UMAP of the embeddings, cached by content)."""
    n = len(merged.documents_)
    if not merged.layout:
        return np.zeros((n, 2), dtype=np.float32)
    from labeler.embedding.cache import ArrayCache

    cache = ArrayCache(merged.cache_dir) if merged.use_cache else None
    key = (
        ArrayCache.key(merged.embeddings_, "map-v1", merged.n_neighbors, merged.seed)
        if cache else ""
    )  # fmt: skip
    hit = cache.get(key) if cache else None
    if hit is not None:
        return hit["layout"]
    layout = clustering.map_layout(
        merged.embeddings_, merged.n_neighbors, merged.seed, merged.low_memory
    )
    if cache:
        cache.put(key, layout=layout)
    return np.asarray(layout, dtype=np.float32)
