"""A growing corpus (issue 23 item 3; run by hand, not in CI): `labeler update` and
`labeler run --prior`, measured against the issue's targets.

Per corpus, a seeded permutation gives a base slice (--max-docs), the next 5% and the next 1%:

- fit the base (labels from the counting fake chat model of tests/fakes.py, or --llm small);
- `update` with the next 5%: labels reused (old topics whose label and summary did not change;
  target ≥ 95%), topics the LLM was asked about (new and changed ones, per old topic; target
  ≤ 10%), seconds (the new documents embedded first, cached) against BERTopic refitting base +
  5% on the same embeddings (the way to take new documents in on BERTopic, whose `transform`
  never makes a topic), and undo byte for byte;
- refit base + 1% with `--prior` (the base run): old names kept (old topics whose label a new
  topic carries; target ≥ 95%), refit topics named from the prior, and topics the LLM was asked;
  beside it the same refit without the prior's steering (a plain fit of base + 1%, matched to
  the old topics the same way: what `--prior` kept before the refit was steered), and the
  topics' quality: ARI against the corpus' truth labels of the plain refit and the steered one
  (outliers one class), with their outlier shares, so names are not kept by freezing bad topics;
- `update` with a new theme (--new-theme N, 150 by default): N documents of another corpus
  (stackoverflow_titles, or banking77 for that one), which no topic of the base is about: the
  new topics they form, the share of them in new topics / joined to old topics / left as
  outliers, and the new topics' purity (their share of the new theme's documents); then undo.
  The +5% step draws from the same corpus, so it rarely makes a topic: this one checks that an
  update finds what is new.

    nice -n 10 env LABELER_CACHE_DIR=/work/cache-bench HF_HUB_OFFLINE=1 \\
        python benchmarks/update.py --corpora banking77 clinc150 stackoverflow_titles
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
SHARED = Path(os.environ.get("LABELER_SHARED_DATA", ROOT.parent / "shared" / "data"))
BERTOPIC_PYTHON = os.environ.get("BERTOPIC_PYTHON", "/work/bt-venv/bin/python")
FILES = ("documents.parquet", "embeddings.npy", "topics.json", "config.json", "hierarchy.json")

BERTOPIC_FIT = """
import sys, time, json, numpy as np
from bertopic import BERTopic
from umap import UMAP
texts = json.load(open(sys.argv[1])); vectors = np.load(sys.argv[2])
start = time.perf_counter()
BERTopic(umap_model=UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
         random_state=42)).fit_transform(texts, vectors)
