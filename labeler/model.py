"""`TopicModel`: the fitting API, scikit-learn style and familiar to BERTopic users.

Keyword-only parameters in `__init__` (scikit-learn's `BaseEstimator` gives `get_params`,
`set_params`, `clone` and a repr listing what differs from the defaults in `labeler.defaults`);
`fit` returns self; fitted state ends in `_`. The model holds no UMAP or HDBSCAN object after
fitting: new documents are assigned by a nearest-neighbour vote in embedding space, which works
identically on a model opened from a run folder (`Run.model()`, no pickle).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.preprocessing import normalize

from labeler import cluster as clustering
from labeler import defaults, guided, reassign
from labeler import tree as topic_tree
from labeler.embedding.cache import ArrayCache
from labeler.embedding.sbert import (
    DEFAULT_MODEL,
    MULTILINGUAL_MODEL,
    CachedEmbedder,
    Embedder,
    SentenceTransformerEmbedder,
    is_sentence_transformer,
)
from labeler.errors import LabelerError
from labeler.represent import (
    CTFIDF,
    DESCRIBE_PARAMS,
    OUTLIER,
    STAGES,
    CorpusCounts,
    describe_topics,
    keyword_label,
    stage,
    unit,
)
from labeler.represent import chain as representation
from labeler.represent.ctfidf import ClassTfidfTransformer, is_english
from labeler.represent.slices import class_values, time_bins
from labeler.vectors import centre_rows

log = logging.getLogger("labeler")

SLICE_WORDS = 5  # words per topic and time bin or class, as BERTopic's topics_over_time

__all__ = ["OUTLIER", "TopicMapper", "TopicModel", "keyword_label"]


class TopicMapper:
    """BERTopic's record of how the topics were renumbered (`TopicModel.topic_mapper_`):
    `mappings_` holds one row per topic, its id at each step, the first column before the fit's
    merge to `n_topics`, the last now."""

    def __init__(self, topics: Sequence[int] = ()):
        self.mappings_ = [[t, t] for t in sorted({int(t) for t in topics})]

    @classmethod
    def from_topics(cls, before: Sequence[int], after: Sequence[int]) -> TopicMapper:
        """From each document's topic before and after a merge."""
        mapper = cls()
        pairs = sorted({(int(b), int(a)) for b, a in zip(before, after)})
        mapper.mappings_ = [[b, a] for b, a in pairs]
        return mapper

    def add_mappings(self, mappings: dict[int, int]) -> None:
        """A new last column: each topic's current id mapped (-1 when `mappings` drops it)."""
        for row in self.mappings_:
            row.append(int(mappings.get(row[-1], OUTLIER)))

    def get_mappings(self, original_topics: bool = True) -> dict[int, int]:
        """Topic → current topic, from the first column (`original_topics`) or the one before
        the last."""
        return {row[0 if original_topics else -2]: row[-1] for row in self.mappings_}


