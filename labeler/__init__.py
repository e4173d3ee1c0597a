"""labeler: turn a corpus of text into a reviewed, shareable topic report.

The public names are imported on first use (PEP 562), so `import labeler` and `labeler --help`
do not pay for pandas, scikit-learn, UMAP or torch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # the estimator and its run folder
    "TopicModel": "labeler.model",
    "BERTopic": "labeler.bertopic",
    "Run": "labeler.run.folder",
    "load_run": "labeler.run.records",
    "save": "labeler.api",
    # the label step (then the reports) and where it asks
    "label_run": "labeler.api",
    "LLMSettings": "labeler.llm.settings",
    # the backends a user can swap (typing.Protocol)
    "ChatModel": "labeler.llm.client",
    "Embedder": "labeler.embedding.sbert",
    # the one error a user acts on
    "LabelerError": "labeler.errors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'labeler' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