print(time.perf_counter() - start)
"""


def rows_of(name: str) -> list[dict]:
    with gzip.open(SHARED / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    seen, unique = set(), []
    for r in rows:  # distinct texts: a duplicate would be "already in the run"
        if r["text"].strip() and r["text"] not in seen:
            seen.add(r["text"])
            unique.append(r)
    order = np.random.default_rng(0).permutation(len(unique))
    return [unique[i] for i in order]


def ari(truth: dict[str, str], run: Path) -> tuple[float, float, float]:
    """ARI of a run's topics against the truth labels (outliers one class), the same over the
    documents in a topic only, and the outlier share."""
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    docs = pd.read_parquet(run / "documents.parquet", columns=["text", "topic"])
    topics = docs["topic"].to_numpy()
    labels = np.array([truth[t] for t in docs["text"]])
    inside = topics >= 0
    return (
        adjusted_rand_score(labels, topics),
        adjusted_rand_score(labels[inside], topics[inside]),
        float(np.mean(~inside)),
    )


def write(path: Path, texts: list[str]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for t in texts:
            fh.write(json.dumps({"text": t}) + "\n")
    return path


def digest(run: Path) -> dict[str, str]:
    return {n: hashlib.sha256((run / n).read_bytes()).hexdigest() for n in FILES}


def bertopic_seconds(work: Path, texts: list[str], vectors: np.ndarray) -> float | None:
    if not Path(BERTOPIC_PYTHON).exists():
        return None
    (work / "bt.json").write_text(json.dumps(texts))
    np.save(work / "bt.npy", vectors)
    done = subprocess.run(
        [BERTOPIC_PYTHON, "-c", BERTOPIC_FIT, str(work / "bt.json"), str(work / "bt.npy")],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        print(done.stderr[-1000:], file=sys.stderr)
        return None
    return float(done.stdout.strip().splitlines()[-1])


def why_unmatched(old, new, carried) -> tuple[int, int]:
    """The old topics whose names the refit did not keep: (merged: at least half of the old
    topic is inside one refit topic, which is mostly other documents; split or gone: no refit
    topic holds half of it)."""
    kept = {carried.matches[t][0] for t in carried.carried}
    merged = split = 0
    for t, texts in old.members.items():
        if t in kept:
            continue
        best = max((len(texts & m) for m in new.members.values()), default=0)
        if best >= 0.5 * len(texts):
            merged += 1
        else:
            split += 1
    return merged, split


def new_theme(run: Path, foreign: set[str], done, source: str) -> dict:
    """Where an update put documents of another corpus: new topics, old topics, outliers, and
    how much of each new topic is the new theme."""
    import pandas as pd

    docs = pd.read_parquet(run / "documents.parquet", columns=["text", "topic"])
    theirs = docs[docs["text"].isin(foreign)]
    new = set(done.new_topics)
    in_new = theirs["topic"].isin(new)
    purity = [float(docs.loc[docs["topic"] == t, "text"].isin(foreign).mean()) for t in sorted(new)]
    return {
        "source": source, "docs": len(theirs), "new_topics": len(new),
        "in_new": float(in_new.mean()), "outliers": float((theirs["topic"] < 0).mean()),
        "joined_old": float((~in_new & (theirs["topic"] >= 0)).mean()),
        "purity": float(np.mean(purity)) if purity else None,
        "asked": done.llm.topics if done.llm is not None else 0,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", nargs="*", default=["banking77", "clinc150",
                                                         "stackoverflow_titles"])  # fmt: skip
    parser.add_argument("--max-docs", type=int, default=2000)
    parser.add_argument("--llm", default="fake", help="fake (counting, in-process) or small")
    parser.add_argument("--no-bertopic", action="store_true")
    parser.add_argument("--new-theme", type=int, default=150, help="documents; 0: skip")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from fakes import FakeChat

    from labeler import surgery
    from labeler.corpus import CorpusSpec
    from labeler.labels.labeling import LLMSettings
    from labeler.labels.prior import match_topics, read_prior
    from labeler.model import TopicModel
    from labeler.pipeline.fit import run_pipeline
    from labeler.pipeline.update import update_run
    from labeler.run.db import RunDB
    from labeler.run.folder import Run

    if args.llm == "fake":
        settings = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake", concurrency=2)
        chat = FakeChat
    else:
        settings, chat = LLMSettings(provider=args.llm), lambda: None

    def labels(run: Path) -> dict[int, tuple]:
        rows = RunDB(run).current_labels().items()
        return {t: (r["label"], r["summary"]) for t, r in rows if t >= 0}

    rows = []
    work = Path(tempfile.mkdtemp(prefix="update-bench-"))
    try:
        for name in args.corpora:
            rows_all = rows_of(name)
            texts = [r["text"] for r in rows_all]
            truth = {r["text"]: str(r.get("label")) for r in rows_all}
            n = args.max_docs
            base, more5, more1 = texts[:n], texts[n : n + n // 20], texts[n : n + n // 100]
            folder = work / name
            folder.mkdir()
            clock = time.perf_counter()
            fitted = run_pipeline(
                CorpusSpec(write(folder / "base.jsonl", base)), folder / "run", TopicModel(),
                llm=settings, chat=chat(),
            )  # fmt: skip
            fit_s = time.perf_counter() - clock
            run = fitted.run_dir
            shutil.copytree(run, folder / "fit")
            before, before_files = labels(run), digest(run)

            # the new documents embedded first (cached): the update's seconds are its own work,
            # as BERTopic's refit below starts from the same vectors
            new_vectors = Run(run).model().embed(more5, show_progress=False)
            asked_chat = chat()
            clock = time.perf_counter()
            done = update_run(
                Run(run), CorpusSpec(write(folder / "more5.jsonl", more5)), settings=settings,
                chat=asked_chat,
            )  # fmt: skip
            update_s = time.perf_counter() - clock
            after = labels(run)
            reused = sum(after.get(t) == v for t, v in before.items())
            asked = done.llm.topics if done.llm is not None else 0
            surgery.undo(run)
            undo_ok = digest(run) == before_files

            theme = {}
            if args.new_theme:
                other = "banking77" if name == "stackoverflow_titles" else "stackoverflow_titles"
                foreign = [r["text"] for r in rows_of(other)[: args.new_theme]]
                found = update_run(
                    Run(run), CorpusSpec(write(folder / "theme.jsonl", foreign)),
                    settings=settings, chat=chat(),
                )  # fmt: skip
                theme = new_theme(run, set(foreign), found, other)
                surgery.undo(run)
                theme["undo"] = digest(run) == before_files

            bt_s = None
            if not args.no_bertopic:
                vectors = np.concatenate([np.load(run / "embeddings.npy"), new_vectors])
                bt_s = bertopic_seconds(folder, base + more5, vectors)

            clock = time.perf_counter()
            refit = run_pipeline(
                CorpusSpec(write(folder / "plus1.jsonl", base + more1)), folder / "refit",
                TopicModel(), llm=settings, prior=read_prior(folder / "fit"), chat=chat(),
            )  # fmt: skip
            refit_s = time.perf_counter() - clock
            carried = refit.carried
            kept_old = len({carried.matches[t][0] for t in carried.carried})
            merged, split = why_unmatched(
                read_prior(folder / "fit"), read_prior(refit.run_dir), carried
            )
            refit_topics = len(carried.carried) + len(carried.unmatched)
            # the same refit without the prior's steering: a plain fit, matched the same way
            plain = run_pipeline(
                CorpusSpec(folder / "plus1.jsonl"), folder / "plain", TopicModel(), llm=None,
            )  # fmt: skip
            old_prior = read_prior(folder / "fit")
            unsteered = match_topics(
                old_prior.members, read_prior(plain.run_dir).members, outliers=old_prior.outliers
            )
            kept_plain = len({o for o, _ in unsteered.values()})
            ari_base = ari(truth, folder / "fit")
            ari_plain, ari_steered = ari(truth, plain.run_dir), ari(truth, refit.run_dir)
            rows.append({
                "corpus": name, "docs": len(base), "topics": len(before),
                "added": done.added, "new": len(done.new_topics), "changed": len(done.changed),
                "reused": reused / max(len(before), 1), "asked": asked / max(len(before), 1),
                "update_s": update_s, "fit_s": fit_s, "bt_s": bt_s, "undo": undo_ok,
                "refit_topics": refit_topics, "kept_old": kept_old / max(len(before), 1),
                "named": len(carried.carried) / max(refit_topics, 1),
                "refit_asked": refit.labels.topics if refit.labels else 0,
                "refit_s": refit_s, "merged": merged, "split": split,
                "kept_plain": kept_plain / max(len(before), 1), "plain_topics": plain.topics,
                "ari_base": ari_base, "ari_plain": ari_plain, "ari_steered": ari_steered,
                "theme": theme,
            })  # fmt: skip
            print(json.dumps(rows[-1]), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"LLM: {args.llm}; slices of {args.max_docs:,} documents, + 5% for update, "
          "+ 1% for the refit with --prior\n")  # fmt: skip
    print("| corpus | topics | update +5%: new / changed topics | labels reused (≥95%) | "
          "LLM asked, of topics (≤10%) | update s | BERTopic refit s | ratio | undo "
          "exact | refit +1%: topics | old names kept (≥95%) | not kept: merged / split or gone | "
          "refit topics named from prior | LLM asked (refit) |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---:|")
    for r in rows:
        bt = f"{r['bt_s']:.1f} | {r['update_s'] / r['bt_s']:.2f}×" if r["bt_s"] else "– | –"
        print(
            f"| {r['corpus']} | {r['topics']} | {r['new']} / {r['changed']} | "
            f"{r['reused']:.1%} | {r['asked']:.1%} | {r['update_s']:.1f} | "
            f"{bt} | {'yes' if r['undo'] else 'NO'} | "
            f"{r['refit_topics']} | {r['kept_old']:.1%} | {r['merged']} / {r['split']} | "
            f"{r['named']:.1%} | {r['refit_asked']} |"
        )
    print("\nRefit + 1% with `--prior`, without and with the prior's steering of UMAP. ARI against "
          "the truth labels: all documents (outliers one class) / the documents in a topic only "
          "[outlier share]\n")  # fmt: skip
    print("| corpus | old topics | ARI of the old fit | unsteered: topics | names kept | ARI | "
          "steered (`--prior`): topics | names kept (≥95%) | ARI |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    quality = lambda a: f"{a[0]:.3f} / {a[1]:.3f} [{a[2]:.0%}]"  # noqa: E731
    for r in rows:
        print(
            f"| {r['corpus']} | {r['topics']} | {quality(r['ari_base'])} | {r['plain_topics']} | "
            f"{r['kept_plain']:.1%} | {quality(r['ari_plain'])} | {r['refit_topics']} | "
            f"{r['kept_old']:.1%} | {quality(r['ari_steered'])} |"
        )
    themed = [r for r in rows if r["theme"]]
    if themed:
        print("\nUpdate with a new theme: documents of another corpus added to the base run "
              "(then undone)\n")  # fmt: skip
        print("| corpus | new theme from | documents | new topics | in new topics | joined old "
              "topics | outliers | new topics' purity | LLM asked | undo exact |")  # fmt: skip
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in themed:
            t = r["theme"]
            purity = f"{t['purity']:.1%}" if t["purity"] is not None else "–"
            print(
                f"| {r['corpus']} | {t['source']} | {t['docs']} | {t['new_topics']} | "
                f"{t['in_new']:.1%} | {t['joined_old']:.1%} | {t['outliers']:.1%} | {purity} | "
                f"{t['asked']} | {'yes' if t['undo'] else 'NO'} |"
            )


if __name__ == "__main__":
    main()
