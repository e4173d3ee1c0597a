"""Reconstruction accuracy beside ground-truth label match, labeler vs BERTopic's OpenAI labels
on the *same topics*, on the labeled corpora in ../shared/data (run by hand, not in CI).

Per corpus (one seeded slice, as benchmarks/labels_quality.py cuts it, default 1,500 documents):

1. `labeler run SLICE --llm none`, then `labeler relabel RUN --llm MODEL`: labeler's labels.
2. BERTopic 0.17's `bertopic.representation.OpenAI` (its default prompt, 4 documents of at most
   100 words) labels the same topics: BERTopic in manual mode (`BaseDimensionalityReduction`,
   `BaseCluster`, `y=` the run's topics, the run's embeddings), its answers written into a copy
   of the run as the current labels (no summaries: BERTopic's give none).
3. Both runs: `labeler eval RUN --reconstruct --sample S` (the same held-out documents, the same
   packaged LLM) and label match against the corpus's categories (benchmarks/labels_quality.py's
   scorer: the label's nearest category name is the topic's majority category).

The table ends with the correlation, over every (corpus, labeler or BERTopic) pair, between
reconstruction accuracy and label match: whether the figure a user can compute on an unlabelled
corpus tracks the one only ground truth gives.

    nice -n 10 python benchmarks/reconstruct.py --llm-model small --corpora banking77 ag_news_test
    ... --sample 100 --max-docs 1000 --json out.json --rows rows.jsonl   (resumable)

Needs bertopic importable (`--bertopic-python` runs that part in a Python that has it, e.g.
/work/bt-venv/bin/python, which sees labeler's packages).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from labels_quality import Scorer, corpora, labeler, score_run, slice_corpus  # noqa: E402


def bertopic_labels(run: Path, model: str, out: Path) -> None:
    """BERTopic's OpenAI labels for the run's own topics, written to `out` as {topic: label}."""
    import openai
    import pandas as pd
    from bertopic import BERTopic
    from bertopic.cluster import BaseCluster
    from bertopic.dimensionality import BaseDimensionalityReduction
    from bertopic.representation import OpenAI
    from sklearn.feature_extraction.text import CountVectorizer

    from labeler.llm.local import LocalServer

    docs = pd.read_parquet(run / "documents.parquet", columns=["text", "topic"])
    texts = docs["text"].astype(str).tolist()
    y = docs["topic"].to_numpy()
    vectors = np.load(run / "embeddings.npy")
    with LocalServer(model, parallel=1) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused")
        rep = OpenAI(client, model=server.alias, nr_docs=4, doc_length=100,
                     tokenizer="whitespace")  # fmt: skip
        topic_model = BERTopic(
            umap_model=BaseDimensionalityReduction(), hdbscan_model=BaseCluster(),
            vectorizer_model=CountVectorizer(stop_words="english"), representation_model=rep,
        )  # fmt: skip
        topic_model.fit(texts, vectors, y=y)
    labels = {int(t): words[0][0] for t, words in topic_model.topic_representations_.items()}
    out.write_text(json.dumps({t: lab for t, lab in labels.items() if t >= 0}))


def with_labels(run: Path, labels: dict[int, str], target: Path) -> Path:
    from labeler.run.db import RunDB
    from labeler.run.folder import Run

    shutil.copytree(run, target)
    db = RunDB(target)
    with db.transaction() as tx:
        for t, label in labels.items():
            tx.add_label_version(int(t), label or f"{t}_", summary=None, source="llm",
                                 model="bertopic-openai")  # fmt: skip
    Run(target).refresh()
    return target


def reconstruction(run: Path, model: str, sample: int) -> dict:
    out = labeler("eval", str(run), "--reconstruct", "--llm", model, "--sample", str(sample),
                  "--json")  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def one_corpus(name: str, args, scorer: Scorer, work: Path) -> dict:
    texts, labels, note = slice_corpus(name, args.max_docs)
    corpus = work / f"{name}.jsonl"
    with corpus.open("w", encoding="utf-8") as fh:
        for i, (t, lab) in enumerate(zip(texts, labels)):
            fh.write(json.dumps({"id": i, "text": t, "label": lab}) + "\n")
    run = work / "labeler"
    labeler("run", str(corpus), "--id-column", "id", "--class-column", "label",
            "--llm", "none", "--out", str(run))  # fmt: skip
    fitted = work / "fitted"
    shutil.copytree(run, fitted)
    labeler("relabel", str(run), "--llm", args.llm_model)
    row = {"corpus": name, "slice": note}
    mine = score_run(name, run, scorer)
    row["labeler"] = {"match": mine["match_topics"],
                      **_recon(reconstruction(run, args.llm_model, args.sample))}  # fmt: skip
    found = work / "bertopic.json"
    python = args.bertopic_python or sys.executable
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); from reconstruct import "
            f"bertopic_labels; from pathlib import Path; bertopic_labels(Path({str(fitted)!r}), "
            f"{args.llm_model!r}, Path({str(found)!r}))")  # fmt: skip
    done = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"BERTopic's labels failed: {done.stderr[-2000:]}")
    theirs = with_labels(fitted, {int(k): v for k, v in json.loads(found.read_text()).items()},
                         work / "bertopic")  # fmt: skip
    scored = score_run(name, theirs, scorer)
    row["bertopic"] = {"match": scored["match_topics"],
                       **_recon(reconstruction(theirs, args.llm_model, args.sample))}  # fmt: skip
    row["topics"] = mine["topics"]
    return row


def _recon(figures: dict) -> dict:
    return {"reconstruct": figures["reconstruct_accuracy"],
            "none": figures["reconstruct_none_share"],
            "documents": figures["reconstruct_documents"]}  # fmt: skip


def table(rows: list[dict]) -> str:
    lines = [
        "| corpus | topics | labeler reconstruction | labeler match | BERTopic reconstruction "
        "| BERTopic match |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        a, b = r["labeler"], r["bertopic"]
        lines.append(f"| {r['corpus']} | {r['topics']} | {a['reconstruct']:.0%} "
                     f"(none {a['none']:.0%}) | {a['match']:.0%} | {b['reconstruct']:.0%} "
                     f"(none {b['none']:.0%}) | {b['match']:.0%} |")  # fmt: skip
    if rows:
        mean = {s: {k: np.mean([r[s][k] for r in rows]) for k in ("reconstruct", "match")}
                for s in ("labeler", "bertopic")}  # fmt: skip
        lines.append(f"| mean | | {mean['labeler']['reconstruct']:.0%} | "
                     f"{mean['labeler']['match']:.0%} | {mean['bertopic']['reconstruct']:.0%} | "
                     f"{mean['bertopic']['match']:.0%} |")  # fmt: skip
    points = [(r[s]["reconstruct"], r[s]["match"]) for r in rows for s in ("labeler", "bertopic")]
    if len(points) >= 3:
        from scipy.stats import pearsonr, spearmanr

        x, y = zip(*points)
        lines.append("")
        r, rho = pearsonr(x, y)[0], spearmanr(x, y)[0]
        lines.append(f"reconstruction vs label match over {len(points)} (corpus, system) pairs: "
                     f"Pearson {r:.2f}, Spearman {rho:.2f}")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", nargs="*", default=None, help="names in ../shared/data [all]")
    parser.add_argument("--max-docs", type=int, default=1500)
    parser.add_argument("--sample", type=int, default=200, help="held-out documents per run")
    parser.add_argument("--llm-model", default="local", choices=["local", "small"])
    parser.add_argument("--bertopic-python", help="a Python that can import bertopic")
    parser.add_argument("--rows", type=Path, help="JSON lines, one per finished corpus (resumes)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    done = {}
    if args.rows and args.rows.is_file():
        done = {r["corpus"]: r for r in map(json.loads, args.rows.read_text().splitlines())}
    scorer = Scorer()
    rows = []
    for name in args.corpora or corpora():
        if name in done:
            rows.append(done[name])
            continue
        with tempfile.TemporaryDirectory(prefix=f"recon-{name}-") as tmp:
            row = one_corpus(name, args, scorer, Path(tmp))
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.rows:
            with args.rows.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
