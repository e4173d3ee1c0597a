"""The topic tree against known coarse categories (run by hand, not in CI): CLINC150 (domain →
intent; the `oos` queries left out) and 20 Newsgroups (the group prefix: alt, comp, misc, rec,
sci, soc, talk → newsgroup).

Per corpus, one seeded random slice (--max-docs; half that for 20 Newsgroups, whose posts are
long, headers, footers and quotes stripped as in labels_quality.py):

1. `labeler run SLICE --llm none` (the tree is built with the fit: hierarchy.json), then
   `labeler relabel RUN --llm MODEL`: topic labels, then the tree's names bottom-up.
2. Structure: ARI (on non-outlier documents) between the coarse categories and
   - layer 1 of the run's tree (Ward agglomeration of unit topic centres, about a quarter
     of the topics: the layer as built),
   - the same agglomeration cut at as many groups as there are coarse categories (`@k`),
   - HDBSCAN's own condensed tree (the fit's UMAP reduction, from the cache, and its HDBSCAN
     settings), cut into the same numbers of groups: each topic goes to the condensed-tree
     cluster, above the one holding most of its documents, that survives the cut; the cut
     splits the cluster that splits at the lowest density first, until there are k groups;
   - ward linkage on the same centres, at the same two sizes (a second agglomeration).
3. Names: a layer-1 node's name matches when its nearest coarse category name (MiniLM cosine, the
   label benchmark's match: `labeler.views.metrics.label_matches`) is the majority category of its
   documents; by nodes and by documents. Nodes with one child take their child's name and are
   counted too (`one-child`).

    nice -n 10 env LABELER_CACHE_DIR=/work/cache-tree python benchmarks/topic_tree.py \\
        --llm-model small --max-docs 2000
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

# Readable names of the coarse categories (what a good parent name would say).
COARSE_NAMES = {
    "20newsgroups": {
        "alt": "atheism", "comp": "computers", "misc": "items for sale",
        "rec": "recreation: cars, motorcycles and sports", "sci": "science",
        "soc": "christianity", "talk": "politics and religion debates",
    },
    "clinc150": {"auto_and_commute": "cars and commuting", "small_talk": "small talk"},
}  # fmt: skip


def load(name: str, max_docs: int) -> tuple[list[str], list[str], str]:
    with gzip.open(SHARED / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    if name == "clinc150":
        rows = [r for r in rows if r["domain"] != "oos"]
        coarse = [r["domain"] for r in rows]
        texts = [r["text"] for r in rows]
    else:
        from sklearn.datasets._twenty_newsgroups import (
            strip_newsgroup_footer,
            strip_newsgroup_header,
            strip_newsgroup_quoting,
        )

        texts = [r["text"] for r in rows]
        for step in (strip_newsgroup_header, strip_newsgroup_footer, strip_newsgroup_quoting):
            texts = [step(t) for t in texts]
        coarse = [r["label"].split(".")[0] for r in rows]
        max_docs //= 2
    keep = [i for i, t in enumerate(texts) if t.strip()]
    idx = np.sort(np.random.default_rng(0).choice(keep, min(max_docs, len(keep)), replace=False))
    note = f"{len(idx):,} of {len(keep):,}"
    return [texts[i] for i in idx], [coarse[i] for i in idx], note


def labeler(*args: str) -> float:
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "labeler", *args, "-q"]
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise RuntimeError(f"labeler {args[0]} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started


def groups_ari(doc_topics: np.ndarray, topic_group: dict[int, int], truth: np.ndarray) -> float:
    from sklearn.metrics import adjusted_rand_score

    keep = doc_topics >= 0
    mapped = np.array([topic_group.get(int(t), -1) for t in doc_topics[keep]])
    return float(adjusted_rand_score(truth[keep], mapped))


def agglomerative(centres: np.ndarray, ids: list[int], k: int, method: str) -> dict[int, int]:
    from scipy.cluster.hierarchy import fcluster, linkage

    if method == "ward":
        tree = linkage(centres.astype(np.float64), method="ward")
    else:
        tree = linkage(centres.astype(np.float64), method=method, metric="cosine")
    return dict(zip(ids, (fcluster(tree, t=k, criterion="maxclust") - 1).tolist()))


def condensed_cuts(run: Path, doc_topics: np.ndarray, ks: list[int]) -> dict[int, dict[int, int]]:
    """Topic → group for each k, from HDBSCAN's condensed tree on the fit's reduction."""
    import hdbscan

    from labeler import load_run
    from labeler.cluster import default_min_samples

    model = load_run(run)
    reduced, _ = model._reduce(model.embeddings_)  # the fit's reduction, from the cache
    config = json.loads((run / "config.json").read_text())["hdbscan"]
    fitted = hdbscan.HDBSCAN(
        min_cluster_size=config["min_cluster_size"],
        min_samples=config.get("min_samples") or default_min_samples(config["min_cluster_size"]),
        metric="euclidean",
        cluster_selection_method=config.get("cluster_selection_method", "eom"),
    ).fit(reduced)
    tree = fitted.condensed_tree_.to_pandas()
    clusters = tree[tree.child_size > 1]
    children: dict[int, list[int]] = {}
    birth: dict[int, float] = {}
    for row in clusters.itertuples():
        children.setdefault(int(row.parent), []).append(int(row.child))
        birth[int(row.child)] = float(row.lambda_val)
    parent = {c: p for p, cs in children.items() for c in cs}
    selected = sorted(fitted.condensed_tree_._select_clusters())
    raw = np.asarray(fitted.labels_)
    # each final topic → the selected cluster holding most of its documents
    topic_cluster = {}
    for t in sorted(set(doc_topics.tolist()) - {-1}):
        votes = raw[(doc_topics == t) & (raw >= 0)]
        if len(votes):
            topic_cluster[t] = selected[int(np.bincount(votes).argmax())]
    root = int(tree.parent.min())
    out = {}
    for k in ks:
        frontier = {root}
        while len(frontier) < k:
            splittable = [c for c in frontier if c in children]
            if not splittable:
                break
            split = min(splittable, key=lambda c: min(birth[x] for x in children[c]))
            frontier.remove(split)
            frontier.update(children[split])
        mapping = {}
        for t, c in topic_cluster.items():
            node = c
            while node not in frontier and node in parent:
                node = parent[node]
            mapping[t] = node if node in frontier else -1
        out[k] = mapping
    return out


def name_match(run: Path, docs: pd.DataFrame, truth: np.ndarray, name: str, scorer) -> dict:
    from labeler.tree import assignment
    from labeler.views.metrics import label_matches

    nodes = json.loads((run / "hierarchy.json").read_text())["nodes"]
    layer1 = [n for n in nodes if n["layer"] == 1]
    column = assignment(docs["topic"].to_numpy(), nodes, 1)
    categories = sorted(set(truth))
    readable = [COARSE_NAMES.get(name, {}).get(c, c.replace("_", " ")) for c in categories]
    index = {c: i for i, c in enumerate(categories)}
    targets = []
    for n in layer1:
        values, counts = np.unique(truth[column == n["id"]], return_counts=True)
        targets.append(index[values[counts.argmax()]])
    hits = label_matches(
        scorer.embed([n["label"] for n in layer1]), scorer.embed(readable), targets
    )
    sizes = np.array([n["size"] for n in layer1], dtype=float)
    return {
        "nodes": len(layer1),
        "one_child": sum(1 for n in layer1 if len(n["children"]) == 1),
        "match_nodes": float(hits.mean()),
        "match_docs": float((hits * sizes).sum() / sizes.sum()),
        "names": [(n["label"], categories[t], bool(h)) for n, t, h in zip(layer1, targets, hits)],
        "llm": sum(1 for n in layer1 if n.get("label_source") == "llm"),
        "match_llm": "{}/{}".format(
            sum(bool(h) for n, h in zip(layer1, hits) if n.get("label_source") == "llm"),
            sum(1 for n in layer1 if n.get("label_source") == "llm"),
        ),
    }


def measure(name: str, max_docs: int, model: str, work: Path, scorer, timeout: int) -> dict:
    from labeler.represent import unit

    texts, coarse, note = load(name, max_docs)
    corpus = work / f"{name}.jsonl"
    with corpus.open("w", encoding="utf-8") as fh:
        for i, (t, c) in enumerate(zip(texts, coarse)):
            fh.write(json.dumps({"id": i, "text": t, "coarse": c}) + "\n")
    run = work / name
    fit_s = labeler("run", str(corpus), "--id-column", "id", "--class-column", "coarse",
                    "--llm", "none", "--out", str(run))  # fmt: skip
    docs = pd.read_parquet(run / "documents.parquet", columns=["doc_id", "topic", "class"])
    truth = docs["class"].astype(str).to_numpy()
    doc_topics = docs["topic"].to_numpy()
    tree = json.loads((run / "hierarchy.json").read_text())["nodes"]
    ids = sorted(n["id"] for n in tree if n["layer"] == 0)
    layer1 = {t: n["id"] for n in tree if n["layer"] == 1 for t in n["topics"]}
    k1, kc = len(set(layer1.values())), len(set(truth))
    vectors = unit(np.load(run / "embeddings.npy"))
    centres = unit(np.stack([vectors[doc_topics == t].mean(axis=0) for t in ids]))
    condensed = condensed_cuts(run, doc_topics, [k1, kc])
    result = {
        "corpus": name, "slice": note, "topics": len(ids), "k1": k1, "kc": kc,
        "ari_layer1": groups_ari(doc_topics, layer1, truth),
        "ari_avg_kc": groups_ari(doc_topics, agglomerative(centres, ids, kc, "average"), truth),
        "ari_ward_k1": groups_ari(doc_topics, agglomerative(centres, ids, k1, "ward"), truth),
        "ari_ward_kc": groups_ari(doc_topics, agglomerative(centres, ids, kc, "ward"), truth),
        "ari_condensed_k1": groups_ari(doc_topics, condensed[k1], truth),
        "ari_condensed_kc": groups_ari(doc_topics, condensed[kc], truth),
        "ari_topics": groups_ari(doc_topics, {t: t for t in ids}, truth),
        "fit_s": fit_s,
    }  # fmt: skip
    if model != "none":
        result["label_s"] = labeler(
            "relabel", str(run), "--llm", model, "--llm-timeout", str(timeout)
        )
        result.update(name_match(run, docs, truth, name, scorer))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", nargs="+", default=["clinc150", "20newsgroups"])
    parser.add_argument("--max-docs", type=int, default=2000)
    parser.add_argument("--llm-model", default="small", help="local, small or none")
    parser.add_argument("--keep", type=Path, help="Keep the runs in this folder.")
    parser.add_argument(
        "--llm-timeout", type=int, default=600, help="Seconds per LLM request (busy machines)."
    )
    args = parser.parse_args()

    from labeler.embedding.sbert import SentenceTransformerEmbedder

    scorer = SentenceTransformerEmbedder()
    work = Path(tempfile.mkdtemp(prefix="topic-tree-"))
    rows = []
    try:
        for name in args.corpora:
            rows.append(
                measure(name, args.max_docs, args.llm_model, work, scorer, args.llm_timeout)
            )
            print(json.dumps(rows[-1], default=str), file=sys.stderr)
        if args.keep:
            shutil.copytree(work, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("\nUpper layer vs coarse categories (ARI on non-outlier documents)\n")
    print("| corpus | slice | topics | layer 1 nodes | coarse | ARI layer 1 (as built: Ward) "
          "| condensed tree, same k | ward, same k | average @ coarse k | condensed @ coarse k "
          "| ward @ coarse k | topics themselves |")  # fmt: skip
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['corpus']} | {r['slice']} | {r['topics']} | {r['k1']} | {r['kc']} "
              f"| {r['ari_layer1']:.3f} | {r['ari_condensed_k1']:.3f} | {r['ari_ward_k1']:.3f} "
              f"| {r['ari_avg_kc']:.3f} | {r['ari_condensed_kc']:.3f} | {r['ari_ward_kc']:.3f} "
              f"| {r['ari_topics']:.3f} |")  # fmt: skip
    if args.llm_model != "none":
        print(f"\nLayer 1 names vs coarse category names ({args.llm_model} model)\n")
        print("| corpus | layer 1 nodes | one-child | LLM-named | match (nodes) | match (docs) "
              "| relabel s |")  # fmt: skip
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in rows:
            print(
                f"| {r['corpus']} | {r['nodes']} | {r['one_child']} | {r['llm']} "
                f"| {r['match_nodes']:.0%} | {r['match_docs']:.0%} | {r['label_s']:.0f} |"
            )
        for r in rows:
            print(f"\n{r['corpus']}: " + "; ".join(
                f"{label!r} → {cat} {'✓' if hit else '✗'}" for label, cat, hit in r["names"]
            ))  # fmt: skip


if __name__ == "__main__":
    main()
