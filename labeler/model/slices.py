"""Topics per time bin and per class (BERTopic's `topics_over_time`, `topics_per_class`),
for `TopicModel`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.preprocessing import normalize

from labeler.errors import LabelerError
from labeler.represent.slices import class_values, time_bins

SLICE_WORDS = 5  # words per topic and time bin or class, as BERTopic's topics_over_time


class SlicesMixin:
    """`TopicModel`'s `topics_over_time` and `topics_per_class`."""

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
