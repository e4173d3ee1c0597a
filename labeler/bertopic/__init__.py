"""BERTopic's API on labeler: a seed's code runs with its import changed from `bertopic` to
`labeler.bertopic` (`from labeler.bertopic import BERTopic`, `from labeler.bertopic.
representation import KeyBERTInspired`, `from labeler.bertopic.vectorizers import
ClassTfidfTransformer`, `from labeler.bertopic.dimensionality import
BaseDimensionalityReduction`, `from labeler.bertopic.cluster import BaseCluster`).

`BERTopic` is a `TopicModel` under BERTopic's constructor vocabulary: the same estimator, fit
and fitted attributes, and the same run folder when saved (docs/bertopic.md has what differs).
Four parameters have other names in BERTopic (`RENAMES`); each is a property over TopicModel's
attribute, so `get_params()`, `set_params()` and `sklearn.base.clone` speak BERTopic's names
while config.json records TopicModel's (`TopicModel.topic_model_params()`), and a run saved from
either class opens as either (`BERTopic.load`, `labeler.load_run`).
"""

from __future__ import annotations

from labeler import cluster, defaults, guided
from labeler.embedding.sbert import DEFAULT_MODEL
from labeler.model import TopicMapper, TopicModel
from labeler.represent.ctfidf import ClassTfidfTransformer, is_english

__all__ = ["RENAMES", "BERTopic", "TopicMapper"]

# BERTopic's name → TopicModel's, for the parameters the two call differently.
RENAMES = {
    "min_topic_size": "min_cluster_size",
    "n_gram_range": "ngram_range",
    "nr_topics": "n_topics",
    "verbose": "show_progress",
}


def _renamed(name: str, canonical: str) -> property:
    def get(self):
        return getattr(self, canonical)

    def set_(self, value):
        setattr(self, canonical, value)

    return property(get, set_, doc=f"BERTopic's `{name}`: TopicModel's `{canonical}`.")


class BERTopic(TopicModel):
    """BERTopic's constructor on labeler's `TopicModel` (its parameters in BERTopic's order, so
    positional use works as in BERTopic; labeler's own parameters follow, keyword-only).

    What differs from `TopicModel`'s defaults and meanings:

    - `min_topic_size` (TopicModel's `min_cluster_size`) defaults to None, labeler's size that
      grows with the corpus; pass 10 for BERTopic's.
    - `nr_topics` (`n_topics`) counts topics without the outliers: `nr_topics=5` gives 5 topics
      and, when there are any, the outliers (-1).
    - `embedding_model=None` means the `language`'s default model (all-MiniLM-L6-v2, packaged,
      for English; paraphrase-multilingual-MiniLM-L12-v2, not packaged, for any other), which
      also embeds keywords and new documents when embeddings are passed to `fit`.
    - `n_gram_range` (`ngram_range`) and `verbose` (`show_progress`) are the same parameters.

    See `TopicModel` for every parameter and fitted attribute.
    """

    def __init__(
        self,
        language: str = defaults.LANGUAGE,
        top_n_words: int = defaults.TOP_N_WORDS,
        n_gram_range: tuple[int, int] = defaults.NGRAM_RANGE,
        min_topic_size: int | None = None,
        nr_topics: int | str | None = None,
        low_memory: bool = False,
        calculate_probabilities: bool = False,
        seed_topic_list: list[list[str]] | None = None,
        zeroshot_topic_list: list[str] | None = None,
        zeroshot_min_similarity: float = guided.ZEROSHOT_MIN_SIMILARITY,
        embedding_model=None,
        umap_model=None,
        hdbscan_model=None,
        vectorizer_model=None,
        ctfidf_model: ClassTfidfTransformer | None = None,
        representation_model=None,
        verbose: bool = False,
        *,
        n_neighbors: int = defaults.N_NEIGHBORS,
        n_components: int = defaults.N_COMPONENTS,
        min_samples: int | None = None,
        cluster_selection: str = defaults.CLUSTER_SELECTION,
        max_topic_share: float | None = cluster.MAX_TOPIC_SHARE,
        min_df: int | None = None,
        stop_words: str | None = defaults.STOP_WORDS,
        n_candidate_words: int = defaults.N_CANDIDATE_WORDS,
        n_representative_docs: int = defaults.N_REPRESENTATIVE_DOCS,
        mmr_diversity: float = defaults.MMR_DIVERSITY,
        seed: int = defaults.SEED,
        layout: bool = True,
        cache_dir: str | None = None,
        use_cache: bool = True,
        image_model=defaults.IMAGE_MODEL,
        modality: str | None = None,
    ):
        super().__init__(
            embedding_model=embedding_model,
            n_neighbors=n_neighbors,
            n_components=n_components,
            min_cluster_size=min_topic_size,
            min_samples=min_samples,
            cluster_selection=cluster_selection,
            max_topic_share=max_topic_share,
            n_topics=nr_topics,
            ngram_range=n_gram_range,
            min_df=min_df,
            stop_words=stop_words,
            top_n_words=top_n_words,
            n_candidate_words=n_candidate_words,
            n_representative_docs=n_representative_docs,
            mmr_diversity=mmr_diversity,
            seed_topic_list=seed_topic_list,
            zeroshot_topic_list=zeroshot_topic_list,
            zeroshot_min_similarity=zeroshot_min_similarity,
            seed=seed,
            layout=layout,
            cache_dir=cache_dir,
            use_cache=use_cache,
            show_progress=verbose,
            umap_model=umap_model,
            hdbscan_model=hdbscan_model,
            vectorizer_model=vectorizer_model,
            ctfidf_model=ctfidf_model,
            representation_model=representation_model,
            calculate_probabilities=calculate_probabilities,
            language=language,
            low_memory=low_memory,
            image_model=image_model,
            modality=modality,
        )

    def embedding_spec(self):
        """BERTopic's `embedding_model=None`: the language's default model."""
        if self.embedding_model is None:
            if is_english(self.language):
                return DEFAULT_MODEL
            from labeler.embedding import multilingual_model

            return multilingual_model()
        return super().embedding_spec()

    def _param(self, name: str) -> str:
        return {canonical: own for own, canonical in RENAMES.items()}.get(name, name)


for _name, _canonical in RENAMES.items():
    setattr(BERTopic, _name, _renamed(_name, _canonical))
