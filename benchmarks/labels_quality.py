"""Label quality on every labeled corpus in ../shared/data: labeler vs BERTopic 0.17's OpenAI
representation, same packaged LLM, same slice, same embeddings (run by hand, not in CI).

Per corpus, one seeded random slice: at most --max-docs documents (default 3,000), and at most
half that for corpora of long documents (median 80+ words: 20 Newsgroups, Reuters, 10kGNAD).
20 Newsgroups has headers, signatures and quotes stripped with sklearn's helpers (as BERTopic's
own benchmark does). Then:

- labeler: `labeler run SLICE --class-column label --llm none` (embeddings from the packaged
  MiniLM, cached in $LABELER_CACHE_DIR), then `labeler relabel RUN --llm MODEL`, timed as a whole
  process (server start, labels, re-asks, reports) = seconds per topic. The rows also keep the
  relabel command's own figures (`labels_s_per_unit`, `labels_calls_per_unit`: the labelling
  loop only; `tree_*`: naming the tree's upper layers), which compare with BERTopic's.
- BERTopic 0.17: `BERTopic(vectorizer_model=CountVectorizer(stop_words="english"))` with its
  defaults otherwise (UMAP seeded 42) on the *same* vectors (the labeler run's embeddings.npy),
  then `bertopic.representation.OpenAI` (its default prompt, 4 documents of at most 100 words,
  `openai` client) against labeler's own local llama.cpp server (`labeler.llm.local.LocalServer`,
  same packaged GGUF, one slot, same context). BERTopic's defaults give many small topics, so at
  most --bertopic-topics of them (seeded random sample, default 40) are labelled; its figures are
  over that sample and its seconds per topic exclude the server start (~2 s).

Figures, the same code for both (labeler.views.metrics):
- match (topics / docs): the label names the topic's majority category: that category's readable
  name (benchmarks/label_names/<corpus>.json, else the raw value with _ - / as spaces) is the
  nearest, by MiniLM cosine, of all the corpus's category names. Topic-weighted and
  document-weighted (each topic counts its size). Outliers excluded.
- largest: the largest topic's share of all documents (outliers count in the denominator).
- dup: labels that repeat another (case ignored); unsup: numbers/years/dates/proper names in a
  label or summary that the topic's documents and keywords never mention, per 100 topics, by
  labeler's own claim check (labeler.labels.claims, the one labeling uses) where this labeler has
  it, else labeler.views.metrics's simple one; the output says which.

    nice -n 10 env LABELER_CACHE_DIR=/work/cache-bench python benchmarks/labels_quality.py
    ... --corpora banking77 ag_news_test --llm-model small --no-bertopic --json out.json
    ... --no-examples --rows rows.jsonl   (resumable: rows.jsonl keeps each finished corpus)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
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
NAMES = Path(__file__).resolve().parent / "label_names"
LONG_WORDS = 80  # median words per document at which a corpus counts as long (half the slice)

sys.path.insert(0, str(ROOT))

from prepare import load  # noqa: E402  (one reading of the corpora: the benchmarks share it)

from labeler.views.metrics import topic_evidence  # noqa: E402


def corpora() -> list[str]:
    return sorted(p.name.removesuffix(".jsonl.gz") for p in SHARED.glob("*.jsonl.gz"))


def readable(value: str, names: dict[str, str]) -> str:
    return names.get(value) or " ".join(str(value).replace("_", " ").replace("-", " ").split("/"))


def slice_corpus(name: str, max_docs: int) -> tuple[list[str], list[str], str]:
    texts, labels = load(name)
    median = float(np.median([len(t.split()) for t in texts]))
    limit = max_docs // 2 if median >= LONG_WORDS else max_docs
    idx = np.arange(len(texts))
    if len(texts) > limit:
        idx = np.sort(np.random.default_rng(0).choice(len(texts), limit, replace=False))
    note = f"{len(idx):,} of {len(texts):,} (median {median:g} words)"
    return [texts[i] for i in idx], [labels[i] for i in idx], note


def labeler(*args: str) -> str:
    cmd = [sys.executable, "-m", "labeler", *args, "-q"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"labeler {args[0]} failed: {done.stderr[-2000:]}")
    return done.stdout


STATS = re.compile(r"^(labels|tree names): (\d+) \w+, (\d+) LLM calls.* ([\d.]+) s \(", re.M)


def label_stats(stdout: str) -> dict:
    """The relabel command's own figures: the labelling loop's seconds and LLM calls per topic
    (no server start, no tree), and the same for naming the tree's upper layers."""
    found = {}
    for what, count, calls, seconds in STATS.findall(stdout):
        key = "labels" if what == "labels" else "tree"
        n = max(1, int(count))
        found[f"{key}_s_per_unit"] = float(seconds) / n
        found[f"{key}_calls_per_unit"] = int(calls) / n
        found[f"{key}_units"] = int(count)
    return found