class TopicModel(BaseEstimator):
    """Embed → UMAP → HDBSCAN → c-TF-IDF → KeyBERT-inspired → MMR.

    Parameters
    ----------
    embedding_model : str, Embedder, SentenceTransformer or None, default "all-MiniLM-L6-v2"
        A sentence-transformers id or path (the default is packaged), a loaded
        `sentence_transformers.SentenceTransformer`, or any object with `key` and `embed(texts)`
        (see `labeler.embedding.sbert.Embedder`); None when embeddings are always passed in (the
        embedding keyword stages are then skipped).
    n_neighbors : int, default 15
        UMAP neighbours.
    n_components : int, default 5
        UMAP dimensions that HDBSCAN clusters in.
    min_cluster_size : int or None, default None
        Smallest topic; None scales it with the corpus.
    min_samples : int or None, default None
        HDBSCAN min_samples; None derives it from the min cluster size.
    cluster_selection : {"eom", "leaf"}, default "eom"
    max_topic_share : float or None, default 0.25
        A topic over this share of the documents is split along its sub-groups when they are
        distinct (`labeler.cluster.split_catch_all`); None never splits.
    n_topics : int, "auto" or None, default None
        Merge the most similar topics until this many remain; "auto" merges the groups of
        similar topics HDBSCAN finds among the topic centres (BERTopic's `nr_topics="auto"`).
    ngram_range : tuple of int, default (1, 1)
        Keyword phrase lengths, in words.
    min_df : int or None, default None
        Ignore words in fewer documents; None grows it with the corpus.
    stop_words : str or None, default "english"
        "english" applies to English documents only (`language`).
    top_n_words : int, default 10
        Keywords kept per topic and stage.
    n_candidate_words : int, default 30
        c-TF-IDF candidates the embedding stages re-rank.
    n_representative_docs : int, default 5
    mmr_diversity : float, default 0.3
        0 = pure relevance, 1 = pure diversity.
    seed_topic_list : list of list of str or None, default None
        Guided topics: seed words per topic. Documents close to a seed list are nudged towards
        it before clustering, and seed words weigh more in c-TF-IDF (`labeler.guided`).
    zeroshot_topic_list : list of str or None, default None
        Zero-shot topics: names. A document whose similarity to a name reaches
        `zeroshot_min_similarity` joins that topic before clustering; the rest are clustered,
        and a clustered topic whose centre reaches it joins the name's topic. Those topics keep
        their names as labels.
    zeroshot_min_similarity : float, default 0.7
        Cosine similarity (document vs topic name embedding) a zero-shot assignment needs.
    seed : int, default 42
        Same seed, same topics.
    layout : bool, default True
        Compute the 2-d map (skip it for speed when only topics matter).
    cache_dir : str or None, default None
        Cache folder for embeddings and reductions [~/.cache/labeler or $LABELER_CACHE_DIR].
    use_cache : bool, default True
    show_progress : bool, default False
    umap_model : object or None, default None
        BERTopic's: any reduction with `fit_transform` (or `fit` and `transform`), used instead
        of labeler's UMAP (a clone of it is fitted; `labeler.bertopic.dimensionality.
        BaseDimensionalityReduction` skips the reduction). The map stays labeler's 2-d UMAP of
        the embeddings unless the reduction itself is 2-d.
    hdbscan_model : object or None, default None
        BERTopic's: any clusterer with `fit` and `labels_` (-1 for outliers), and
        `probabilities_` if it has them (scikit-learn's KMeans, AgglomerativeClustering,
        HDBSCAN...), used instead of labeler's HDBSCAN (a clone of it is fitted). The catch-all
        split, zero-shot topics and `n_topics` still apply.
    vectorizer_model : CountVectorizer or None, default None
        Used as given (a clone is fitted on the documents) instead of labeler's vocabulary
        (`ngram_range`, `min_df` and `stop_words` are then its own).
    ctfidf_model : labeler.bertopic.vectorizers.ClassTfidfTransformer or None, default None
        BERTopic's c-TF-IDF options: BM25-inspired weighting, reduced frequent words, seed words.
    representation_model : object, list or dict, or None, default None
        BERTopic's `KeyBERTInspired` or `MaximalMarginalRelevance`
        (`labeler.bertopic.representation`), a list of them (a chain) or a dict of aspects
        (`{"Main": ..., "Aspect1": ...}`): the chain's words are the main representation
        (`get_topic`, `topic_representations_`, the keyword labels), each aspect a column of
        `get_topic_info()` (`labeler.represent.chain`). None: the main representation is the
        c-TF-IDF words, labels come from the MMR stage.
    calculate_probabilities : bool, default False
        `probabilities_` (and `fit_transform`'s second value) become the (n_documents,
        n_topics) topic distribution: HDBSCAN's soft clustering
        (`hdbscan.all_points_membership_vectors`) when labeler's HDBSCAN (or a given
        `hdbscan.HDBSCAN`) made the topics and each cluster became one topic, else a softmax of
        each document's cosine similarity to the topic centres (`probability_method_` says
        which).
    language : str, default "english"
        The documents' language: any other ("multilingual", "german", ...) replaces the default
        embedding model by paraphrase-multilingual-MiniLM-L12-v2 (not packaged: it must be on
        this machine; a named `embedding_model` is kept) and drops the English stop words.
    low_memory : bool, default False
        Passed to UMAP when labeler builds it (it changes nothing there: labeler gives UMAP its
        neighbour graph).

    Objects given as parameters (models, vectorizers) are recorded in a run's config.json by
    class and parameters; a model reopened from a run (`Run.model()`, `labeler.load_run`) has
    None for them, its fitted state (topics, words, representations) being in the run's files.

    Attributes
    ----------
    documents_ : list of str
    doc_ids_ : list
        The ids given to `fit` (row numbers by default).
    embeddings_ : ndarray of shape (n_documents, dim)
    layout_ : ndarray of shape (n_documents, 2)
        The 2-d map positions.
    topics_ : ndarray of shape (n_documents,)
        Topic per document; -1 is the outliers.
    probabilities_ : ndarray of shape (n_documents,) or (n_documents, n_topics)
        The probability of each document's topic; with `calculate_probabilities`, of every topic
        (columns: topics 0, 1, ..., outliers excluded; in memory only, a run keeps the first).
    assigned_probabilities_ : ndarray of shape (n_documents,)
        The probability of each document's own topic (documents.parquet's `probability`).
    probability_method_ : str
        "hdbscan" (soft clustering), "centres" (softmax of similarities) or "assigned" (no
        distribution: `calculate_probabilities` off).
    min_cluster_size_ : int
        The min cluster size used (given or derived).
    topic_ids_ : list of int
    topic_sizes_ : dict of int to int
    topic_centres_ : dict of int to ndarray
        Unit-length centre of each topic's document embeddings.
    topic_embeddings_ : ndarray of shape (n_topics (+1), dim)
        The same centres as rows, in `sorted(topic_ids_)` order (the outliers first, as BERTopic).
    ctfidf_ : labeler.represent.CTFIDF
        The fitted c-TF-IDF (its vectorizer and word weights).
    c_tf_idf_ : scipy.sparse matrix of shape (n_topics (+1), n_words)
        Its topic × word weights, rows in `sorted(topic_ids_)` order.
    keywords_ : dict of str to dict of int to list of (str, float)
        Keywords per stage name (`labeler.represent.STAGES`: "ctfidf", "keybert", "mmr"), then
        per topic.
    topic_representations_ : dict of int to list of (str, float)
        The main representation: `representation_model`'s words, or the c-TF-IDF stage's.
    topic_aspects_ : dict of str to dict of int to list of (str, float)
        `representation_model`'s aspects (empty without a dict of them).
    representative_rows_ : dict of int to list of int
        Representative documents, as indices into `documents_`.
    representative_docs_ : dict of int to list of str
        The same documents' texts.
    labels_ : dict of int to str
        Keyword labels (LLM labels live in a run's database).
    topic_labels_ : dict of int to str
        BERTopic-style names, "0_word_word_word" (zero-shot topics: their names).
    custom_labels_ : list of str or None
        Set by `set_topic_labels` (one per topic, in `sorted(topic_ids_)` order).
    topic_mapper_ : TopicMapper
        Each topic before the merge to `n_topics` and after it.
    timings_ : dict of str to float
        Seconds per fit step (empty for a model opened from a run).
    zeroshot_topics_ : dict of int to str
        The zero-shot topics found, topic id → name (empty without `zeroshot_topic_list`).
    guided_ : dict
        What the seed and zero-shot lists did in this fit (documents nudged or assigned), as
        config.json records it.
    timestamps_, classes_ : list or None
        The run's time and class columns (runs and `Run.model()`), for `topics_over_time()` and
        `topics_per_class()` without arguments.
    umap_model_, hdbscan_model_ : object
        The fitted copies of `umap_model` and `hdbscan_model` (a fit with them only).
    """

    def __init__(
        self,
        *,
        embedding_model: str | Embedder | None = DEFAULT_MODEL,
        n_neighbors: int = defaults.N_NEIGHBORS,
        n_components: int = defaults.N_COMPONENTS,
        min_cluster_size: int | None = None,
        min_samples: int | None = None,
        cluster_selection: str = defaults.CLUSTER_SELECTION,
        max_topic_share: float | None = clustering.MAX_TOPIC_SHARE,
        n_topics: int | str | None = None,
        ngram_range: tuple[int, int] = defaults.NGRAM_RANGE,
        min_df: int | None = None,
        stop_words: str | None = defaults.STOP_WORDS,
        top_n_words: int = defaults.TOP_N_WORDS,
        n_candidate_words: int = defaults.N_CANDIDATE_WORDS,
        n_representative_docs: int = defaults.N_REPRESENTATIVE_DOCS,
        mmr_diversity: float = defaults.MMR_DIVERSITY,
        seed_topic_list: list[list[str]] | None = None,
        zeroshot_topic_list: list[str] | None = None,
        zeroshot_min_similarity: float = guided.ZEROSHOT_MIN_SIMILARITY,
        seed: int = defaults.SEED,
        layout: bool = True,
        cache_dir: str | None = None,
        use_cache: bool = True,
        show_progress: bool = False,
        umap_model=None,
        hdbscan_model=None,
        vectorizer_model=None,
        ctfidf_model: ClassTfidfTransformer | None = None,
        representation_model=None,
        calculate_probabilities: bool = False,
        language: str = defaults.LANGUAGE,
        low_memory: bool = False,
    ):
        self.embedding_model = embedding_model
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection = cluster_selection
        self.max_topic_share = max_topic_share
        self.n_topics = n_topics
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.stop_words = stop_words
        self.top_n_words = top_n_words
        self.n_candidate_words = n_candidate_words
        self.n_representative_docs = n_representative_docs
        self.mmr_diversity = mmr_diversity
        self.seed_topic_list = seed_topic_list
        self.zeroshot_topic_list = zeroshot_topic_list
        self.zeroshot_min_similarity = zeroshot_min_similarity
        self.seed = seed
        self.layout = layout
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.show_progress = show_progress
        self.umap_model = umap_model
        self.hdbscan_model = hdbscan_model
        self.vectorizer_model = vectorizer_model
        self.ctfidf_model = ctfidf_model
        self.representation_model = representation_model
        self.calculate_probabilities = calculate_probabilities
        self.language = language
        self.low_memory = low_memory

    def __getstate__(self):
        """Pickling (and copy.deepcopy) leave out the loaded embedder, which is rebuilt on use."""
        state = super().__getstate__()
        for name in ("_embedder_obj", "_embedder_of", "_wrapped_model"):
            state.pop(name, None)
        return state

    @classmethod
    def topic_model_param_names(cls) -> list[str]:
        """TopicModel's own parameter names (its signature's), whatever the subclass calls them."""
        return TopicModel._get_param_names()

    def topic_model_params(self) -> dict:
        """The parameters under TopicModel's names (`get_params()` under this class' names):
        what config.json records, so that any subclass' run reopens as any other."""
        return {name: getattr(self, name) for name in self.topic_model_param_names()}

    # ------------------------------------------------------------------ embedding
    def embedding_spec(self):
        """The embedding model this model embeds with: `embedding_model` (a loaded
        SentenceTransformer wrapped as an Embedder), except that a non-English `language`
        replaces the default model by the multilingual one. None: no model."""
        model = self.embedding_model
        if isinstance(model, str) and model == DEFAULT_MODEL and not is_english(self.language):
            return MULTILINGUAL_MODEL
        if is_sentence_transformer(model):
            wrapped = getattr(self, "_wrapped_model", None)
            if wrapped is None or wrapped[0] is not model:
                wrapped = (model, SentenceTransformerEmbedder.from_model(model))
                self._wrapped_model = wrapped
            return wrapped[1]
        return model

    def _embedder(self) -> Embedder | None:
        spec = self.embedding_spec()
        if getattr(self, "_embedder_obj", None) is not None and self._embedder_of is spec:
            return self._embedder_obj
        if spec is None:
            embedder = None
        elif isinstance(spec, str):
            from labeler.embedding import make_embedder

            embedder = make_embedder(spec, self.cache_dir)
        else:
            embedder = spec
        if embedder is not None and self.use_cache:
            from labeler.embedding.cache import EmbeddingCache

            embedder = CachedEmbedder(embedder, EmbeddingCache(self.cache_dir))
        self._embedder_obj, self._embedder_of = embedder, spec
        return embedder

    def embed(self, texts: Sequence[str], show_progress: bool | None = None) -> np.ndarray:
        """`texts` in the model's embedding space; `show_progress` (default: the parameter) is
        off for callers that report progress themselves, such as the large path's batches."""
        embedder = self._embedder()
        if embedder is None:
            raise LabelerError("no embedding model: pass embeddings, or set embedding_model")
        show = self.show_progress if show_progress is None else show_progress
        try:
            return embedder.embed(list(texts), show_progress=show)
        except LabelerError as exc:
            if self.embedding_spec() == MULTILINGUAL_MODEL != self.embedding_model:
                raise LabelerError(
                    f"language={self.language!r} selects {MULTILINGUAL_MODEL}, which is not "
                    "packaged with labeler (only all-MiniLM-L6-v2 is) and could not be loaded "
                    f"here ({exc}): pass embedding_model= a model on this machine, or "
                    "precomputed embeddings"
                ) from exc
            raise

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
        self._check_parts()
        seeds, names = self._guidance()  # refused before anything is embedded
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
        self.guided_: dict = {}
        clustered = embeddings
        if seeds is not None:
            clustered, nearest = guided.nudge(embeddings, self.embed([" ".join(w) for w in seeds]))
            self.guided_["seed_topics"] = {
                "topics": len(seeds),
                "documents_nudged": [int((nearest == s).sum()) for s in range(len(seeds))],
            }
        reduced, layout = self._reduce(clustered)
        self.layout_ = layout
        self.timings_["reduce"] = time.perf_counter() - clock

        clock = time.perf_counter()
        self._cluster(embeddings, clustered, reduced, names)
        self.timings_["cluster"] = time.perf_counter() - clock

        clock = time.perf_counter()
        self._set_description(self.topics_)
        self.labels_.update(self.zeroshot_topics_)
        self.timings_["describe"] = time.perf_counter() - clock
        return self

    def _param(self, name: str) -> str:
        """A TopicModel parameter's name in this class (BERTopic calls some differently)."""
        return name

    def _check_parts(self) -> None:
        """The parameters a fit cannot start without, checked before anything is embedded."""
        n = self.n_topics
        whole = isinstance(n, (int, np.integer)) and not isinstance(n, bool)
        if not (n is None or n == "auto" or (whole and n >= 1)):
            raise LabelerError(
                f'{self._param("n_topics")} is a number of topics (1 or more), "auto" or None, '
                f"not {n!r}"
            )
        if self.umap_model is not None:
            clustering.check_reducer(self.umap_model)
        if self.hdbscan_model is not None:
            clustering.check_clusterer(self.hdbscan_model)
        vectorizer = self.vectorizer_model
        if vectorizer is not None and not all(
            hasattr(vectorizer, m) for m in ("fit_transform", "transform", "get_feature_names_out")
        ):
            raise LabelerError(
                f"vectorizer_model: {type(vectorizer).__name__} is not a scikit-learn "
                "CountVectorizer (fit_transform, transform, get_feature_names_out)"
            )
        weighting = self.ctfidf_model
        if weighting is not None and not isinstance(weighting, ClassTfidfTransformer):
            raise LabelerError(
                f"ctfidf_model: labeler weighs with its ClassTfidfTransformer "
                f"(labeler.bertopic.vectorizers), not {type(weighting).__name__}"
            )
        representation.resolve(self.representation_model)

    def _cluster(
        self,
        embeddings: np.ndarray,
        clustered: np.ndarray,
        reduced: np.ndarray,
        names: list[str] | None,
    ) -> None:
        """Zero-shot names first (labeler.guided), HDBSCAN (or `hdbscan_model`) on the rest,
        catch-all splits, clustered topics about a name joined to it, then the --topics merge.

        `clustered`: the embeddings as clustering sees them (nudged towards seed topics);
        `embeddings`: the documents' own, which names are compared with."""
        documents = self.documents_
        named = np.full(len(documents), -1, dtype=np.int64)
        similarity = np.zeros(len(documents), dtype=np.float32)
        if names is not None:
            name_vectors = self.embed(names)
            named, nearest, similarity = guided.zero_shot(
                embeddings, name_vectors, self.zeroshot_min_similarity
            )
        rest = np.flatnonzero(named < 0)
        soft = bool(self.calculate_probabilities)
        if self.hdbscan_model is None:
            log.info("clustering (HDBSCAN, min cluster size %d)", self.min_cluster_size_)
            found = clustering.cluster(
                reduced[rest], self.min_cluster_size_, self.min_samples, self.cluster_selection,
                soft=soft,
            )  # fmt: skip
            topics, probabilities, membership = found if soft else (*found, None)
        else:
            log.info("clustering (%s)", type(self.hdbscan_model).__name__)
            topics, probabilities, membership, self.hdbscan_model_ = clustering.cluster_with(
                self.hdbscan_model, reduced[rest], soft
            )
        clusters = topics.copy()  # the clusterer's own topics, for its soft clustering
        topics, self.splits_ = clustering.split_catch_all(
            topics, clustered[rest], self.min_cluster_size_, self.max_topic_share, seed=self.seed
        )
        for decision in self.splits_:
            log.info(
                "topic of %.0f%% of the documents: sub-group silhouette %.3f, %s",
                100 * decision["share"], decision["silhouette"],
                f"split in {decision['subgroups']}" if decision["split"] else "one theme, kept",
            )  # fmt: skip
        matched = int((named >= 0).sum())
        joined = {}
        if names is not None:
            # Clustered topics about a name join it (labeler.guided.joining_clusters).
            joined = guided.joining_clusters(
                topics, embeddings[rest], name_vectors, self.zeroshot_min_similarity
            )
            if joined:
                # Each document of a joining cluster goes to the name nearest to it.
                moved = rest[np.isin(topics, list(joined))]
                named[moved] = nearest[moved]
                keep = ~np.isin(topics, list(joined))
                rest, topics, probabilities = rest[keep], topics[keep], probabilities[keep]
                clusters = clusters[keep]
                membership = membership[keep] if membership is not None else None
                topics = clustering.renumber_by_size(topics)
        found = [int(i) for i in np.unique(named[named >= 0])]  # in the names' order
        before = topics.copy()  # the topics before the merge to n_topics (topic_mapper_)
        if self.n_topics == "auto":
            topics = clustering.merge_auto(topics, clustered[rest])
        elif self.n_topics:
            target = max(1, self.n_topics - len(found))
            topics = clustering.merge_to(topics, clustered[rest], target)
        # Named topics first (0, 1, ... in the list's order), the clustered ones after them.
        self.topics_ = np.full(len(documents), -1, dtype=np.int64)
        self.assigned_probabilities_ = similarity.copy()
        self.topics_[rest] = np.where(topics >= 0, topics + len(found), -1)
        self.assigned_probabilities_[rest] = probabilities
        merged_from = self.topics_.copy()
        merged_from[rest] = np.where(before >= 0, before + len(found), -1)
        for new, index in enumerate(found):
            self.topics_[named == index] = new
            merged_from[named == index] = new
        self.topic_mapper_ = TopicMapper.from_topics(merged_from, self.topics_)
        self._distribution(rest, clusters, membership if not found else None)
        self.zeroshot_topics_ = {new: names[index] for new, index in enumerate(found)}
        if names is not None:
            self.guided_["zero_shot"] = {
                "min_similarity": self.zeroshot_min_similarity,
                "documents_assigned": int((named >= 0).sum()),
                "documents_matched": matched,
                "clusters_joined": len(joined),
                "topics": {str(t): name for t, name in self.zeroshot_topics_.items()},
                "unmatched": [n for i, n in enumerate(names) if i not in set(found)],
            }
            log.info(
                "zero-shot: %d documents in %d of %d named topics",
                int((named >= 0).sum()), len(found), len(names),
            )  # fmt: skip

    def _distribution(self, rest: np.ndarray, clusters: np.ndarray, membership) -> None:
        """`probabilities_`: the assigned topic's probability, or with `calculate_probabilities`
        the (n_documents, n_topics) distribution. HDBSCAN's soft clustering (`membership`, one
        column per cluster of the documents in `rest`) when each cluster became exactly one
        topic (merges add their columns up, as BERTopic's); otherwise, after a catch-all split
        or with zero-shot topics or a clusterer without soft clustering, a softmax of each
        document's cosine similarity to the topic centres."""
        if not self.calculate_probabilities:
            self.probability_method_ = "assigned"
            self.probabilities_ = self.assigned_probabilities_
            return
        ids = [int(t) for t in np.unique(self.topics_) if t >= 0]  # 0, 1, ...: the columns
        target = {}
        if membership is not None:
            final = self.topics_[rest]
            for c in range(membership.shape[1]):
                went = set(final[clusters == c].tolist())
                if len(went) != 1 or OUTLIER in went:
                    target = {}
                    break
                target[c] = went.pop()
        if target:
            matrix = np.zeros((len(self.topics_), len(ids)), dtype=np.float32)
            for c, t in target.items():
                matrix[rest, t] += membership[:, c]
            self.probability_method_ = "hdbscan"
        else:
            centres = centre_rows(self.embeddings_, self.topics_, ids)
            matrix = clustering.centre_probabilities(self.embeddings_, centres)
            self.probability_method_ = "centres"
        self.probabilities_ = matrix

    def _guidance(self) -> tuple[list[list[str]] | None, list[str] | None]:
        """The seed and zero-shot lists, checked; both need a model that embeds text."""
        seeds = names = None
        if self.seed_topic_list is not None:
            seeds = guided.check_seed_topic_list(self.seed_topic_list)
        if self.zeroshot_topic_list is not None:
            names = guided.check_zeroshot_topic_list(self.zeroshot_topic_list)
        if not 0 < self.zeroshot_min_similarity <= 1:
            raise LabelerError(
                f"zeroshot_min_similarity is a cosine similarity in (0, 1], "
                f"not {self.zeroshot_min_similarity}"
            )
        if (seeds or names) and self._embedder() is None:
            raise LabelerError(
                "seed and zero-shot topics are embedded: they need embedding_model "
                "(with precomputed embeddings, the model that made them)"
            )
        return seeds, names

    def fit_transform(self, documents, embeddings=None, doc_ids=None):
        self.fit(documents, embeddings, doc_ids)
        return self.topics_, self.probabilities_

    def _model_name(self) -> str:
        model = self.embedding_spec()
        return model if isinstance(model, str) or model is None else getattr(model, "key", "custom")

    def _reduce(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.umap_model is not None:
            return self._reduce_with_model(embeddings)
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
            embeddings, self.n_neighbors, self.n_components, self.seed, with_layout=self.layout,
            low_memory=self.low_memory,
        )  # fmt: skip
        if layout is None:
            layout = np.zeros((len(embeddings), 2), dtype=np.float32)
        if cache:
            cache.put(key, reduced=reduced, layout=layout)
        return reduced, layout

    def _reduce_with_model(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`umap_model`'s reduction; the map is labeler's 2-d UMAP of the embeddings (cached)
        unless the reduction is 2-d itself."""
        log.info("reducing with %s", type(self.umap_model).__name__)
        self.reduction_cached_ = False
        self.umap_model_, reduced = clustering.reduce_with(self.umap_model, embeddings)
        if reduced.ndim != 2 or reduced.shape[0] != len(embeddings):
            raise LabelerError(
                f"umap_model gave shape {reduced.shape}: one row per document was expected"
            )
        if reduced.shape[1] == 2:
            return reduced, reduced.copy()
        if not self.layout:
            return reduced, np.zeros((len(embeddings), 2), dtype=np.float32)
        cache = ArrayCache(self.cache_dir) if self.use_cache else None
        key = ArrayCache.key(embeddings, "map-v1", self.n_neighbors, self.seed) if cache else ""
        hit = cache.get(key) if cache else None
        if hit is not None:
            return reduced, hit["layout"]
        layout = clustering.map_layout(embeddings, self.n_neighbors, self.seed, self.low_memory)
        if cache:
            cache.put(key, layout=layout)
        return reduced, layout

    def describe_params(self) -> dict:
        """The keyword parameters of `describe_topics`, as this model uses them."""
        return {name: getattr(self, name) for name in DESCRIBE_PARAMS}

    def describe_corpus(self, topics: np.ndarray, corpus: CorpusCounts) -> TopicModel:
        """Describe the whole corpus this model was fitted on a sample of (the large path,
        `labeler.pipeline.large`): `topics` are the fitted documents' topics renumbered as the
        corpus' (topic 0 the largest over every document), `corpus` what one pass over every
        document counted. Keywords, centres and sizes then describe all documents; examples, the
        map and the tree's shape stay the sample's."""
        self._check_fitted()
        topics = np.asarray(topics, dtype=np.int64)
        pairs = set(zip(self.topics_.tolist(), topics.tolist()))
        mapping = dict(pairs)
        if len(topics) != len(self.topics_) or len(mapping) != len(pairs):
            raise ValueError("describe_corpus renumbers the fitted topics: one new id per old id")
        self.zeroshot_topics_ = {mapping[t]: name for t, name in self.zeroshot_topics_.items()}
        if np.ndim(self.probabilities_) == 2:  # the distribution's columns follow the topics
            old, self.probabilities_ = self.probabilities_, np.zeros_like(self.probabilities_)
            for t, new in mapping.items():
                if t >= 0 and new >= 0:
                    self.probabilities_[:, new] += old[:, t]
        self.topic_mapper_.add_mappings(mapping)
        self.topics_ = topics
        self._set_description(topics, corpus)
        self.labels_.update(self.zeroshot_topics_)
        zero_shot = self.guided_.get("zero_shot")
        if zero_shot is not None:
            zero_shot["topics"] = {str(t): name for t, name in self.zeroshot_topics_.items()}
            zero_shot["documents_assigned"] = sum(corpus.sizes[t] for t in self.zeroshot_topics_)
        return self

    def _set_description(self, topics: np.ndarray, corpus: CorpusCounts | None = None) -> None:
        """c-TF-IDF, the embedding keyword stages and representative documents (describe.py)."""
        embed_words = self._embed_words if self._embedder() is not None else None
        found = describe_topics(
            self.documents_, self.embeddings_, topics, embed_words=embed_words, corpus=corpus,
            **self.describe_params(),
        )  # fmt: skip
        self.ctfidf_ = found.ctfidf
        self.topic_ids_ = sorted(found.sizes)
        self.topic_sizes_ = found.sizes
        self.topic_centres_ = found.centres
        self.keywords_ = found.keywords
        self.representative_rows_ = found.representative_docs
        self.labels_ = found.labels
        main = found.representation
        self.topic_representations_ = {
            t: list(words) for t, words in (main or found.keywords["ctfidf"]).items()
        }
        self.topic_aspects_ = found.aspects
        self.custom_labels_ = None
        self.hierarchy_ = None  # the topic tree, built on first use (topic_tree())

    def _embed_words(self, words: list[str]) -> np.ndarray:
        show, self.show_progress = self.show_progress, False
        try:
            return self.embed(words)
        finally:
            self.show_progress = show

    # ------------------------------------------------------------------ topic surgery
    # BERTopic's changes to a fitted model in memory. The rules that move documents are
    # `labeler.reassign`'s, the ones `labeler topics RUN merge|reduce|outliers` applies to a run
    # folder (`labeler.surgery`); here, as in BERTopic, the topics are then renumbered by size and
    # every topic is described again with the model's own chain (c-TF-IDF, the keyword stages,
    # `representation_model`), as at the end of `fit`.
    def _fitted_docs(self, docs, method: str) -> None:
        """BERTopic's `docs` argument: the fitted documents, in order (others are refused)."""
        self._check_fitted()
        if docs is None or [str(d) for d in docs] != self.documents_:
            raise LabelerError(
                f"{method} works on the fitted documents: pass the {len(self.documents_)} "
                "documents given to fit, in the same order"
            )

    @staticmethod
    def _no_images(images) -> None:
        if images is not None:
            raise LabelerError("labeler models text: images are not supported (pass images=None)")

    def merge_topics(self, docs: Sequence[str], topics_to_merge: Sequence, images=None) -> None:
        """Merge topics, as BERTopic's `merge_topics`: `[1, 2, 3]` merges topics 1, 2 and 3;
        `[[1, 2], [3, 4]]` merges 1 and 2, and separately 3 and 4. `docs`: the fitted documents.

        In place: each group joins its first topic (`labeler.reassign.merged`, as
        `labeler.surgery.merge` on a run folder), then the topics are renumbered by size (0 the
        largest; `topic_mapper_` records both steps), described again (sizes, keywords, labels,
        representative documents; `hierarchy_` is rebuilt on next use), and a distribution from
        `calculate_probabilities` adds the merged topics' columns up."""
        self._fitted_docs(docs, "merge_topics")
        self._no_images(images)
        self._retopic(reassign.merged(self.topics_, self._merge_groups(topics_to_merge)))

    def _merge_groups(self, topics_to_merge) -> list[list[int]]:
        items = list(topics_to_merge) if isinstance(topics_to_merge, (list, tuple)) else None
        whole = (int, np.integer)
        if items and all(isinstance(t, whole) and not isinstance(t, bool) for t in items):
            groups = [items]
        elif items and all(isinstance(g, (list, tuple, np.ndarray)) for g in items):
            groups = [list(g) for g in items]
        else:
            raise LabelerError(
                "topics_to_merge is a list of topics ([1, 2, 3]) or a list of lists of topics "
                "([[1, 2], [3, 4]])"
            )
        known = sorted(t for t in self.topic_sizes_ if t != OUTLIER)
        seen: set[int] = set()
        for group in groups:
            for t in group:
                if isinstance(t, bool) or not isinstance(t, whole):
                    raise LabelerError(f"topics_to_merge: {t!r} is not a topic id")
                if int(t) == OUTLIER:
                    raise LabelerError(
                        "topic -1 holds the outliers: reassign them with reduce_outliers"
                    )
                if int(t) not in self.topic_sizes_:
                    raise LabelerError(f"no topic {t} (the topics are {known[0]}-{known[-1]})")
                if int(t) in seen:
                    raise LabelerError(f"topic {t} is given twice in topics_to_merge")
                seen.add(int(t))
        return [[int(t) for t in group] for group in groups]

    def reduce_topics(
        self,
        docs: Sequence[str],
        nr_topics: int | str = 20,
        images=None,
        use_ctfidf: bool = False,
    ) -> TopicModel:
        """Merge the most similar topics until `nr_topics` remain (the outliers not counted),
        as BERTopic's `reduce_topics`: average linkage on the cosine between topic centres
        (`labeler.reassign.reduced`, as `labeler.surgery.reduce` on a run folder); "auto" merges
        the groups HDBSCAN finds among the topic centres. `docs`: the fitted documents.

        In place, as `merge_topics` (renumbered by size, described again, probabilities' columns
        added up); `n_topics` (BERTopic's `nr_topics`) becomes `nr_topics`. As many topics or
        fewer than asked: the topics stay, described again. `use_ctfidf=True` (distances between
        c-TF-IDF rows) is not supported: labeler compares topics by their embedding centres."""
        self._fitted_docs(docs, "reduce_topics")
        self._no_images(images)
        if use_ctfidf:
            raise LabelerError(
                "use_ctfidf=True is not supported: labeler reduces topics by the cosine between "
                "their embedding centres (use_ctfidf=False)"
            )
        whole = isinstance(nr_topics, (int, np.integer)) and not isinstance(nr_topics, bool)
        if not (nr_topics == "auto" or (whole and nr_topics >= 1)):
            raise LabelerError(
                f'nr_topics is a number of topics (1 or more) or "auto", not {nr_topics!r}'
            )
        self.n_topics = nr_topics if nr_topics == "auto" else int(nr_topics)
        self._retopic(reassign.reduced(self.embeddings_, self.topics_, self.n_topics))
        return self

    def _retopic(self, after: np.ndarray) -> None:
        """The documents moved to `after` (merged topics keep one of their ids), then, as
        BERTopic: topics renumbered by size, both steps added to `topic_mapper_`, the
        distribution's merged columns added up, every topic described again."""
        before = np.asarray(self.topics_, dtype=np.int64)
        after = np.asarray(after, dtype=np.int64)
        final = clustering.renumber_by_size(after)
        step = dict(zip(before.tolist(), after.tolist()))  # old id → merged id
        by_size = dict(zip(after.tolist(), final.tolist()))  # merged id → final id
        total = {t: by_size[m] for t, m in step.items()}
        mapper = getattr(self, "topic_mapper_", None) or TopicMapper(before)
        mapper.add_mappings(step)
        mapper.add_mappings(by_size)
        self.topic_mapper_ = mapper
        old_ids = reassign.topic_ids(before)
        matrix = self.probabilities_
        if np.ndim(matrix) == 2 and matrix.shape[1] == len(old_ids):
            new = np.zeros((len(final), len(reassign.topic_ids(final))), dtype=matrix.dtype)
            for column, t in enumerate(old_ids):
                new[:, total[t]] += matrix[:, column]
            self.probabilities_ = new
        names: dict[int, str] = {}
        for t, name in sorted(getattr(self, "zeroshot_topics_", {}).items()):
            names.setdefault(total.get(t, OUTLIER), name)
        names.pop(OUTLIER, None)
        custom = getattr(self, "custom_labels_", None)
        old_sizes = dict(self.topic_sizes_)
        self._set_topics(final, names)
        if custom is not None and len(custom) == len(old_sizes):
            # Custom labels follow their topics: a merged topic keeps its largest part's.
            given = dict(zip(sorted(old_sizes), custom))
            carried: dict[int, str] = {}
            for t in sorted(old_sizes, key=lambda t: (-old_sizes[t], t)):
                carried.setdefault(total[t], given[t])
            self.custom_labels_ = [carried.get(t, self.labels_[t]) for t in sorted(self.topic_ids_)]

    def _set_topics(self, topics: np.ndarray, zeroshot: dict[int, str]) -> None:
        self.topics_ = topics
        self.zeroshot_topics_ = zeroshot
        zero_shot = getattr(self, "guided_", {}).get("zero_shot")
        if zero_shot is not None:
            zero_shot["topics"] = {str(t): name for t, name in zeroshot.items()}
        self._set_description(topics)
        self.labels_.update(zeroshot)

    def reduce_outliers(
        self,
        documents: Sequence[str],
        topics: Sequence[int],
        images=None,
        strategy: str = "distributions",
        probabilities: np.ndarray | None = None,
        threshold: float = 0,
        embeddings: np.ndarray | None = None,
        distributions_params: dict | None = None,
    ) -> list[int]:
        """New topics with outliers (-1) moved to their nearest topic, as BERTopic's
        `reduce_outliers`; the model does not change (pass the result to `update_topics(docs,
        topics=new_topics)` to adopt it). `documents`: the fitted documents; `topics`: their
        topics (`topics_`, or an earlier result). The rules are `labeler.reassign`'s, as
        `labeler topics RUN outliers` uses on a run folder. Strategies:

        - "embeddings": cosine between the document's embedding (`embeddings`, default the
          fitted ones) and each topic's centre;
        - "c-tf-idf": cosine between the document's words and each topic's c-TF-IDF (the
          model's vocabulary); a document with no word in the vocabulary goes by embeddings
          (BERTopic leaves it an outlier);
        - "probabilities": the most probable topic of `probabilities` (default `probabilities_`,
          the distribution `calculate_probabilities=True` gives), threshold on the probability;
        - "distributions" (BERTopic's default): labeler has no `approximate_distribution`, so
          this is the c-TF-IDF strategy, the similarity of the document's words to each topic's
          (`distributions_params` is accepted and changes nothing).

        `threshold`: the least similarity (or probability) a document needs to move; a match at
        0 or below never moves it."""
        self._fitted_docs(documents, "reduce_outliers")
        self._no_images(images)
        topics = np.asarray(topics, dtype=np.int64)
        if topics.shape != (len(self.documents_),):
            raise LabelerError(f"{len(topics)} topics for {len(self.documents_)} documents")
        if not (topics == OUTLIER).any():
            raise LabelerError("no outliers to reduce: no document's topic is -1")
        name = str(strategy).lower()
        known = ("distributions", *reassign.STRATEGIES)
        if name not in known:
            raise LabelerError(f"strategy {strategy!r}: choose one of {', '.join(known)}")
        name = "c-tf-idf" if name == "distributions" else name
        if name == "probabilities" and probabilities is None:
            if np.ndim(self.probabilities_) != 2:
                raise LabelerError(
                    "the probabilities strategy needs each document's probability of every "
                    "topic: fit with calculate_probabilities=True, or pass probabilities="
                )
            probabilities = self.probabilities_
        if embeddings is None:
            embeddings = self.embeddings_
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[0] != len(topics):
            raise LabelerError(f"embeddings of shape {embeddings.shape}: one row per document")
        ctfidf = None
        if name == "c-tf-idf":
            ctfidf = CTFIDF(
                self.ngram_range, self.min_df, self.stop_words,
                vectorizer_model=self.vectorizer_model, ctfidf_model=self.ctfidf_model,
                language=self.language,
            )  # fmt: skip
        matches = reassign.outlier_matches(
            topics, name, embeddings=embeddings, texts=self.documents_, ctfidf=ctfidf,
            probabilities=probabilities,
        )  # fmt: skip
        return reassign.outliers_reassigned(topics, matches, threshold=threshold).tolist()

    def update_topics(
        self,
        docs: Sequence[str],
        images=None,
        topics: Sequence[int] | None = None,
        top_n_words: int = 10,
        n_gram_range: tuple[int, int] | None = None,
        vectorizer_model=None,
        ctfidf_model: ClassTfidfTransformer | None = None,
        representation_model=None,
    ) -> None:
        """Describe the topics again with new parameters, and/or adopt new topics, as
        BERTopic's `update_topics`: `topics` (one per fitted document, e.g. `reduce_outliers`'
        result) become `topics_` as given (not renumbered; `topic_mapper_` and `probabilities_`
        stay as they were, as in BERTopic). As BERTopic, the call sets `top_n_words`,
        `vectorizer_model`, `ctfidf_model` and `representation_model` to its arguments (None:
        labeler's own vocabulary, weighting and chain) and `ngram_range` (BERTopic's
        `n_gram_range`) to `n_gram_range` when given. `docs`: the fitted documents."""
        self._fitted_docs(docs, "update_topics")
        self._no_images(images)
        if topics is not None:
            topics = np.asarray(topics, dtype=np.int64)
            if topics.shape != (len(self.documents_),) or (topics < OUTLIER).any():
                raise LabelerError(
                    f"topics: one topic id (-1 or more) per fitted document "
                    f"({len(self.documents_)}), not {len(topics)}"
                )
        names = ("top_n_words", "ngram_range", "vectorizer_model", "ctfidf_model",
                 "representation_model")  # fmt: skip
        kept = {name: getattr(self, name) for name in names}
        self.top_n_words = top_n_words
        if n_gram_range is not None:
            self.ngram_range = tuple(n_gram_range)
        self.vectorizer_model = vectorizer_model
        self.ctfidf_model = ctfidf_model
        self.representation_model = representation_model
        try:
            self._check_parts()
        except LabelerError:
            for name, value in kept.items():
                setattr(self, name, value)
            raise
        if topics is None:
            self._set_topics(self.topics_, dict(getattr(self, "zeroshot_topics_", {})))
        else:
            present = set(topics.tolist())
            zeroshot = getattr(self, "zeroshot_topics_", {})
            zeroshot = {t: n for t, n in zeroshot.items() if t in present}
            self._set_topics(topics, zeroshot)

    # ------------------------------------------------------------------ the topic tree
    def topic_tree(self) -> list[dict]:
        """The topic tree's nodes (`labeler.tree.build_tree`), built on first use and kept in
        `hierarchy_`: a run's tree (with its LLM names) for a model opened from a run."""
        self._check_fitted()
        if getattr(self, "hierarchy_", None) is None:
            embed_words = self._embed_words if self._embedder() is not None else None
            describe = {**self.describe_params(), "representation_model": None}  # stages only
            nodes = topic_tree.build_tree(
                self.documents_, self.embeddings_, self.topics_, embed_words=embed_words,
                describe=describe, leaf_labels=self.labels_,
            )  # fmt: skip
            for node in nodes:
                if node["layer"] != 0:
                    continue
                t = node["id"]
                for s in STAGES:
                    if s.name in self.keywords_:
                        node[s.key] = [[w, float(v)] for w, v in self.keywords_[s.name].get(t, [])]
                node["representative_docs"] = list(self.representative_rows_.get(t, []))
            for node in nodes:  # the topics' sizes: the whole corpus' on the large path
                node["size"] = sum(self.topic_sizes_[t] for t in node["topics"])
            self.hierarchy_ = nodes
        return self.hierarchy_

    def get_topic_tree(self, hier_topics: pd.DataFrame | None = None) -> str:
        """The topic tree as indented text: each parent layer's nodes with their children, down
        to the topics (ids, names and sizes). `hier_topics`: BERTopic's argument, this model's
        `hierarchical_topics()` (the tree is the model's own; another table is refused)."""
        if hier_topics is not None:
            parents = {int(n["id"]) for n in self.topic_tree() if n["layer"] > 0}
            given = getattr(hier_topics, "get", lambda _: None)("Parent_ID")
            if given is None or {int(v) for v in given} != parents:
                raise LabelerError(
                    "get_topic_tree draws this model's own tree: pass its hierarchical_topics(), "
                    "or nothing"
                )
        return topic_tree.text_tree(self.topic_tree())

    def hierarchical_topics(self, docs: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per node above the topics, BERTopic's columns (Parent_ID, Parent_Name,
        Topics, Child_Left_ID, Child_Left_Name, Child_Right_ID, Child_Right_Name, Distance) for
        an n-ary tree: also Child_IDs, Child_Names (every child) and Layer
        (`labeler.tree.hierarchy_frame`). `docs`: BERTopic's argument, the fitted documents
        (the tree is built from them; other documents are refused)."""
        self._check_fitted()
        if docs is not None and [str(d) for d in docs] != self.documents_:
            raise LabelerError(
                "hierarchical_topics builds the tree of the fitted documents: pass the documents "
                "given to fit, or nothing"
            )
        return topic_tree.hierarchy_frame(self.topic_tree())

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "topics_"):
            raise LabelerError(f"this {type(self).__name__} is not fitted yet: call fit() first")

    def transform(
        self, documents: Sequence[str], embeddings: np.ndarray | None = None, k: int = 15
    ) -> tuple[np.ndarray, np.ndarray]:
        """Assign new documents by a similarity-weighted vote of their k nearest fitted ones."""
        self._check_fitted()
        if embeddings is None:
            embeddings = self.embed(list(documents))
        queries = unit(np.asarray(embeddings, dtype=np.float32))
        base = unit(self.embeddings_)
        from labeler.embedding.knn import top_k

        topics = np.empty(len(queries), dtype=np.int64)
        probs = np.empty(len(queries), dtype=np.float32)
        near_sims, nearest = top_k(queries, base, k)  # on the GPU when there is one
        for row, idx in enumerate(nearest):
            weights = np.clip(near_sims[row], 0, None) + 1e-6
            votes: dict[int, float] = {}
            for t, w in zip(self.topics_[idx], weights):
                votes[int(t)] = votes.get(int(t), 0.0) + float(w)
            best = max(votes, key=votes.get)
            topics[row] = best
            probs[row] = votes[best] / sum(votes.values())
        return topics, probs

    def find_topics(self, query: str, top_n: int = 5) -> tuple[list[int], list[float]]:
        """Topics whose centre is most similar to the query, outliers excluded."""
        self._check_fitted()
        vector = unit(self.embed([query])[0])
        ids = [t for t in self.topic_ids_ if t != OUTLIER]
        if not ids:
            return [], []
        sims = np.array([float(self.topic_centres_[t] @ vector) for t in ids])
        order = np.argsort(-sims, kind="stable")[:top_n]
        return [ids[i] for i in order], [round(float(sims[i]), 4) for i in order]

    # ------------------------------------------------------------------ inspection
    # BERTopic's fitted attributes that are views of labeler's own (one copy of each fact).
    @property
    def topic_embeddings_(self) -> np.ndarray:
        """The topic centres as rows, in `sorted(topic_ids_)` order (BERTopic's array)."""
        ids = sorted(self.topic_ids_)
        if not ids:
            return np.zeros((0, self.embeddings_.shape[1]), dtype=np.float32)
        return np.stack([self.topic_centres_[t] for t in ids])

    @property
    def representative_docs_(self) -> dict[int, list[str]]:
        """Each topic's representative documents, as texts (`representative_rows_`' rows)."""
        return {
            t: [self.documents_[i] for i in rows] for t, rows in self.representative_rows_.items()
        }

    @property
    def c_tf_idf_(self):
        """The topic × word c-TF-IDF weights (scipy.sparse), rows in `sorted(topic_ids_)` order;
        its words are `ctfidf_.words_`."""
        rows = [self.ctfidf_.row(t) for t in sorted(self.topic_ids_)]
        return self.ctfidf_.c_tf_idf_[[r for r in rows if r is not None]]

    @property
    def topic_labels_(self) -> dict[int, str]:
        """BERTopic-style names: the id and three words of the main representation
        ("0_card_arrive_delivery"); a zero-shot topic's name is its label."""
        labels = dict(zip(sorted(self.topic_ids_), self.generate_topic_labels()))
        labels.update(getattr(self, "zeroshot_topics_", {}))
        return labels

    def get_topic(
        self, topic: int, full: bool = False, stage: str | None = None
    ) -> list[tuple[str, float]] | dict | bool:
        """A topic's main representation (`topic_representations_`: the c-TF-IDF words unless
        `representation_model` says otherwise); False for an unknown topic. `full`: a dict of
        the main representation ("Main") and every aspect, as BERTopic's. `stage`: one keyword
        stage's words instead (`ctfidf`, `keybert`, `mmr`); a string second argument is a stage
        too, as in labeler 0.1 (`get_topic(0, "mmr")`)."""
        self._check_fitted()
        if isinstance(full, str):
            full, stage = False, full
        if topic not in self.topic_sizes_:
            return False
        if stage is not None:
            return list(self.keywords_.get(_stage_name(stage), {}).get(topic, []))
        main = list(self.topic_representations_.get(topic, []))
        if full:
            aspects = {name: list(v.get(topic, [])) for name, v in self.topic_aspects_.items()}
            return {representation.MAIN: main, **aspects}
        return main

    def get_topics(self, full: bool = False, stage: str | None = None) -> dict:
        """Every topic's `get_topic(topic, full, stage)`, by topic."""
        self._check_fitted()
        if isinstance(full, str):
            full, stage = False, full
        if stage is not None:
            return {t: list(w) for t, w in self.keywords_.get(_stage_name(stage), {}).items()}
        main = {t: list(w) for t, w in self.topic_representations_.items()}
        if full:
            return {representation.MAIN: main, **self.topic_aspects_}
        return main

    def get_representative_docs(self, topic: int | None = None):
        self._check_fitted()
        docs = self.representative_docs_
        return docs if topic is None else docs.get(topic, [])

    def get_topic_info(self, topic: int | None = None) -> pd.DataFrame:
        """One row per topic, by topic id (the outliers, -1, first, as BERTopic): Topic, Count,
        Name (the label: keywords, zero-shot name, or a run's current label), CustomName (after
        `set_topic_labels`), Representation (the main representation's words), KeyBERT and MMR
        (labeler's stages), one column per aspect, Representative_Docs. `topic`: its row only."""
        self._check_fitted()
        ids = sorted(self.topic_ids_)
        custom = self.custom_labels_ if getattr(self, "custom_labels_", None) else None
        rows = []
        for i, t in enumerate(ids):
            row = {"Topic": t, "Count": self.topic_sizes_[t], "Name": self.labels_[t]}
            if custom is not None and len(custom) == len(ids):
                row["CustomName"] = custom[i]
            row["Representation"] = [w for w, _ in self.topic_representations_.get(t, [])]
            for s in STAGES:  # BERTopic's column names: KeyBERT, MMR
                if s.name in self.keywords_ and s.column != "Representation":
                    row[s.column] = [w for w, _ in self.keywords_[s.name].get(t, [])]
            for aspect, values in self.topic_aspects_.items():
                row[aspect] = [w for w, _ in values.get(t, [])]
            row["Representative_Docs"] = self.get_representative_docs(t)
            rows.append(row)
        info = pd.DataFrame(rows)
        if topic is not None:
            info = info.loc[info["Topic"] == topic].reset_index(drop=True)
        return info

    def get_topic_freq(self, topic: int | None = None) -> pd.DataFrame | int:
        """Topic and Count per topic, the largest first (outliers included, as BERTopic); the
        size of one `topic` when given."""
        self._check_fitted()
        if topic is not None:
            return int(self.topic_sizes_[topic])
        frame = pd.DataFrame(
            [(t, self.topic_sizes_[t]) for t in sorted(self.topic_ids_)], columns=["Topic", "Count"]
        )
        return frame.sort_values("Count", ascending=False, kind="stable").reset_index(drop=True)

    def get_document_info(
        self,
        docs: Sequence[str] | None = None,
        df: pd.DataFrame | None = None,
        metadata: dict | None = None,
    ) -> pd.DataFrame:
        """Per document, BERTopic's columns: Document, Topic, the topic's `get_topic_info()`
        columns (Name, Representation, ..., Representative_Docs), Top_n_words, Probability (of
        its own topic) and Representative_document; and labeler's `doc_id`. The fitted documents
        by default; other documents are assigned with `transform`. `df`: a frame of the
        documents to extend, `metadata`: more columns (BERTopic's arguments)."""
        self._check_fitted()
        if docs is None or [str(d) for d in docs] == self.documents_:
            docs = self.documents_
            topics, probs = self.topics_, self.assigned_probabilities_
            ids = self.doc_ids_
            representative = {i for rows in self.representative_rows_.values() for i in rows}
            is_rep = [i in representative for i in range(len(docs))]
        else:
            docs = [str(d) for d in docs]
            topics, probs = self.transform(docs)
            ids = list(range(len(docs)))
            is_rep = [False] * len(docs)
        frame = df.copy() if df is not None else pd.DataFrame(index=range(len(docs)))
        frame = frame.reset_index(drop=True)
        frame["Document"] = list(docs)
        frame["doc_id"] = ids
        frame["Topic"] = np.asarray(topics, dtype=np.int64)
        info = self.get_topic_info().drop(columns="Count")
        frame = frame.merge(info, on="Topic", how="left")
        words = {t: " - ".join(w for w, _ in v) for t, v in self.topic_representations_.items()}
        frame["Top_n_words"] = [words.get(int(t), "") for t in topics]
        frame["Probability"] = np.asarray(probs, dtype=np.float32)
        frame["Representative_document"] = is_rep
        for column, values in (metadata or {}).items():
            frame[column] = values
        return frame

    # ------------------------------------------------------------------ labels (BERTopic's)
    def generate_topic_labels(
        self,
        nr_words: int = 3,
        topic_prefix: bool = True,
        word_length: int | None = None,
        separator: str = "_",
        aspect: str | None = None,
    ) -> list[str]:
        """A label per topic, in `sorted(topic_ids_)` order (the outliers first): its id (with
        `topic_prefix`) and first `nr_words` words of the main representation or of `aspect`,
        each cut to `word_length` characters, joined by `separator`."""
        self._check_fitted()
        if aspect is not None and aspect not in self.topic_aspects_:
            raise LabelerError(
                f"no aspect {aspect!r}: this model has {sorted(self.topic_aspects_)}"
            )
        source = self.topic_aspects_[aspect] if aspect is not None else self.topic_representations_
        labels = []
        for t in sorted(self.topic_ids_):
            words = [str(w)[:word_length] if word_length else str(w) for w, _ in source.get(t, [])]
            words = words[:nr_words]
            labels.append(separator.join([str(t), *words] if topic_prefix else words))
        return labels

    def set_topic_labels(self, topic_labels: list[str] | dict[int, str]) -> None:
        """`custom_labels_` (and get_topic_info's CustomName): a list of one label per topic in
        `sorted(topic_ids_)` order, or a dict of the topics to rename (the others keep their
        custom label or Name). In memory only: a saved run keeps its own labels (`Name`)."""
        self._check_fitted()
        ids = sorted(self.topic_ids_)
        if isinstance(topic_labels, dict):
            current = self.custom_labels_ or [self.labels_[t] for t in ids]
            labels = [str(topic_labels[t]) if topic_labels.get(t) else current[i]
                      for i, t in enumerate(ids)]  # fmt: skip
        elif isinstance(topic_labels, (list, tuple)):
            if len(topic_labels) != len(ids):
                raise LabelerError(
                    f"{len(topic_labels)} labels for {len(ids)} topics: give one per topic "
                    "(outliers included), or a dict of the topics to rename"
                )
            labels = [str(label) for label in topic_labels]
        else:
            raise LabelerError("topic_labels is a list (one per topic) or a dict topic → label")
        self.custom_labels_ = labels

    # ------------------------------------------------------------------ save and load
    def save(
        self,
        path,
        serialization: str | None = None,
        save_embedding_model: bool | str = True,
        save_ctfidf: bool = False,
    ):
        """Save as a run folder (`labeler.save`: the same files as `labeler run`, reports
        included) and return its path. BERTopic's `serialization`, `save_embedding_model` and
        `save_ctfidf` are accepted and change nothing: a run is never a pickle, records the
        embedding model by name, and its c-TF-IDF is rebuilt from its documents on load."""
        import labeler  # the run layer, through the public name: a fit never loads it

        return labeler.save(self, path)

    @classmethod
    def load(cls, path, embedding_model=None):
        """A run folder as a fitted model of this class (`labeler.load_run`). `embedding_model`
        replaces the one the run records (which new documents and queries are embedded with)."""
        import labeler  # the run layer, through the public name: a fit never loads it

        model = labeler.load_run(path, model_class=cls)
        if embedding_model is not None:
            model.embedding_model = embedding_model
        return model

    # ------------------------------------------------------------------ slices
    def topics_over_time(
        self,
        docs: Sequence[str] | None = None,
        timestamps: Sequence | None = None,
        topics: Sequence[int] | None = None,
        nr_bins: int | None = None,
        datetime_format: str | None = None,
        evolution_tuning: bool = True,
        global_tuning: bool = True,
    ) -> pd.DataFrame:
        """Topic sizes and words per time bin, as BERTopic's `topics_over_time`: one row per
        (topic, bin) with documents, columns Topic, Words, Frequency, Timestamp, Name.

        With no arguments: the fitted documents and the run's time column (a run made with
        --time-column, or a model from `Run.model()`). Bins: the report's calendar period chosen
        from the time span (`labeler.represent.slices.time_bins`, so the counts match the report's
        chart),
        or `nr_bins` equal-width bins named by their left edge. Words: c-TF-IDF of the bin's
        documents per topic with the corpus' IDF, averaged with the topic's global c-TF-IDF
        (`global_tuning`) and with its previous bin (`evolution_tuning`).
        """
        docs, topics = self._slice_input(docs, topics)
        if timestamps is None:
            timestamps = self._known_column("timestamps_", docs, "timestamps", "--time-column")
        timestamps = list(timestamps)
        if len(timestamps) != len(docs):
            raise LabelerError(f"{len(timestamps)} timestamps for {len(docs)} documents")
        binned = time_bins(timestamps, nr_bins, datetime_format)
        if not binned.starts:
            raise LabelerError("no readable timestamps: pass datetime_format, or numbers")
        keys = binned.bins
        order = [b for b in binned.starts if (keys == b).any()]
        return self._slice_topics(
            docs, topics, keys, order, "Timestamp", global_tuning, evolution_tuning
        )

    def topics_per_class(
        self,
        docs: Sequence[str] | None = None,
        classes: Sequence | None = None,
        topics: Sequence[int] | None = None,
        global_tuning: bool = True,
    ) -> pd.DataFrame:
        """Topic sizes and words per class, as BERTopic's `topics_per_class`: columns Topic,
        Words, Frequency, Class, Name. With no arguments: the fitted documents and the run's
        class column (--class-column); a missing class is the class "(none)", as in the report.
        """
        docs, topics = self._slice_input(docs, topics)
        if classes is None:
            classes = self._known_column("classes_", docs, "classes", "--class-column")
        keys = class_values(classes)
        if len(keys) != len(docs):
            raise LabelerError(f"{len(keys)} classes for {len(docs)} documents")
        order = keys.value_counts().index.tolist()  # the report's order: most frequent first
        return self._slice_topics(docs, topics, keys, order, "Class", global_tuning, False)

    def _slice_input(self, docs, topics) -> tuple[list[str], np.ndarray]:
        self._check_fitted()
        if docs is None or list(docs) == self.documents_:
            docs = self.documents_
            topics = self.topics_ if topics is None else topics
        else:
            docs = [str(d) for d in docs]
            if topics is None:
                topics, _ = self.transform(docs)
        topics = np.asarray(topics, dtype=np.int64)
        if len(topics) != len(docs):
            raise LabelerError(f"{len(topics)} topics for {len(docs)} documents")
        return docs, topics

    def _known_column(self, attribute: str, docs: list[str], what: str, option: str) -> list:
        values = getattr(self, attribute, None)
        if values is None or docs is not self.documents_:
            raise LabelerError(
                f"no {what}: pass {what}=..., or use a run made with {option} (labeler.load_run)"
            )
        return list(values)

    def _slice_topics(
        self, docs, topics, keys: pd.Series, order: list, column: str, global_tuning, evolution
    ) -> pd.DataFrame:
        """One row per (topic, slice): its document count and its words in that slice."""
        doc_term = self.ctfidf_.doc_term(docs)
        words = self.ctfidf_.words_
        keys = keys.reset_index(drop=True)
        previous: dict[int, np.ndarray] = {}
        rows = []
        for key in order:
            members = np.flatnonzero((keys == key).to_numpy())
            ids, weights = self.ctfidf_.slice_weights(doc_term[members], topics[members])
            weights = normalize(weights, norm="l1", axis=1).toarray()
            current: dict[int, np.ndarray] = {}
            for i, t in enumerate(ids.tolist()):
                row = weights[i]
                if evolution and t in previous:
                    row = (row + previous[t]) / 2.0
                at = self.ctfidf_.row(t)
                if global_tuning and at is not None:
                    overall = self.ctfidf_.c_tf_idf_[at].toarray().ravel()
                    row = (row + overall / max(float(overall.sum()), 1e-12)) / 2.0
                current[t] = row
                best = np.argsort(-row, kind="stable")[:SLICE_WORDS]
                top = [words[j] for j in best if row[j] > 0]
                rows.append(
                    {
                        "Topic": t,
                        "Words": ", ".join(str(w) for w in top),
                        "Frequency": int((topics[members] == t).sum()),
                        column: key,
                        "Name": self.labels_.get(t, ""),
                    }
                )
            previous = current
        return pd.DataFrame(rows, columns=["Topic", "Words", "Frequency", column, "Name"])

    # ------------------------------------------------------------------ figures
    # BERTopic's visualize_* methods: each returns an interactive plotly Figure
    # (`fig.write_html(path)` embeds Plotly, so the file opens offline). The code is in
    # labeler/figures/, one module per figure, imported on first use; report.html draws the
    # same figures. Each function's docstring lists its options.
    def visualize_topics(
        self, topics=None, top_n_topics=None, use_ctfidf=False, custom_labels=False,
        title="<b>Intertopic Distance Map</b>", width=650, height=650,
    ):  # fmt: skip
        """The intertopic distance map (`labeler.figures.topics.visualize_topics`)."""
        from labeler.figures.topics import visualize_topics

        return visualize_topics(self, topics, top_n_topics, use_ctfidf, custom_labels, title,
                                width, height)  # fmt: skip

    def visualize_documents(
        self, docs=None, topics=None, embeddings=None, reduced_embeddings=None, sample=None,
        hide_annotations=False, hide_document_hover=False, custom_labels=False,
        title="<b>Documents and Topics</b>", width=1200, height=750,
    ):  # fmt: skip
        """The documents on the 2-d map (`labeler.figures.documents.visualize_documents`)."""
        from labeler.figures.documents import visualize_documents

        return visualize_documents(self, docs, topics, embeddings, reduced_embeddings, sample,
                                   hide_annotations, hide_document_hover, custom_labels, title,
                                   width, height)  # fmt: skip

    def visualize_document_datamap(
        self, docs=None, topics=None, embeddings=None, reduced_embeddings=None,
        custom_labels=False, title="Documents and Topics", sub_title=None, width=1200,
        height=750, interactive=False, enable_search=False, topic_prefix=False,
        datamap_kwds=None, int_datamap_kwds=None,
    ):  # fmt: skip
        """A data map of the documents, drawn with Plotly
        (`labeler.figures.datamap.visualize_document_datamap`)."""
        from labeler.figures.datamap import visualize_document_datamap

        return visualize_document_datamap(
            self, docs, topics, embeddings, reduced_embeddings, custom_labels, title, sub_title,
            width, height, interactive, enable_search, topic_prefix, datamap_kwds,
            int_datamap_kwds,
        )  # fmt: skip

    def visualize_hierarchical_documents(
        self, docs=None, hierarchical_topics=None, topics=None, embeddings=None,
        reduced_embeddings=None, sample=None, hide_annotations=False, hide_document_hover=True,
        nr_levels=10, level_scale="linear", custom_labels=False,
        title="<b>Hierarchical Documents and Topics</b>", width=1200, height=750,
    ):  # fmt: skip
        """The document map per layer of the topic tree, with a slider
        (`labeler.figures.hierarchical_documents.visualize_hierarchical_documents`)."""
        from labeler.figures.hierarchical_documents import visualize_hierarchical_documents

        return visualize_hierarchical_documents(
            self, docs, hierarchical_topics, topics, embeddings, reduced_embeddings, sample,
            hide_annotations, hide_document_hover, nr_levels, level_scale, custom_labels, title,
            width, height,
        )  # fmt: skip

    def visualize_hierarchy(
        self, orientation="left", topics=None, top_n_topics=None, use_ctfidf=False,
        custom_labels=False, title="<b>Hierarchical Clustering</b>", width=1000, height=600,
        hierarchical_topics=None, linkage_function=None, distance_function=None,
        color_threshold=1,
    ):  # fmt: skip
        """The topics' dendrogram (`labeler.figures.hierarchy.visualize_hierarchy`)."""
        from labeler.figures.hierarchy import visualize_hierarchy

        return visualize_hierarchy(
            self, orientation, topics, top_n_topics, use_ctfidf, custom_labels, title, width,
            height, hierarchical_topics, linkage_function, distance_function, color_threshold,
        )  # fmt: skip

    def visualize_barchart(
        self, topics=None, top_n_topics=8, n_words=5, custom_labels=False,
        title="<b>Topic Word Scores</b>", width=250, height=250, autoscale=False,
        stage="ctfidf",
    ):  # fmt: skip
        """Each topic's best words as bars (`labeler.figures.barchart.visualize_barchart`)."""
        from labeler.figures.barchart import visualize_barchart

        return visualize_barchart(self, topics, top_n_topics, n_words, custom_labels, title,
                                  width, height, autoscale, stage)  # fmt: skip

    def visualize_heatmap(
        self, topics=None, top_n_topics=None, n_clusters=None, use_ctfidf=False,
        custom_labels=False, title="<b>Similarity Matrix</b>", width=800, height=800,
    ):  # fmt: skip
        """The topics' similarity matrix (`labeler.figures.heatmap.visualize_heatmap`)."""
        from labeler.figures.heatmap import visualize_heatmap

        return visualize_heatmap(self, topics, top_n_topics, n_clusters, use_ctfidf,
                                 custom_labels, title, width, height)  # fmt: skip

    def visualize_term_rank(
        self, topics=None, log_scale=False, custom_labels=False,
        title="<b>Term score decline per Topic</b>", width=800, height=500,
    ):  # fmt: skip
        """c-TF-IDF weight by word rank, per topic
        (`labeler.figures.term_rank.visualize_term_rank`)."""
        from labeler.figures.term_rank import visualize_term_rank

        return visualize_term_rank(self, topics, log_scale, custom_labels, title, width, height)

    def visualize_topics_over_time(
        self, topics_over_time=None, top_n_topics=None, topics=None, normalize_frequency=False,
        custom_labels=False, title="<b>Topics over Time</b>", width=1250, height=450,
    ):  # fmt: skip
        """A line per topic through `topics_over_time()`'s bins
        (`labeler.figures.topics_over_time.visualize_topics_over_time`)."""
        from labeler.figures.topics_over_time import visualize_topics_over_time

        return visualize_topics_over_time(self, topics_over_time, top_n_topics, topics,
                                          normalize_frequency, custom_labels, title, width,
                                          height)  # fmt: skip

    def visualize_topics_per_class(
        self, topics_per_class=None, top_n_topics=10, topics=None, normalize_frequency=False,
        custom_labels=False, title="<b>Topics per Class</b>", width=1250, height=900,
    ):  # fmt: skip
        """Bars of documents per class, per topic
        (`labeler.figures.topics_per_class.visualize_topics_per_class`)."""
        from labeler.figures.topics_per_class import visualize_topics_per_class

        return visualize_topics_per_class(self, topics_per_class, top_n_topics, topics,
                                          normalize_frequency, custom_labels, title, width,
                                          height)  # fmt: skip

    def visualize_distribution(
        self, probabilities, min_probability=0.015, custom_labels=False,
        title="<b>Topic Probability Distribution</b>", width=800, height=600,
    ):  # fmt: skip
        """One document's probability per topic, as bars
        (`labeler.figures.distribution.visualize_distribution`)."""
        from labeler.figures.distribution import visualize_distribution

        return visualize_distribution(self, probabilities, min_probability, custom_labels,
                                      title, width, height)  # fmt: skip

    def visualize_approximate_distribution(
        self, document, topic_token_distribution, normalize=False, styled=False, title=None,
        width=None, height=None,
    ):  # fmt: skip
        """Per token of one document, its weight for each topic, as a heatmap (or BERTopic's
        styled table with `styled=True`;
        `labeler.figures.approximate_distribution.visualize_approximate_distribution`)."""
        from labeler.figures.approximate_distribution import visualize_approximate_distribution

        return visualize_approximate_distribution(self, document, topic_token_distribution,
                                                  normalize, styled, title, width,
                                                  height)  # fmt: skip


def _stage_name(name: str) -> str:
    try:
        return stage(name).name
    except KeyError as exc:
        raise LabelerError(str(exc.args[0])) from exc
