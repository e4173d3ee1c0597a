"""A fitted TopicModel to and from the files of a run folder: the `topics.json` records, the
documents table, `config.json` (file names and writers: `labeler.run.layout`; the database:
`labeler.run.db.RunDB`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from labeler import __version__, defaults
from labeler.cluster import default_min_samples
from labeler.errors import LabelerError
from labeler.guided import CUSTOM_SOURCE, ZERO_SHOT_SOURCE
from labeler.model import supervised
from labeler.represent import CTFIDF, STAGES, keyword_label, topic_vectors
from labeler.represent import chain as representation
from labeler.represent.describe import seed_words
from labeler.run.db import RunDB
from labeler.run.layout import (
    CLASSIFIER,
    CONFIG,
    DATABASE,
    DOCUMENTS,
    EMBEDDINGS,
    HIERARCHY,
    IMAGE_EMBEDDINGS,
    TOPICS,
    atomic_write,
    check_run,
    file_problem,
    is_run,
    now,
    read_json,
    write_json,
    write_npy,
    write_npz,
    write_parquet,
    write_parquet_batches,
)


def read_llm_cache(run_dir: Path) -> list[dict]:
    """A previous run's LLM answers, so refitting into the same folder resumes, not repays."""
    if not is_run(run_dir) or not (Path(run_dir) / DATABASE).is_file():
        return []
    return RunDB(run_dir).answers()


# ---------------------------------------------------------------------------- saving a model
def _words(pairs) -> list:
    return [[w, round(float(s), 5)] for w, s in pairs]


def topic_records(model, layout: np.ndarray) -> list[dict]:
    """The `topics.json` contract: one record per topic, outliers (-1) last."""
    n = sum(model.topic_sizes_.values())  # the whole corpus', also when fitted on a sample
    named = getattr(model, "zeroshot_topics_", {})
    llm = getattr(model, "llm_labels_", None) or {}
    records = []
    main = getattr(model, "topic_representations_", {})
    aspects = getattr(model, "topic_aspects_", {})
    for t in sorted(model.topic_ids_, key=lambda t: (t < 0, t)):
        members = model.topics_ == t
        idx = model.representative_rows_.get(t, [])
        record = {
            "topic": int(t),
            "size": int(model.topic_sizes_[t]),
            "share": round(model.topic_sizes_[t] / n, 5),
            "label": model.labels_[t],
            "label_source": ZERO_SHOT_SOURCE if t in named else "llm" if t in llm else "keywords",
            "summary": (llm.get(t) or {}).get("summary"),
            "is_outlier": t < 0,
        }
        for stage in STAGES:  # topics.json keeps 0.1.0's keys: keywords, keywords_keybert, ...
            if stage.name in model.keywords_:
                record[stage.key] = _words(model.keywords_[stage.name].get(t, []))
        # representation_model's main words and aspects, when it had any (labeler.represent.chain)
        if t in main and list(main[t]) != list(model.keywords_["ctfidf"].get(t, [])):
            record["representation"] = _words(main[t])
        if aspects:
            record["aspects"] = {name: _words(words.get(t, [])) for name, words in aspects.items()}
        record["representative_docs"] = [model.documents_[i] for i in idx]
        record["representative_doc_ids"] = [model.doc_ids_[i] for i in idx]
        record["map_position"] = [round(float(v), 4) for v in np.median(layout[members], axis=0)]
        records.append(record)
    return records


def _id_column(ids: list) -> list:
    kinds = {type(v) for v in ids}
    if kinds <= {int} or kinds <= {str}:
        return ids
    return [str(v) for v in ids]


MIX_COLUMNS = ("mix_topics", "mix_shares")


def mix_frame(topics: list[list[int]], shares: list[list[float]]) -> pd.DataFrame:
    """documents.parquet's mix columns: each document's top topics (largest share first) and
    their shares, as lists (Parquet list<int64> and list<double>; an empty list where no topic
    has a share)."""
    return pd.DataFrame(
        {
            "mix_topics": [[int(t) for t in row] for row in topics],
            "mix_shares": [[round(float(v), 4) for v in row] for row in shares],
        }
    )


