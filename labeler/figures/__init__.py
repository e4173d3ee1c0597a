"""BERTopic's figures: one module per figure, each a function of a fitted `TopicModel` that
returns an interactive `plotly.graph_objects.Figure` (`fig.write_html(path)` embeds Plotly's
JavaScript, so the file opens offline).

`TopicModel.visualize_*` are these functions. Where report.html shows the same chart (the
similarity heatmap, the hierarchy, topics over time, topics per class), the report draws the
figure its module builds (`labeler.views.report`), so there is one implementation of each.

| method | module |
| --- | --- |
| `visualize_topics` (intertopic distance map) | `topics` |
| `visualize_documents` | `documents` |
| `visualize_document_datamap` | `datamap` |
| `visualize_hierarchical_documents` | `hierarchical_documents` |
| `visualize_hierarchy` | `hierarchy` |
| `visualize_barchart` | `barchart` |
| `visualize_heatmap` | `heatmap` |
| `visualize_term_rank` | `term_rank` |
| `visualize_topics_over_time` | `topics_over_time` |
| `visualize_topics_per_class` | `topics_per_class` |
| `visualize_distribution` | `distribution` |
| `visualize_approximate_distribution` | `approximate_distribution` |

The names are imported on first use (PEP 562): `_style`, which the report's chart data uses for
colours, loads no Plotly.
"""

from __future__ import annotations

import importlib

FIGURES = {
    "visualize_topics": "topics",
    "visualize_documents": "documents",
    "visualize_document_datamap": "datamap",
    "visualize_hierarchical_documents": "hierarchical_documents",
    "visualize_hierarchy": "hierarchy",
    "visualize_barchart": "barchart",
    "visualize_heatmap": "heatmap",
    "visualize_term_rank": "term_rank",
    "visualize_topics_over_time": "topics_over_time",
    "visualize_topics_per_class": "topics_per_class",
    "visualize_distribution": "distribution",
    "visualize_approximate_distribution": "approximate_distribution",
}

__all__ = [*FIGURES, "FIGURES"]


def __getattr__(name: str):
    module = FIGURES.get(name)
    if module is None:
        raise AttributeError(f"module 'labeler.figures' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"labeler.figures.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *FIGURES])
