"""Catch-all topics on every labeled corpus in ../shared/data, before and after the split rule
(run by hand, not in CI; no LLM).

Same slices as benchmarks/labels_quality.py (seeded, at most --max-docs, half for long corpora).
One fit per corpus with the split off (`max_topic_share=None`); the rule
(`labeler.cluster.split_catch_all`) is then applied to that fit's topics, so "before" and "after"
differ only by the rule. Per corpus: the largest category's share (the corpus's own skew), the
largest topic's share and purity (its majority category's share of its documents) before and
after, and for each topic over 25%: the best sub-group silhouette and the decision.

    nice -n 10 env LABELER_CACHE_DIR=/work/cache-bench python benchmarks/topic_split.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labels_quality import corpora, slice_corpus  # noqa: E402


def largest(topics: np.ndarray, classes: np.ndarray) -> tuple[float, float]:
    ids, counts = np.unique(topics[topics >= 0], return_counts=True)
    if not len(ids):
        return 0.0, 0.0
    top = ids[np.argmax(counts)]
    members = classes[topics == top]
    return counts.max() / len(topics), Counter(members).most_common(1)[0][1] / len(members)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", nargs="*", default=None)
    parser.add_argument("--max-docs", type=int, default=3000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from labeler.cluster import MAX_TOPIC_SHARE, SPLIT_SILHOUETTE, split_catch_all
    from labeler.model import TopicModel
    from labeler.views.metrics import cluster_agreement

    rows = []
    for name in args.corpora or corpora():
        texts, labels, note = slice_corpus(name, args.max_docs)
        classes = np.array(labels, dtype=object)
        model = TopicModel(max_topic_share=None).fit(texts)
        before = model.topics_
        after, decisions = split_catch_all(before, model.embeddings_, model.min_cluster_size_)
        row = {
            "corpus": name,
            "slice": note,
            "largest_class": Counter(labels).most_common(1)[0][1] / len(labels),
            "before": largest(before, classes),
            "after": largest(after, classes),
            "topics": (len(set(before.tolist()) - {-1}), len(set(after.tolist()) - {-1})),
            "purity": (
                cluster_agreement(before, labels)["purity"],
                cluster_agreement(after, labels)["purity"],
            ),
            "decisions": decisions,
        }
        rows.append(row)
        print(json.dumps(row, default=float), file=sys.stderr, flush=True)
    print(f"rule: a topic over {MAX_TOPIC_SHARE:.0%} of the corpus is split when its best k-means "
          f"sub-groups have silhouette >= {SPLIT_SILHOUETTE}")  # fmt: skip
    print("| corpus | slice | largest category | topics before → after | largest topic before "
          "(purity) | largest topic after (purity) | overall purity before → after "
          "| topics over 25%: silhouette, decision |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        decided = "; ".join(
            f"{d['share']:.0%}: {d['silhouette']:.3f} "
            + (f"split in {d['subgroups']}" if d["split"] else "kept")
            for d in r["decisions"]
        )
        cells = [
            r["corpus"],
            r["slice"],
            f"{r['largest_class']:.0%}",
            f"{r['topics'][0]} → {r['topics'][1]}",
            f"{r['before'][0]:.0%} ({r['before'][1]:.0%})",
            f"{r['after'][0]:.0%} ({r['after'][1]:.0%})",
            f"{r['purity'][0]:.0%} → {r['purity'][1]:.0%}",
            decided or "none",
        ]
        print("| " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
