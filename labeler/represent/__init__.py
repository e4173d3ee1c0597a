"""Topic descriptions: c-TF-IDF keywords, the embedding stages, representative documents.

_base.py (the Stage protocol, vector helpers), ctfidf.py, keybert.py, mmr.py, docs.py (one
module per stage), describe.py (the STAGES registry and `describe_topics`, used by the fit and by
merges).
"""

from labeler.represent._base import Stage, TopicInput, Words, topic_vectors, unit
from labeler.represent.ctfidf import CTFIDF
from labeler.represent.describe import (
    DESCRIBE_PARAMS,
    OUTLIER,
    STAGES,
    CorpusCounts,
    Description,
    describe_topics,
    keyword_label,
    stage,
)
from labeler.represent.docs import representative_documents
from labeler.represent.keybert import rerank_by_embedding
from labeler.represent.mmr import diversify, mmr

__all__ = [
    "CTFIDF", "CorpusCounts", "DESCRIBE_PARAMS", "OUTLIER", "STAGES", "Description", "Stage",
    "TopicInput", "Words", "describe_topics", "diversify", "keyword_label", "mmr",
    "representative_documents", "rerank_by_embedding", "stage", "topic_vectors", "unit",
]  # fmt: skip
