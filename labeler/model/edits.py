"""BERTopic's changes to a fitted model in memory (merge, reduce, outliers, update) and its
label calls (`generate_topic_labels`, `set_topic_labels`), for `TopicModel`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np

from labeler import cluster as clustering
from labeler import reassign
from labeler.errors import LabelerError
from labeler.model.mapper import TopicMapper
from labeler.represent import (
    CTFIDF,
    OUTLIER,
)
from labeler.represent.ctfidf import ClassTfidfTransformer


class EditsMixin:
    """`TopicModel`'s surgery in memory and BERTopic's label calls; the rules that move
    documents are `labeler.reassign`'s, shared with `labeler.surgery` on a run folder."""

    # BERTopic's changes to a fitted model in memory. The rules that move documents are
    # `labeler.reassign`'s, the ones `labeler topics RUN merge|reduce|outliers` applies to a run
    # folder (`labeler.surgery`); here, as in BERTopic, the topics are then renumbered by size and
    # every topic is described again with the model's own chain (c-TF-IDF, the keyword stages,
    # `representation_model`), as at the end of `fit`.
    def _fitted_docs(self, docs, method: str) -> None:
        """BERTopic's `docs` argument: the fitted documents, in order (others are refused)."""
        self._check_fitted()
        if getattr(self, "online_", None) is not None and method != "reduce_outliers":
            raise LabelerError(
                f"{method} changes the topics of every fitted document, and a model fitted with "
                "partial_fit holds only its latest batch: fit the documents with fit() first"
            )
        if docs is None or [str(d) for d in docs] != self.documents_:
            raise LabelerError(
                f"{method} works on the fitted documents: pass the {len(self.documents_)} "
                "documents given to fit, in the same order"
            )

    def _no_images(self, images) -> None:
        """Topic surgery keeps the fitted images: `images` may only repeat them."""
        if images is None:
            return
        fitted = getattr(self, "image_paths_", None)
        given = [None if p is None else str(p) for p in images]
        if fitted is None or given != list(fitted):
            raise LabelerError(
                "images: the surgery keeps the images given to fit; pass those (or None)"
            )

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

    def _merge_groups(self, topics_to_merge, what: str = "topics_to_merge") -> list[list[int]]:
        items = list(topics_to_merge) if isinstance(topics_to_merge, (list, tuple)) else None
        whole = (int, np.integer)
        if items and all(isinstance(t, whole) and not isinstance(t, bool) for t in items):
            groups = [items]
        elif items and all(isinstance(g, (list, tuple, np.ndarray)) for g in items):
            groups = [list(g) for g in items]
        else:
            raise LabelerError(
                f"{what} is a list of topics ([1, 2, 3]) or a list of lists of topics "
                "([[1, 2], [3, 4]])"
            )
        known = sorted(t for t in self.topic_sizes_ if t != OUTLIER)
        seen: set[int] = set()
        for group in groups:
            for t in group:
                if isinstance(t, bool) or not isinstance(t, whole):
                    raise LabelerError(f"{what}: {t!r} is not a topic id")
                if int(t) == OUTLIER:
                    raise LabelerError(
                        "topic -1 holds the outliers: reassign them with reduce_outliers"
                    )
                if int(t) not in self.topic_sizes_:
                    raise LabelerError(f"no topic {t} (the topics are {known[0]}-{known[-1]})")
                if int(t) in seen:
                    raise LabelerError(f"topic {t} is given twice in {what}")
                seen.add(int(t))
        return [[int(t) for t in group] for group in groups]

    def delete_topics(self, topics_to_delete: Sequence[int]) -> None:
        """Delete topics, as BERTopic's `delete_topics`: their documents become outliers (-1),
        then, as after `merge_topics`, the topics are renumbered by size, described again and
        recorded in `topic_mapper_` (as `labeler topics RUN delete` on a run folder)."""
        self._check_fitted()
        if isinstance(topics_to_delete, (int, np.integer)) and not isinstance(
            topics_to_delete, bool
        ):
            topics_to_delete = [topics_to_delete]
        groups = self._merge_groups(list(topics_to_delete), "topics_to_delete")
        gone = [t for group in groups for t in group]
        if len(set(gone)) >= len([t for t in self.topic_sizes_ if t != OUTLIER]):
            raise LabelerError("delete_topics would leave no topic: keep at least one")
        after = np.asarray(self.topics_, dtype=np.int64).copy()
        after[np.isin(after, gone)] = OUTLIER
        self._retopic(after)

    def reduce_topics(
        self,
        docs: Sequence[str],
        nr_topics: int | str = 20,
        images=None,
        use_ctfidf: bool = False,
    ) -> Self:
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
                if total[t] != OUTLIER:  # a deleted topic's share is nobody's
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
                if total[t] != OUTLIER or t == OUTLIER:  # a deleted topic's name goes with it
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
        - "distributions" (BERTopic's default): the largest share of the outlier's
          `approximate_distribution` (with `min_similarity=0` and `distributions_params`, as
          BERTopic's), threshold on the share; a document none of whose windows resembles a
          topic stays an outlier.

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
        if name == "distributions":
            probabilities = self._outlier_distributions(topics, distributions_params)
            name = "probabilities"
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

    def _outlier_distributions(self, topics: np.ndarray, params: dict | None) -> np.ndarray:
        """The outliers' `approximate_distribution` rows as a (documents, topics of `topics`)
        matrix (zeros elsewhere), for the "distributions" strategy of `reduce_outliers`."""
        params = {"min_similarity": 0, **(params or {})}
        unknown = set(params) - {"window", "stride", "min_similarity", "batch_size", "padding",
                                 "use_embedding_model", "separator"}  # fmt: skip
        if unknown:
            raise LabelerError(
                f"distributions_params: approximate_distribution takes no "
                f"{', '.join(sorted(unknown))}"
            )
        ids = reassign.topic_ids(topics)
        rows = np.flatnonzero(topics == OUTLIER)
        matrix = np.zeros((len(topics), len(ids)))
        if rows.size and ids:
            distr, _ = self.approximate_distribution([self.documents_[i] for i in rows], **params)
            own = [t for t in sorted(self.topic_ids_) if t != OUTLIER]
            where = {t: i for i, t in enumerate(ids)}
            for column, t in enumerate(own):
                if t in where:
                    matrix[rows, where[t]] = distr[:, column]
        return matrix

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
