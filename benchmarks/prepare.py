"""Prepare benchmark inputs: texts and MiniLM vectors for BANKING77 and stripped 20 Newsgroups.

Run by hand; writes <out>/<name>.jsonl (text, label) and <out>/<name>.npy (float32 vectors),
so that labeler and BERTopic are compared on exactly the same embeddings.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def load(name: str) -> tuple[list[str], list[str]]:
    with gzip.open(SHARED / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    texts = [r["text"] for r in rows]
    labels = [str(r["label"]) for r in rows]
    if name == "20newsgroups":
        from sklearn.datasets._twenty_newsgroups import (
            strip_newsgroup_footer,
            strip_newsgroup_header,
            strip_newsgroup_quoting,
        )

        strip = [strip_newsgroup_header, strip_newsgroup_footer, strip_newsgroup_quoting]
        for step in strip:
            texts = [step(t) for t in texts]
    keep = [i for i, t in enumerate(texts) if t.strip()]
    return [texts[i] for i in keep], [labels[i] for i in keep]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("/tmp/labeler-bench"))
    parser.add_argument("names", nargs="*", default=["banking77", "20newsgroups"])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from labeler.embedding.sbert import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    for name in args.names:
        texts, labels = load(name)
        with open(args.out / f"{name}.jsonl", "w", encoding="utf-8") as fh:
            for t, lab in zip(texts, labels):
                fh.write(json.dumps({"text": t, "label": lab}) + "\n")
        vectors = embedder.embed(texts, show_progress=True)
        np.save(args.out / f"{name}.npy", vectors.astype(np.float32))
        print(name, len(texts), vectors.shape)


if __name__ == "__main__":
    main()
