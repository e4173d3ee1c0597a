"""What a fitted `TopicModel` tells: BERTopic's fitted attributes (views of labeler's own, one
copy of each fact) and its `get_*` calls."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from labeler.errors import LabelerError
from labeler.represent import (
    STAGES,
    stage,
)
from labeler.represent import chain as representation


class InspectionMixin:
    """`TopicModel`'s fitted attributes in BERTopic's shapes and its `get_*` calls."""

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
        """Each topic's representative documents, as texts (`representative_rows_`' rows; after
        `partial_fit`, those of every batch: `CombineMixin._carry_representatives`)."""
        docs = {
            t: [self.documents_[i] for i in rows] for t, rows in self.representative_rows_.items()
        }
        online = getattr(self, "online_", None)
        if online is not None:
            docs.update({t: [text for text, _ in pairs]
                         for t, pairs in online.representative.items()})  # fmt: skip
        return docs

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
        (labeler's stages), one column per aspect, Summary (when an LLM named the topics),
        Representative_Docs. `topic`: its row only."""
        self._check_fitted()
        ids = sorted(self.topic_ids_)
        custom = self.custom_labels_ if getattr(self, "custom_labels_", None) else None
        llm = getattr(self, "llm_labels_", None)
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
            if llm:  # an LLM named the topics (OpenAI, TextGeneration): its summaries too
                row["Summary"] = (llm.get(t) or {}).get("summary") or ""
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


def _stage_name(name: str) -> str:
    try:
        return stage(name).name
    except KeyError as exc:
        raise LabelerError(str(exc.args[0])) from exc