class Scorer:
    """Embeds labels and category names with the packaged MiniLM; one scorer per run."""

    def __init__(self):
        from labeler.embedding.sbert import SentenceTransformerEmbedder

        self.embedder = SentenceTransformerEmbedder()

    def score(self, name: str, topics: list[dict], sizes: dict, classes, doc_topics, n_docs):
        """topics: [{topic, label, summary, evidence}] for the labelled topics only."""
        from labeler.cli.eval import claim_checker
        from labeler.views.metrics import (
            duplicate_labels,
            label_matches,
            majority_classes,
            unsupported_claims,
        )

        # labeler's own claim check once it has one (labeler.labels.claims), else the simple one
        check = claim_checker() or unsupported_claims

        names_file = NAMES / f"{name}.json"
        names = json.loads(names_file.read_text()) if names_file.is_file() else {}
        _, all_labels = load_labels(name)
        categories = sorted(set(all_labels))
        cat_vecs = self.embedder.embed([readable(c, names) for c in categories])
        majority = majority_classes(np.asarray(doc_topics), classes)
        index = {c: i for i, c in enumerate(categories)}
        targets = [index[majority[t["topic"]][0]] for t in topics]
        lab_vecs = self.embedder.embed([t["label"] for t in topics])
        hits = label_matches(lab_vecs, cat_vecs, targets)
        weights = np.array([sizes[t["topic"]] for t in topics], dtype=float)
        claims = sum(len(check(t["label"], t.get("summary"), t["evidence"])) for t in topics)
        all_sizes = [s for t, s in sizes.items() if t >= 0]
        return {
            "topics": len([t for t in sizes if t >= 0]),
            "labelled": len(topics),
            "largest": max(all_sizes) / n_docs if all_sizes else 0.0,
            "match_topics": float(hits.mean()) if len(topics) else 0.0,
            "match_docs": float((hits * weights).sum() / weights.sum()) if len(topics) else 0.0,
            "duplicates": duplicate_labels(t["label"] for t in topics),
            "unsupported_per_100": 100 * claims / max(1, len(topics)),
        }


_LABEL_CACHE: dict[str, tuple[list[str], list[str]]] = {}


def load_labels(name: str) -> tuple[list[str], list[str]]:
    if name not in _LABEL_CACHE:
        _LABEL_CACHE[name] = load(name)
    return _LABEL_CACHE[name]


def no_examples_prompt(folder: Path) -> Path:
    """The default prompt with its worked examples removed (brief: measure with and without)."""
    source = (ROOT / "prompts" / "label_summary.jinja").read_text(encoding="utf-8")
    stripped = re.sub(r"{% block examples %}.*?{% endblock %}", "", source, flags=re.S)
    if stripped == source:
        raise RuntimeError("label_summary.jinja has no examples block to remove")
    path = folder / "no_examples.jinja"
    path.write_text(stripped, encoding="utf-8")
    return path


def score_run(name, run: Path, scorer: Scorer) -> dict:
    docs = pd.read_parquet(run / "documents.parquet", columns=["doc_id", "topic", "class", "text"])
    records = [r for r in json.loads((run / "topics.json").read_text()) if r["topic"] >= 0]
    doc_topics = docs["topic"].to_numpy()
    grouped = docs.groupby("topic")["text"].apply(list).to_dict()
    topics = [
        {
            "topic": r["topic"],
            "label": r["label"],
            "summary": r.get("summary"),
            "evidence": topic_evidence(
                r["topic"], grouped[r["topic"]], [w for w, _ in r["keywords"]]
            ),
        }
        for r in records
    ]
    sizes = {int(t): int(n) for t, n in zip(*np.unique(doc_topics, return_counts=True))}
    result = scorer.score(name, topics, sizes, docs["class"].astype(str), doc_topics, len(docs))
    result["examples"] = [t["label"] for t in topics[:5]]
    # Keyword labels standing in for failed answers (a timeout, an unusable reply): a row with
    # many is measuring the fallback, not the LLM.
    result["keyword_fallbacks"] = sum(r.get("label_source") == "keywords" for r in records)
    return result