def documents_block(
    doc_ids,
    texts,
    topics,
    probabilities,
    layout,
    representative,
    duplicate,
    corpus_frame=None,
    mix: tuple[list[list[int]], list[list[float]]] | None = None,
) -> pd.DataFrame:
    """documents.parquet's columns, in order, for some rows of the corpus (all of them, or one
    streamed batch on the large path). `mix`: each document's top topics and their shares
    (`TopicModel.topic_mix`, `labeler.represent.distribution.top_topics`); older runs (0.1.0's
    fixture) have no mix columns, and readers do without them."""
    frame = pd.DataFrame(
        {
            "doc_id": _id_column(list(doc_ids)),
            "text": list(texts),
            "topic": np.asarray(topics).astype(np.int64),
            "probability": np.round(np.asarray(probabilities).astype(np.float32), 5),
            "x": np.asarray(layout)[:, 0].astype(np.float32),
            "y": np.asarray(layout)[:, 1].astype(np.float32),
            "representative": np.asarray(representative, dtype=bool),
            "duplicate": np.asarray(duplicate, dtype=bool),
        }
    )
    if mix is not None:
        mixed = mix_frame(*mix)
        for column in MIX_COLUMNS:
            frame[column] = mixed[column].to_list()
    if corpus_frame is not None:
        for column in ("timestamp", "class", "image"):
            if column in corpus_frame:
                frame[column] = corpus_frame[column].to_numpy()
    return frame


def documents_frame(model, corpus_frame: pd.DataFrame | None = None) -> pd.DataFrame:
    texts = pd.Series(model.documents_)
    representative = {i for idx in model.representative_rows_.values() for i in idx}
    paths = getattr(model, "image_paths_", None)
    if paths is not None and (corpus_frame is None or "image" not in corpus_frame):
        corpus_frame = (
            pd.DataFrame(index=range(len(texts))) if corpus_frame is None else (corpus_frame.copy())
        )
        corpus_frame["image"] = image_column(paths)
    topics, shares, _ = model.topic_mix()
    return documents_block(
        model.doc_ids_, model.documents_, model.topics_, model.assigned_probabilities_,
        model.layout_,
        [i in representative for i in range(len(texts))], texts.duplicated(keep=False).to_numpy(),
        corpus_frame, mix=(topics, shares),
    )  # fmt: skip


def image_column(paths: list) -> list:
    """documents.parquet's `image`: each image's absolute path (for thumbnails; a report never
    shows it), None for a document without one."""
    return [None if p is None else str(Path(p).expanduser().absolute()) for p in paths]


def save_model(
    model,
    run_dir: Path,
    config: dict,
    corpus_frame: pd.DataFrame | None = None,
    documents: Iterable[pd.DataFrame] | None = None,
) -> None:
    """Write the fitted model's data files (not the reports) into `run_dir`.

    `documents`: documents.parquet as streamed batches (`documents_block`) of a corpus the model
    was fitted on a sample of; embeddings.npy is then the caller's (`stream_embeddings`)."""
    if getattr(model, "online_", None) is not None:
        raise LabelerError(
            "this model was fitted with partial_fit: it holds only its latest batch of "
            "documents, and a run holds every document with its topic; fit the documents with "
            "fit() (or labeler run) to save a run"
        )
    run_dir = Path(run_dir)
    write_json(run_dir / CONFIG, config)
    if documents is None:
        write_parquet(run_dir / DOCUMENTS, documents_frame(model, corpus_frame))
        write_npy(run_dir / EMBEDDINGS, model.embeddings_.astype(np.float32))
        if getattr(model, "image_embeddings_", None) is not None:
            write_npy(run_dir / IMAGE_EMBEDDINGS, model.image_embeddings_.astype(np.float32))
    else:
        write_parquet_batches(run_dir / DOCUMENTS, documents)
    classifier = supervised.classifier_arrays(model)
    if classifier is not None:
        write_npz(run_dir / CLASSIFIER, classifier)
    write_json(run_dir / TOPICS, topic_records(model, model.layout_))
    db = RunDB(run_dir, create=True)
    named = getattr(model, "zeroshot_topics_", {})
    llm = getattr(model, "llm_labels_", None) or {}
    db.add_keyword_labels({t: _keyword_label(model, t) if t in named or t in llm else label
                           for t, label in model.labels_.items()})  # fmt: skip
    for topic, name in named.items():  # version 2: the user's name for a zero-shot topic
        db.add_label_version(topic, name, source=ZERO_SHOT_SOURCE)
    _save_given_labels(model, db)
    write_json(run_dir / HIERARCHY, tree_record(model))


