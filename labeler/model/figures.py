"""BERTopic's `visualize_*` methods for `TopicModel`: each returns an interactive plotly
Figure drawn by `labeler.figures` (one module per figure, imported on first use)."""

from __future__ import annotations


class FiguresMixin:
    """`TopicModel`'s `visualize_*` calls, each a thin door to `labeler.figures`."""

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