def run_labeler(name, texts, labels, work: Path, model: str, scorer: Scorer,
                compare: Path | None = None) -> dict:  # fmt: skip
    corpus = work / f"{name}.jsonl"
    with corpus.open("w", encoding="utf-8") as fh:
        for i, (t, lab) in enumerate(zip(texts, labels)):
            fh.write(json.dumps({"id": i, "text": t, "label": lab}) + "\n")
    fitted = work / "fit"
    started = time.perf_counter()
    labeler("run", str(corpus), "--id-column", "id", "--class-column", "label",
            "--llm", "none", "--out", str(fitted))  # fmt: skip
    fit_s = time.perf_counter() - started
    run = work / "labeler"
    shutil.copytree(fitted, run)
    started = time.perf_counter()
    stdout = labeler("relabel", str(run), "--llm", model)
    seconds = time.perf_counter() - started
    result = score_run(name, run, scorer)
    result["s_per_topic"] = seconds / max(1, result["labelled"])
    result.update(label_stats(stdout))
    result["fit_s"] = fit_s
    result["vectors"] = np.load(fitted / "embeddings.npy")
    if compare is not None:
        other = work / "compare"
        shutil.copytree(fitted, other)
        started = time.perf_counter()
        labeler("relabel", str(other), "--llm", model, "--prompt", str(compare))
        seconds = time.perf_counter() - started
        result["compare"] = score_run(name, other, scorer)
        result["compare"]["s_per_topic"] = seconds / max(1, result["compare"]["labelled"])
    return result


def run_bertopic(name, texts, labels, vectors, model: str, sample: int, scorer: Scorer) -> dict:
    import openai
    from bertopic import BERTopic
    from bertopic.representation import OpenAI
    from sklearn.feature_extraction.text import CountVectorizer
    from umap import UMAP

    from labeler.llm.local import LocalServer

    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                      random_state=42)  # fmt: skip
    topic_model = BERTopic(
        vectorizer_model=CountVectorizer(stop_words="english"), umap_model=umap_model
    )
    started = time.perf_counter()
    doc_topics, _ = topic_model.fit_transform(texts, vectors)
    fit_s = time.perf_counter() - started
    doc_topics = np.asarray(doc_topics)
    real = sorted(int(t) for t in set(doc_topics.tolist()) if t >= 0)
    chosen = sorted(random.Random(0).sample(real, min(sample, len(real))))
    frame = pd.DataFrame(
        {"Document": texts, "ID": range(len(texts)), "Topic": doc_topics, "Image": None}
    )
    keywords = {t: topic_model.topic_representations_[t] for t in chosen}
    with LocalServer(model, parallel=1) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused")
        rep = OpenAI(client, model=server.alias, nr_docs=4, doc_length=100,
                     tokenizer="whitespace")  # fmt: skip
        started = time.perf_counter()
        # BERTopic reads c-TF-IDF row i for the i-th topic it is given: pass the sample's rows.
        rows = topic_model.c_tf_idf_[[t + topic_model._outliers for t in chosen]]
        answers = rep.extract_topics(topic_model, frame, rows, keywords)
        seconds = time.perf_counter() - started
    grouped = frame.groupby("Topic")["Document"].apply(list).to_dict()
    topics = [
        {
            "topic": t,
            "label": answers[t][0][0],
            "summary": None,
            "evidence": topic_evidence(t, grouped[t], [w for w, _ in keywords[t]]),
        }
        for t in chosen
    ]
    sizes = {int(t): int(n) for t, n in zip(*np.unique(doc_topics, return_counts=True))}
    result = scorer.score(name, topics, sizes, labels, doc_topics, len(texts))
    result["s_per_topic"] = seconds / max(1, len(topics))
    result["fit_s"] = fit_s
    result["examples"] = [t["label"] for t in topics[:5]]
    return result


COLUMNS = ["topics", "largest", "match_topics", "match_docs", "duplicates",
           "unsupported_per_100", "s_per_topic"]  # fmt: skip


def cell(key: str, value) -> str:
    if value is None:
        return "–"
    if key in ("largest", "match_topics", "match_docs"):
        return f"{value:.0%}"
    if key in ("unsupported_per_100", "s_per_topic"):
        return f"{value:.1f}" if key == "unsupported_per_100" else f"{value:.2f}"
    return str(value)