# The LLM's label versions as the label step stored them (labeler.labels.labeling.save_outcomes).
_LABEL_FIELDS = ("summary", "source", "prompt_name", "prompt_hash", "model", "request",
                 "raw_answer", "params", "flags")  # fmt: skip


def _json_field(value):
    import json

    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _save_given_labels(model, db: RunDB) -> None:
    """What the fitted model holds beyond keywords, kept by its run: the labels an LLM
    representation model gave (`llm_labels_`, with their provenance, and the answers it cached,
    so relabeling the run resumes rather than repays) and the custom labels of
    `set_topic_labels` (source "custom", which relabeling leaves alone)."""
    llm = getattr(model, "llm_labels_", None) or {}
    for topic, row in sorted(llm.items()):
        fields = {k: row.get(k) for k in _LABEL_FIELDS if row.get(k) is not None}
        for k in ("params", "flags"):
            if k in fields:
                fields[k] = _json_field(fields[k])
        db.add_label_version(topic, str(row["label"]), **fields)
    chains = representation.resolve(getattr(model, "representation_model", None))
    for namer in chains.namers.values() if chains else ():
        answers = getattr(namer, "answers", None)
        if callable(answers):
            db.add_answers(answers())
    custom = getattr(model, "custom_labels_", None)
    ids = sorted(model.topic_ids_)
    if custom and len(custom) == len(ids):
        current = {t: r["label"] for t, r in db.current_labels().items()}
        for topic, label in zip(ids, custom):
            if label and label != current.get(topic):
                db.add_label_version(topic, str(label), source=CUSTOM_SOURCE)


def stream_embeddings(run_dir: Path, rows: Iterable[np.ndarray], n: int, dim: int) -> np.ndarray:
    """embeddings.npy of a corpus too large to hold in memory, from float16 `rows` (batches in
    corpus order): a read-only memory map of the file once written."""
    path = Path(run_dir) / EMBEDDINGS

    def write(tmp: str) -> None:
        vectors = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(n, dim))
        start = 0
        for batch in rows:
            vectors[start : start + len(batch)] = batch
            start += len(batch)
        vectors.flush()
        del vectors

    atomic_write(path, write)
    return np.load(path, mmap_mode="r")


def _keyword_label(model, topic: int) -> str:
    """The keyword label a topic would have had (a zero-shot topic's version 1)."""
    words = (model.keywords_.get("mmr") or model.keywords_["ctfidf"]).get(topic, [])
    return keyword_label(topic, words)


TREE_FORMAT = 1


def tree_record(model) -> dict:
    """hierarchy.json: the model's topic tree (`TopicModel.topic_tree()`), representative
    documents as texts and ids (as in topics.json). Names are copied in from run.sqlite by
    `Run.refresh()`."""
    from labeler.tree import BRANCHING, layers

    nodes = []
    for node in model.topic_tree():
        record = {k: v for k, v in node.items() if k != "representative_docs"}
        rows = node.get("representative_docs", [])
        record["representative_docs"] = [model.documents_[i] for i in rows]
        record["representative_doc_ids"] = [model.doc_ids_[i] for i in rows]
        record.setdefault("keyword_label", node["label"])
        record.setdefault("label_source", "keywords")
        nodes.append(record)
    return {
        "format": TREE_FORMAT,
        "method": "agglomerative (Ward linkage, unit topic centres)",
        "branching": BRANCHING,
        "layers": [
            {"layer": layer, "nodes": sum(1 for n in nodes if n["layer"] == layer)}
            for layer in layers(nodes)
        ],
        "nodes": nodes,
    }


