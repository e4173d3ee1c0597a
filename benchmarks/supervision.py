"""Semi-supervised topics: labeler vs BERTopic 0.17.4 with 0%, 5%, 20% and 100% of the labels
given (issue 23 item 1; run by hand, not in CI).

For each corpus a seeded slice (BANKING77 and CLINC150, 2,000 queries by default) is embedded
once with labeler's packaged all-MiniLM-L6-v2; both systems fit those same vectors with
`fit(docs, embeddings, y=y)` (labeler's `TopicModel`; BERTopic with its defaults and a seeded
UMAP, its semi-supervised mode), where y holds each document's class for a seeded share of the
documents and -1 for the rest (0%: y=None, the unsupervised fit). BERTopic runs in its own
Python (--bertopic).

Figures, against the corpus' labels:
  ARI (all): every document, the outliers as one more cluster;
  ARI (clustered): documents in a topic only, as `labeler eval` computes it (with its NMI);
  label match: `labeler eval`'s: the share of topics whose keyword label (no LLM: labeler's
    keyword label, BERTopic's `Name`) is nearer (cosine, same embedder) to its majority class'
    name (`card_arrival` read as "card arrival") than to any other class name;
  topics and the outlier share; seconds: the fit's wall time in its process, as a ratio to
    BERTopic's.

    python benchmarks/supervision.py --bertopic /work/bt-venv/bin/python
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
SHARES = (0.0, 0.05, 0.2, 1.0)

BERTOPIC_SCRIPT = r"""
import json, sys, time
import numpy as np
from bertopic import BERTopic
from umap import UMAP
job = json.load(open(sys.argv[1]))
vectors = np.load(sys.argv[2])
out = []
for y in job["targets"]:
    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                      random_state=job["seed"])
    model = BERTopic(umap_model=umap_model)
    start = time.perf_counter()
    topics, _ = model.fit_transform(job["docs"], vectors, y=None if y is None else np.array(y))
    seconds = time.perf_counter() - start
    info = model.get_topic_info()
    names = {int(t): str(n) for t, n in zip(info["Topic"], info["Name"])}
    out.append({"topics": [int(t) for t in topics], "names": names, "seconds": seconds})
json.dump(out, open(sys.argv[3], "w"))
"""


def read_slice(name: str, n: int, seed: int) -> tuple[list[str], list[str]]:
    with gzip.open(DATA / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    picked = np.sort(np.random.default_rng(seed).choice(len(rows), n, replace=False))
    return [rows[i]["text"] for i in picked], [str(rows[i]["label"]) for i in picked]


def targets(classes: list[str], share: float, seed: int) -> np.ndarray | None:
    """The given labels: each document's class id with probability `share`, else -1."""
    if share == 0:
        return None
    names = sorted(set(classes))
    y = np.array([names.index(c) for c in classes], dtype=np.int64)
    keep = np.random.default_rng(seed + 1).random(len(y)) < share
    return np.where(keep, y, -1)


def figures(topics, names: dict[int, str], classes: list[str], embedder) -> dict:
    from sklearn.metrics import adjusted_rand_score

    from labeler.views import metrics as ev
    from labeler.views.evaluation import readable

    topics = np.asarray(topics)
    agreement = ev.cluster_agreement(topics, classes)
    majority = ev.majority_classes(topics, classes)
    judged = sorted(majority)
    categories = sorted(set(classes))
    index = {c: i for i, c in enumerate(categories)}
    hits = ev.label_matches(
        embedder.embed([names[t] for t in judged]),
        embedder.embed([readable(c, {}) for c in categories]),
        [index[majority[t][0]] for t in judged],
    )
    return {
        "ari_all": float(adjusted_rand_score(classes, topics)),
        "ari": agreement["ari"],
        "nmi": agreement["nmi"],
        "label_match": float(hits.mean()) if len(judged) else None,
        "topics": len(judged),
        "outliers": float((topics < 0).mean()),
    }


def run_labeler(docs, vectors, ys) -> list[dict]:
    from labeler import TopicModel

    out = []
    for y in ys:
        model = TopicModel(layout=False, use_cache=False)
        start = time.perf_counter()
        model.fit(docs, vectors, y=y)
        seconds = time.perf_counter() - start
        out.append({"topics": model.topics_, "names": dict(model.labels_), "seconds": seconds})
    return out


def run_bertopic(python: str, docs, vectors, ys, seed: int, work: Path) -> list[dict]:
    job, arrays, result = work / "job.json", work / "vectors.npy", work / "bertopic.json"
    job.write_text(json.dumps({
        "docs": docs, "seed": seed, "targets": [None if y is None else y.tolist() for y in ys],
    }))  # fmt: skip
    np.save(arrays, vectors)
    script = work / "bertopic_fit.py"
    script.write_text(BERTOPIC_SCRIPT)
    done = subprocess.run(
        [python, str(script), str(job), str(arrays), str(result)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"BERTopic failed:\n{done.stderr[-3000:]}")
    found = json.loads(result.read_text())
    for row in found:
        row["names"] = {int(k): v for k, v in row["names"].items()}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", nargs="+", default=["banking77", "clinc150"])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--bertopic", help="a Python that imports bertopic 0.17.4")
    args = parser.parse_args()

    from labeler.embedding.sbert import CachedEmbedder  # noqa: F401 - loads the stack once
    from labeler.model import TopicModel

    embedder = TopicModel()._embedder()
    lines = [
        "| corpus | labels given | system | ARI (all) | ARI (clustered) | NMI | label match | "
        "topics | outliers | fit s (× BERTopic) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in args.corpora:
        docs, classes = read_slice(name, args.docs, args.seed)
        vectors = np.asarray(embedder.embed(docs), dtype=np.float32)
        ys = [targets(classes, share, args.seed) for share in SHARES]
        ours = run_labeler(docs, vectors, ys)
        theirs = [None] * len(SHARES)
        if args.bertopic:
            with tempfile.TemporaryDirectory() as tmp:
                theirs = run_bertopic(args.bertopic, docs, vectors, ys, args.seed, Path(tmp))
        for share, mine, other in zip(SHARES, ours, theirs):
            for system, fit in (("labeler", mine), ("BERTopic 0.17.4", other)):
                if fit is None:
                    continue
                f = figures(fit["topics"], fit["names"], classes, embedder)
                ratio = ""
                if other is not None:
                    ratio = f" ({fit['seconds'] / max(other['seconds'], 1e-9):.2f}×)"
                lines.append(
                    f"| {name} {len(docs):,} ({len(set(classes))} classes) | {share:.0%} | "
                    f"{system} | {f['ari_all']:.3f} | {f['ari']:.3f} | {f['nmi']:.3f} | "
                    f"{f['label_match']:.1%} | {f['topics']} | {f['outliers']:.1%} | "
                    f"{fit['seconds']:.1f}{ratio} |"
                )
        print(f"{name}: done", file=sys.stderr)
    print("\n".join(lines))
    print(
        "\nLabels given: a seeded share of the documents keep their class, the rest -1; "
        "keyword labels (no LLM). Both fit the same MiniLM vectors."
    )


if __name__ == "__main__":
    main()
