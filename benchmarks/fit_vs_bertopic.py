"""labeler vs BERTopic 0.17 on the same precomputed MiniLM embeddings (run by hand, not in CI).

Each system runs as a whole fresh process (start-up included), timed by wall clock, with peak
memory from the child's max RSS. Quality is measured the same way for both:
  NPMI of each topic's top-10 words (gensim c_npmi over the corpus, sklearn tokenisation),
  diversity (unique share of the top-25 words over all topics), ARI/NMI against the gold labels on
  non-outlier documents, and the outlier share.

    python benchmarks/prepare.py            # texts + vectors into /tmp/labeler-bench
    python benchmarks/fit_vs_bertopic.py    # prints a Markdown table
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BERTOPIC_SCRIPT = r"""
import json, sys
import numpy as np
from bertopic import BERTopic
from sklearn.feature_extraction.text import CountVectorizer
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
vectors = np.load(sys.argv[2])
model = BERTopic(vectorizer_model=CountVectorizer(stop_words="english"), top_n_words=25)
topics, _ = model.fit_transform(texts, vectors)
words = {int(t): [w for w, _ in model.get_topic(t)] for t in set(topics)}
json.dump({"topics": [int(t) for t in topics], "words": words}, open(sys.argv[3], "w"))
"""


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process (os.wait4 gives that child's own)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def run_labeler(corpus: Path, vectors: Path, work: Path) -> dict:
    out = work / "labeler-run"
    cache = work / "cache"  # fresh: nothing cached, like BERTopic
    cmd = [
        sys.executable, "-m", "labeler.cli", "run", str(corpus), "--embeddings", str(vectors),
        "--llm", "none", "--top-n-words", "25", "--out", str(out), "--cache-dir", str(cache), "-q",
    ]  # fmt: skip
    wall, peak = timed(cmd)
    import pandas as pd

    topics = pd.read_parquet(out / "documents.parquet")["topic"].to_numpy()
    records = json.loads((out / "topics.json").read_text())
    words = {r["topic"]: [w for w, _ in r["keywords"]] for r in records}
    return {"wall": wall, "peak": peak, "topics": topics, "words": words}


def run_bertopic(corpus: Path, vectors: Path, work: Path) -> dict:
    script = work / "bertopic_fit.py"
    script.write_text(BERTOPIC_SCRIPT)
    out = work / "bertopic.json"
    wall, peak = timed([sys.executable, str(script), str(corpus), str(vectors), str(out)])
    data = json.loads(out.read_text())
    words = {int(k): v for k, v in data["words"].items()}
    return {"wall": wall, "peak": peak, "topics": np.array(data["topics"]), "words": words}


def quality(result: dict, texts: list[str], labels: np.ndarray) -> dict:
    from gensim.corpora import Dictionary
    from gensim.models.coherencemodel import CoherenceModel
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    analyzer = CountVectorizer().build_analyzer()
    tokens = [analyzer(t) for t in texts]
    dictionary = Dictionary(tokens)
    topic_words = {t: w for t, w in result["words"].items() if t != -1}
    top10 = [[w for w in ws if w in dictionary.token2id][:10] for ws in topic_words.values()]
    top10 = [ws for ws in top10 if len(ws) >= 2]
    npmi = CoherenceModel(
        topics=top10, texts=tokens, dictionary=dictionary, coherence="c_npmi", processes=1
    ).get_coherence()
    top25 = [ws[:25] for ws in topic_words.values()]
    diversity = len({w for ws in top25 for w in ws}) / max(1, sum(len(ws) for ws in top25))
    topics = result["topics"]
    mask = topics != -1
    return {
        "topics": len(topic_words),
        "outliers": 1 - mask.mean(),
        "npmi": npmi,
        "diversity": diversity,
        "ari": adjusted_rand_score(labels[mask], topics[mask]),
        "nmi": normalized_mutual_info_score(labels[mask], topics[mask]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("/tmp/labeler-bench"))
    parser.add_argument("names", nargs="*", default=["banking77", "20newsgroups"])
    args = parser.parse_args()
    rows = []
    for name in args.names:
        corpus, vectors = args.data / f"{name}.jsonl", args.data / f"{name}.npy"
        records = [json.loads(line) for line in corpus.open(encoding="utf-8")]
        texts = [r["text"] for r in records]
        labels = np.array([r["label"] for r in records])
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for system, runner in (("labeler", run_labeler), ("BERTopic 0.17.4", run_bertopic)):
                result = runner(corpus, vectors, work)
                rows.append(
                    {"corpus": name, "system": system, **result, **quality(result, texts, labels)}
                )
                print(f"{name} {system}: {rows[-1]['wall']:.1f} s", file=sys.stderr, flush=True)
    columns = ["corpus", "system", "wall s", "peak MB", "topics", "outliers", "NPMI", "diversity"]
    columns += ["ARI", "NMI"]
    print("| " + " | ".join(columns) + " |")
    print("|---|---|" + "---:|" * (len(columns) - 2))
    for r in rows:
        cells = [r["corpus"], r["system"], f"{r['wall']:.1f}", f"{r['peak']:.0f}", str(r["topics"])]
        cells += [f"{r['outliers']:.1%}", f"{r['npmi']:.3f}", f"{r['diversity']:.2f}"]
        cells += [f"{r['ari']:.3f}", f"{r['nmi']:.3f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