def tree_nodes(tree: dict, doc_ids: list) -> list[dict]:
    """hierarchy.json's nodes as `TopicModel.topic_tree()` holds them (representative
    documents as row indices)."""
    position = {d: i for i, d in enumerate(doc_ids)}
    nodes = []
    for record in tree.get("nodes", []):
        node = {k: v for k, v in record.items() if k != "representative_doc_ids"}
        ids = record.get("representative_doc_ids", [])
        node["representative_docs"] = [position[d] for d in ids if d in position]
        nodes.append(node)
    return nodes


def model_params(model) -> dict:
    """The model's parameters under TopicModel's names (`topic_model_params()`, whatever its
    class), as JSON: what `Run.model()` rebuilds the model from. An object (a model, a
    vectorizer) is `{"class": "module.Name", "params": {...}}`, which reopens as None."""
    params = model.topic_model_params()
    embedding = params["embedding_model"]
    if not (isinstance(embedding, str) or embedding is None):
        params["embedding_model"] = getattr(model.embedding_spec(), "key", type(embedding).__name__)
    params["ngram_range"] = list(params["ngram_range"])
    for name, value in params.items():
        if name != "embedding_model":
            params[name] = _json_param(value)
    return params


def _json_param(value):
    """A parameter as JSON: itself when it is JSON, an object as its class and parameters."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_param(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_param(v) for k, v in value.items()}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    record = {"class": f"{type(value).__module__}.{type(value).__qualname__}"}
    get_params = getattr(value, "get_params", None)
    if callable(get_params):
        try:
            record["params"] = {k: _json_param(v) for k, v in get_params(deep=False).items()}
        except Exception:  # noqa: BLE001 - a record for people; the class alone is enough
            record["params"] = {}
    else:
        record["params"] = {}
    return record


def _from_json_param(value):
    """A recorded parameter back: None when it holds an object's record (a model, a list or
    dict of models: the run holds what they fitted), else itself."""

    def has_object(v) -> bool:
        if isinstance(v, dict):
            return set(v) == {"class", "params"} or any(has_object(x) for x in v.values())
        return isinstance(v, list) and any(has_object(x) for x in v)

    return None if has_object(value) else value


def model_config(model) -> dict:
    """config.json: the parameters (`params`, as `get_params()` gives them) and, for people,
    what they came to in this fit (derived sizes, vocabulary, timings)."""
    embedding = model.embedding_spec()
    return {
        "labeler_version": __version__,
        "created_at": now(),
        "params": model_params(model),
        "seed": model.seed,
        "embedding": _embedding_record(embedding, int(model.embeddings_.shape[1])),
        "umap": {
            "n_neighbors": model.n_neighbors,
            "n_components": model.n_components,
            "min_dist": 0.0,
            "metric": "cosine",
            "map": {"n_components": 2, "min_dist": 0.1, "shared_knn_graph": True},
            "model": _json_param(getattr(model, "umap_model", None)),
        },
        "hdbscan": {
            "min_cluster_size": model.min_cluster_size_,
            "min_samples": model.min_samples or default_min_samples(model.min_cluster_size_),
            "cluster_selection_method": model.cluster_selection,
            "max_topic_share": getattr(model, "max_topic_share", None),
            "n_topics": getattr(model, "n_topics", None),
            "catch_all_splits": getattr(model, "splits_", []),
            "model": _json_param(getattr(model, "hdbscan_model", None)),
            "probabilities": getattr(model, "probability_method_", "assigned"),
        },
        # documents.parquet's mix_topics / mix_shares: where each document's top topics come from
        "distribution": {"mix": model.mix_method(), "mix_top": defaults.MIX_TOP},
        "vectorizer": _vectorizer_record(model),
        "representation": {
            "stages": [s.name for s in STAGES if s.name in model.keywords_],
            "top_n_words": model.top_n_words,
            "candidate_words": model.n_candidate_words,
            "mmr_diversity": model.mmr_diversity,
            "representative_docs": model.n_representative_docs,
            "representation_model": _json_param(getattr(model, "representation_model", None)),
        },
        "guided": {
            "seed_topic_list": getattr(model, "seed_topic_list", None),
            "zeroshot_topic_list": getattr(model, "zeroshot_topic_list", None),
            **getattr(model, "guided_", {}),
        },
        "timings_s": {k: round(v, 3) for k, v in getattr(model, "timings_", {}).items()},
        # A fit with y (labeler.model.supervised): its mode, labelled documents and classes;
        # `labeler run --label-column` adds the column and the classes' names.
        "supervision": getattr(model, "supervision_", None),
        **_images_record(model),
    }


def _images_record(model) -> dict:
    """config.json's `images` (a fit with images only): the modality, the image model, and how
    many documents had a usable image."""
    if getattr(model, "image_embeddings_", None) is None:
        return {}
    from labeler.embedding.images import make_image_embedder

    given = sum(p is not None for p in model.image_paths_)
    return {
        "images": {
            "modality": model.modality_,
            "model": make_image_embedder(model.image_model).key,
            "dim": int(model.image_embeddings_.shape[1]),
            "documents_with_image": int(model.has_image_.sum()),
            "unreadable": int(given - model.has_image_.sum()),
        }
    }


def _vectorizer_record(model) -> dict:
    """config.json's `vectorizer`: the vocabulary's settings as the fit used them (a user's
    `vectorizer_model`'s own n-grams and stop words), which a reopened run rebuilds it with."""
    fitted = model.ctfidf_.vectorizer_
    ngram_range, stop_words = model.ngram_range, model.stop_words
    if getattr(model, "vectorizer_model", None) is not None and fitted is not None:
        ngram_range = fitted.ngram_range
        if fitted.stop_words is None or isinstance(fitted.stop_words, str):
            stop_words = fitted.stop_words
    return {
        "ngram_range": list(ngram_range),
        "min_df": fitted.min_df if fitted is not None else None,
        "stop_words": stop_words,
        "vocabulary_size": len(model.ctfidf_.words_),
        "model": _json_param(getattr(model, "vectorizer_model", None)),
        "ctfidf_model": _json_param(getattr(model, "ctfidf_model", None)),
    }


def _embedding_record(embedding, dimensions: int) -> dict:
    """config.json's `embedding`: the embedder's key (`model`, what the caches and
    `make_embedder` read) and, apart from it, the base model, backend and token cap it stands
    for, so that `labeler eval` and relabeling rebuild the same embedder on any machine."""
    from labeler.embedding import describe_spec

    if embedding is None:
        return {"model": None, "dimensions": dimensions, "backend": "precomputed"}
    if isinstance(embedding, str):
        key = embedding
    else:
        key = getattr(embedding, "key", type(embedding).__name__)
        inner = getattr(embedding, "embedder", embedding)  # CachedEmbedder wraps the backend
        if not type(inner).__module__.startswith("labeler.embedding"):
            return {"model": key, "dimensions": dimensions, "backend": "custom"}
    spec = describe_spec(key)
    if "model" in spec:
        spec["base_model"] = spec.pop("model")
    return {"model": key, "dimensions": dimensions} | spec


# ---------------------------------------------------------------------------- loading
def query_model(config: dict) -> str | None:
    """The model that embeds new text (queries, labels) in a run's space: the fit's model, or for
    precomputed vectors the --embedding-model given with them (None when unknown)."""
    embedding = config.get("embedding", {})
    model = embedding.get("model")
    if model and str(model).startswith("precomputed"):
        return embedding.get("query_model")
    return model


def params_from_config(config: dict) -> dict:
    """TopicModel parameters from a run's config.json: `params` as saved, or for a run from
    labeler 0.1.0 (no `params`) the same values read from its sections."""
    if "params" in config:
        params = dict(config["params"])
    else:
        umap_cfg, hdb = config.get("umap", {}), config.get("hdbscan", {})
        vec, rep = config.get("vectorizer", {}), config.get("representation", {})
        params = {
            "n_neighbors": umap_cfg.get("n_neighbors", defaults.N_NEIGHBORS),
            "n_components": umap_cfg.get("n_components", defaults.N_COMPONENTS),
            "min_cluster_size": hdb.get("min_cluster_size"),
            "min_samples": hdb.get("min_samples"),
            "cluster_selection": hdb.get("cluster_selection_method", defaults.CLUSTER_SELECTION),
            "ngram_range": vec.get("ngram_range", defaults.NGRAM_RANGE),
            "min_df": vec.get("min_df"),
            "stop_words": vec.get("stop_words", defaults.STOP_WORDS),
            "top_n_words": rep.get("top_n_words", defaults.TOP_N_WORDS),
            "n_candidate_words": rep.get("candidate_words", defaults.N_CANDIDATE_WORDS),
            "n_representative_docs": rep.get("representative_docs", defaults.N_REPRESENTATIVE_DOCS),
            "mmr_diversity": rep.get("mmr_diversity", defaults.MMR_DIVERSITY),
            "seed": config.get("seed", defaults.SEED),
        }
    for name in ("seed_topic_list", "zeroshot_topic_list"):  # runs from before guided topics
        params.setdefault(name, None)
    params = {k: _from_json_param(v) for k, v in params.items()}
    params["embedding_model"] = query_model(config)
    params["ngram_range"] = tuple(params.get("ngram_range") or defaults.NGRAM_RANGE)
    return params


def set_slice_columns(model, documents: pd.DataFrame) -> None:
    """The run's time and class columns, for `topics_over_time()` / `topics_per_class()`
    without arguments (None when the run has none)."""
    for column, attribute in (("timestamp", "timestamps_"), ("class", "classes_")):
        values = documents[column].tolist() if column in documents else None
        setattr(model, attribute, values)


def read_model(cls, path: Path):
    """A fitted `cls` (TopicModel or a subclass such as `labeler.bertopic.BERTopic`) from a run
    folder, every documented attribute set: `cls()` with TopicModel's parameters as config.json
    records them set by name (a subclass that renames some reads them through its names)."""
    from labeler.model import TopicMapper

    run_dir = check_run(Path(path))
    config = read_json(run_dir / CONFIG)
    topics = read_json(run_dir / TOPICS)
    documents = pd.read_parquet(run_dir / DOCUMENTS)
    embeddings = np.load(run_dir / EMBEDDINGS, allow_pickle=False)

    model = cls()
    known = set(model.topic_model_param_names())
    for name, value in params_from_config(config).items():
        if name in known:
            setattr(model, name, value)
    model.run_dir_ = run_dir
    model.config_ = config
    model.timings_ = {}
    model.documents_ = documents["text"].tolist()
    model.doc_ids_ = documents["doc_id"].tolist()
    model.embeddings_ = embeddings
    model.topics_ = documents["topic"].to_numpy(dtype=np.int64)
    model.assigned_probabilities_ = documents["probability"].to_numpy(dtype=np.float32)
    model.probabilities_ = model.assigned_probabilities_  # a run keeps the assigned topic's
    model.probability_method_ = "assigned"
    model.layout_ = documents[["x", "y"]].to_numpy(dtype=np.float32)
    set_slice_columns(model, documents)
    _read_images(model, run_dir, documents, config)
    hdb = config.get("hdbscan", {})
    model.min_cluster_size_ = hdb.get("min_cluster_size") or model.min_cluster_size
    model.topic_ids_ = sorted(int(r["topic"]) for r in topics)
    model.topic_sizes_ = {int(r["topic"]): int(r["size"]) for r in topics}
    model.topic_mapper_ = TopicMapper(model.topic_ids_)
    position = {doc_id: i for i, doc_id in enumerate(model.doc_ids_)}
    model.representative_rows_ = {
        int(r["topic"]): [position[d] for d in r.get("representative_doc_ids", []) if d in position]
        for r in topics
    }
    model.keywords_ = {
        s.name: {int(r["topic"]): [tuple(p) for p in r[s.key]] for r in topics}
        for s in STAGES
        if topics and all(s.key in r for r in topics)
    }
    main = model.keywords_.get("ctfidf", {})
    model.topic_representations_ = {
        int(r["topic"]): [tuple(p) for p in r["representation"]]
        if "representation" in r
        else list(main.get(int(r["topic"]), []))
        for r in topics
    }
    names = sorted({name for r in topics for name in r.get("aspects", {})})
    model.topic_aspects_ = {
        name: {int(r["topic"]): [tuple(p) for p in r.get("aspects", {}).get(name, [])]
               for r in topics}
        for name in names
    }  # fmt: skip
    labels = RunDB(run_dir).current_labels()
    model.labels_ = {
        int(r["topic"]): labels.get(int(r["topic"]), {}).get("label", r["label"]) for r in topics
    }
    # set_topic_labels' names, saved as the "custom" source, are custom labels again.
    custom = any(row.get("source") == CUSTOM_SOURCE for row in labels.values())
    model.custom_labels_ = [model.labels_[t] for t in sorted(model.labels_)] if custom else None
    model.llm_labels_ = {t: row for t, row in labels.items() if row.get("source") == "llm"}
    model.topic_centres_ = topic_vectors(embeddings, model.topics_)
    # Zero-shot topics are those still labelled with the user's name (surgery may renumber).
    model.zeroshot_topics_ = {
        t: row["label"] for t, row in labels.items() if row.get("source") == ZERO_SHOT_SOURCE
    }
    model.guided_ = {k: v for k, v in config.get("guided", {}).items() if not k.endswith("_list")}
    model.supervision_ = config.get("supervision")
    if (run_dir / CLASSIFIER).is_file():
        with np.load(run_dir / CLASSIFIER, allow_pickle=False) as arrays:
            supervised.restore_classifier(model, arrays, embeddings, model.topics_)
    # The fitted c-TF-IDF is not stored (its vocabulary is rebuilt from the documents: same
    # texts, topics and parameters, same weights; a user's vectorizer or weighting object is
    # not in the run, so its run reopens with labeler's).
    vec = config.get("vectorizer", {})
    model.ctfidf_ = CTFIDF(
        tuple(vec.get("ngram_range") or model.ngram_range), vec.get("min_df", model.min_df),
        vec.get("stop_words", model.stop_words), seed_words(model.seed_topic_list),
        language=model.language,
    )  # fmt: skip
    model.ctfidf_.fit(model.documents_, model.topics_)
    tree_path = run_dir / HIERARCHY
    # A damaged tree is left out (`labeler tree --rebuild` builds it again from the topics).
    whole = tree_path.is_file() and file_problem(run_dir, HIERARCHY) is None
    model.hierarchy_ = tree_nodes(read_json(tree_path), model.doc_ids_) if whole else None
    return model


def _read_images(model, run_dir: Path, documents: pd.DataFrame, config: dict) -> None:
    """A multimodal run's image paths and vectors, back on the model (None without images)."""
    model.image_paths_ = model.image_embeddings_ = model.has_image_ = None
    model.representative_images_ = {}
    model.modality_ = (config.get("images") or {}).get("modality", "text")
    path = run_dir / IMAGE_EMBEDDINGS
    if "image" not in documents or not path.is_file():
        return
    vectors = np.load(path, allow_pickle=False)
    if vectors.ndim != 2 or len(vectors) != len(documents):
        return
    from labeler.embedding.images import exemplar_rows

    model.image_paths_ = [None if p is None or p != p else str(p) for p in documents["image"]]
    model.image_embeddings_ = vectors
    model.has_image_ = np.linalg.norm(vectors, axis=1) > 0
    rows = exemplar_rows(vectors, model.has_image_, model.topics_, defaults.N_IMAGE_EXEMPLARS)
    model.representative_images_ = {
        t: [model.image_paths_[i] for i in found] for t, found in rows.items()
    }


def load_run(path: str | Path, model_class=None):
    """A saved run as a fitted `TopicModel` (`labeler.load_run`, the name 0.1.0 gave it):
    transform, find_topics, get_* and `labeler.save` all work. `model_class`: a TopicModel
    subclass to build instead (`labeler.bertopic.BERTopic.load` passes its own)."""
    from labeler.model import TopicModel

    return read_model(model_class or TopicModel, Path(path))