def table(rows: list[dict], with_bertopic: bool, with_compare: bool = False) -> str:
    head = ["corpus", "slice (docs)", "topics", "largest", "match topics", "match docs", "dup",
            "unsup /100", "s/topic"]  # fmt: skip
    if with_bertopic:
        head += ["BT topics (labelled)", "BT largest", "BT match topics", "BT match docs",
                 "BT dup", "BT unsup /100", "BT s/topic"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for r in rows:
        lab = r["labeler"]
        cells = [r["corpus"], r["slice"]] + [cell(k, lab.get(k)) for k in COLUMNS]
        if with_bertopic:
            bt = r.get("bertopic") or {}
            topics = f"{bt['topics']} ({bt['labelled']})" if bt else "–"
            cells += [topics] + [cell(k, bt.get(k)) for k in COLUMNS[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    if with_compare:
        head2 = ["corpus", "match topics", "match docs", "dup", "unsup /100", "s/topic"]
        keys = ["match_topics", "match_docs", "duplicates", "unsupported_per_100", "s_per_topic"]
        compare_lines = ["| " + " | ".join(head2) + " |", "|---|" + "---:|" * len(keys)]
        for r in rows:
            c = r["labeler"].get("compare") or {}
            compare_lines.append(
                "| " + " | ".join([r["corpus"]] + [cell(k, c.get(k)) for k in keys]) + " |"
            )
        means = [
            float(
                np.mean([r["labeler"]["compare"][k] for r in rows if r["labeler"].get("compare")])
            )
            for k in keys
        ]
        compare_lines.append(
            "| **mean** | " + " | ".join(cell(k, m) for k, m in zip(keys, means)) + " |"
        )
    mean = {s: {k: np.mean([r[s][k] for r in rows if r.get(s)]) for k in COLUMNS}
            for s in ("labeler", "bertopic") if any(r.get(s) for r in rows)}  # fmt: skip
    cells = ["**mean**", f"{len(rows)} corpora"]
    cells += [cell(k, float(mean["labeler"][k])) if k != "topics" else
              f"{mean['labeler'][k]:.0f}" for k in COLUMNS]  # fmt: skip
    if with_bertopic and "bertopic" in mean:
        cells += [f"{mean['bertopic']['topics']:.0f}"]
        cells += [cell(k, float(mean["bertopic"][k])) for k in COLUMNS[1:]]
    lines.append("| " + " | ".join(cells) + " |")
    if with_compare:
        lines += ["", "labeler with the default prompt's worked examples removed (same fits):", ""]
        lines += compare_lines
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", nargs="*", default=None, help="names in ../shared/data [all]")
    parser.add_argument("--max-docs", type=int, default=3000, help="slice size (half for long)")
    parser.add_argument("--no-bertopic", action="store_true", help="labeler's figures only")
    parser.add_argument(
        "--llm-model",
        default="local",
        choices=["local", "small"],
        help="packaged model: local (1.5B) or small (0.5B, a quick check)",
    )
    parser.add_argument(
        "--bertopic-topics",
        type=int,
        default=40,
        help="BERTopic topics labelled per corpus (seeded sample)",
    )
    parser.add_argument(
        "--no-examples",
        action="store_true",
        help="also relabel each fit with the default prompt minus its worked examples",
    )
    parser.add_argument(
        "--rows",
        type=Path,
        help="JSON Lines file: each corpus's row is appended as it finishes, and corpora already "
        "in it are not measured again (a long benchmark resumes where it stopped)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args()  # fmt: skip
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    names = args.corpora or corpora()
    unknown = sorted(set(names) - set(corpora()))
    if unknown:
        parser.error(f"unknown corpora {unknown}; choose from {corpora()}")
    scorer = Scorer()
    rows = []
    if args.rows and args.rows.is_file():  # a resumed benchmark: corpora already measured
        for line in args.rows.read_text(encoding="utf-8").splitlines():
            if line.startswith('{"corpus"'):
                row = json.loads(line)
                if row["corpus"] in names and row["corpus"] not in {r["corpus"] for r in rows}:
                    rows.append(row)
        print(f"{len(rows)} corpora already in {args.rows}", file=sys.stderr)
    done = {r["corpus"] for r in rows}
    for name in [n for n in names if n not in done]:
        texts, labels, note = slice_corpus(name, args.max_docs)
        with tempfile.TemporaryDirectory(prefix="labels-quality-") as tmp:
            compare = no_examples_prompt(Path(tmp)) if args.no_examples else None
            lab = run_labeler(name, texts, labels, Path(tmp), args.llm_model, scorer, compare)
        vectors = lab.pop("vectors")
        row = {"corpus": name, "slice": note, "labeler": lab}
        if not args.no_bertopic:
            row["bertopic"] = run_bertopic(
                name, texts, labels, vectors, args.llm_model, args.bertopic_topics, scorer
            )
        rows.append(row)
        line = json.dumps(row, default=float)
        print(line, file=sys.stderr, flush=True)
        if args.rows:
            with args.rows.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
    from labeler.cli.eval import claim_checker

    checker = "labeler.labels.claims" if claim_checker() else "labeler.views.metrics (simple)"
    print(f"claims checked by {checker}")
    print(f"model: {args.llm_model}; slices: --max-docs {args.max_docs} (half for long corpora); "
          f"BERTopic: at most {args.bertopic_topics} topics labelled per corpus")  # fmt: skip
    print(table(rows, not args.no_bertopic, args.no_examples))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
