"""Render `report.html` and `report.md` from a run directory with the Jinja2 templates.

Reports are always rendered from what is on disk, so `labeler run` and `labeler report` produce
the same files. The HTML environment autoescapes everything; data for the charts reaches the page
only through the `script_json` filter, which escapes every character that could end a script
element. Document and label text reaches the Markdown report only through the `md` filters,
which neutralise HTML and table syntax.
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from labeler import tree as topic_tree
from labeler.defaults import MIX_SHOWN
from labeler.errors import LabelerError
from labeler.figures import _style as figure_style
from labeler.represent import STAGES as KEYWORD_STAGES
from labeler.represent import topic_vectors
from labeler.resources import data_dir
from labeler.run.folder import Run, as_run
from labeler.run.layout import (
    CONFIG,
    DOCUMENTS,
    EMBEDDINGS,
    HIERARCHY,
    MANIFEST,
    file_problem,
    read_json,
    write_text,
)
from labeler.views import charts, evaluation, run_view, thumbnails

log = logging.getLogger("labeler")

STAGES = tuple((s.key, s.title) for s in KEYWORD_STAGES)  # (topics.json key, heading)
DOC_CHARS = 1500  # an example document longer than this is cut in the reports
_SCRIPT_UNSAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


@dataclass(frozen=True)
class ReportOptions:
    """What a shared report may contain.

    `text=False` leaves out every document's text and id (examples, map hover): only labels,
    summaries, keywords and counts remain. `max_docs` caps the example documents per topic;
    `map_text=False` keeps examples but not the text behind every point on the map.
    `images` also writes the charts as PNG files for the Markdown report.
    """

    text: bool = True
    max_docs: int | None = None
    map_text: bool = True
    images: bool = False
    title: str | None = None  # overrides the run's title (`labeler report --title`)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]#~|])")
_MD_BULLET = re.compile(r"^([-+])(?=\s|$)")
_MD_NUMBERED = re.compile(r"^(\d+)([.)])(?=\s|$)")


def _one_line(value, limit: int) -> str:
    text = re.sub(r"\s+", " ", str(value if value is not None else "")).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def md_cell(value, limit: int = 200) -> str:
    """Text safe in Markdown, table cells included: one line, HTML escaped, Markdown syntax
    (emphasis, links, images, code, pipes) escaped so it renders as the literal text."""
    text = _MD_SPECIAL.sub(r"\\\1", html.escape(_one_line(value, limit), quote=False))
    return _MD_NUMBERED.sub(r"\1\\\2", _MD_BULLET.sub(r"\\\1", text))  # not a list item


def md_quote(value, limit: int = 600) -> str:
    """Text safe as a Markdown block quote (a longer `md_cell`)."""
    return md_cell(value, limit)


def script_json(value) -> Markup:
    """JSON for a `<script>` element: compact, UTF-8, and unable to close the element.

    Like Jinja's `tojson`, but without `ensure_ascii` (non-English text would double in size)
    and escaping U+2028/9, which older JavaScript parsers treat as line ends.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Markup(text.translate(_SCRIPT_UNSAFE))


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(data_dir("templates"))),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md_cell"] = md_cell
    env.filters["md_quote"] = md_quote
    env.filters["script_json"] = script_json
    env.filters["pct"] = lambda v: f"{100 * float(v):.1f}%"
    env.filters["share"] = lambda v: f"{100 * float(v):.0f}%"
    env.filters["thousands"] = lambda v: f"{int(v):,}"
    env.filters["cut"] = lambda v, n=DOC_CHARS: v if len(v) <= n else v[: n - 1].rstrip() + "…"
    return env


PLOTLY_BUNDLE = Path(__file__).resolve().parents[1] / "vendor" / "plotly-labeler.min.js"


@functools.lru_cache(maxsize=1)
def plotly_js() -> Markup:
    """The partial Plotly bundle (only the traces the report draws), gzip-compressed and base64
    encoded for a JavaScript string literal that the page decompresses with DecompressionStream.

    The full bundle is 4.8 MB; this is about 0.7 MB, so a report stays one small offline file.
    Base64 has no character that could end the inline script.
    """
    raw = PLOTLY_BUNDLE.read_bytes()
    packed = gzip.compress(raw, compresslevel=9, mtime=0)  # mtime=0: identical reports
    return Markup(base64.b64encode(packed).decode("ascii"))


def display_name(topic: int, label: str) -> str:
    """Keyword labels already start with the topic number (`3_card_arrived`); others get one."""
    return label if str(label).startswith(f"{topic}_") else f"{topic} · {label}"


def _documents(run: Run, text: bool) -> pd.DataFrame:
    run_dir = run.path
    available = set(pq.read_schema(run_dir / DOCUMENTS).names)
    wanted = ["doc_id", "topic", "x", "y", "timestamp", "class"] + (["text"] if text else [])
    return pd.read_parquet(run_dir / DOCUMENTS, columns=[c for c in wanted if c in available])


def _mixes(run: Run) -> dict:
    """The representative documents' mix of topics (documents.parquet's `mix_topics` and
    `mix_shares`, by doc_id): empty for a run without them (0.1.0's)."""
    path = run.path / DOCUMENTS
    available = set(pq.read_schema(path).names)
    wanted = ["doc_id", "representative", "mix_topics", "mix_shares"]
    if not set(wanted) <= available:
        return {}
    frame = pd.read_parquet(path, columns=wanted, filters=[("representative", "==", True)])
    return {
        doc_id: list(zip((int(t) for t in topics), (float(v) for v in shares)))
        for doc_id, topics, shares in zip(frame["doc_id"], frame["mix_topics"],
                                          frame["mix_shares"])
    }  # fmt: skip


def _doc_mix(mix: list[tuple[int, float]], own: int, names: dict[int, str]) -> dict | None:
    """What an example document's mix says beside its own topic: its own share, and the other
    topics from MIX_SHOWN up ("also 20% 3: Card delivery")."""
    if not mix:
        return None
    also = [{"topic": t, "name": names[t], "share": v}
            for t, v in mix if t != own and t in names and v >= MIX_SHOWN]  # fmt: skip
    if not also:
        return None
    return {"own": dict(mix).get(own, 0.0), "also": also}


def _topic_structure(run: Run, documents: pd.DataFrame, topics: list[dict]) -> dict:
    """Similarity, nearest topics and hierarchy from the saved embeddings (when there are any)."""
    run_dir = run.path
    ids = [t["topic"] for t in topics if not t["is_outlier"]]
    empty = {"similarity": None, "nearest": {}, "hierarchy": None, "intertopic": None}
    path = run_dir / EMBEDDINGS
    if len(ids) < 2 or not path.is_file():
        return empty
    try:
        embeddings = np.load(path, allow_pickle=False, mmap_mode="r")
    except (OSError, ValueError, EOFError):  # damaged: the report goes without these charts
        return empty
    if len(embeddings) != len(documents):
        return empty
    centres = topic_vectors(np.asarray(embeddings), documents["topic"].to_numpy())
    vectors = np.stack([centres[t] for t in ids])
    tree = charts.hierarchy(vectors, ids)
    order = tree["leaves"] if tree else ids
    sizes = {t["topic"]: t["size"] for t in topics}
    heatmap, nearest = charts.similarity(vectors, ids, sizes, order)
    from labeler.figures.topics import principal_coordinates

    xy = np.round(principal_coordinates(vectors), 4).tolist()
    return {"similarity": heatmap, "nearest": nearest, "hierarchy": tree,
            "intertopic": {"topics": ids, "xy": xy}}  # fmt: skip


PAINTS = ("colour", "colour_dark", "colour_safe", "colour_safe_dark")  # palette × light/dark
_HEX = re.compile(r"#[0-9a-f]{6}")


def paints(colour: str, safe: str) -> dict[str, str]:
    """A topic's (or tree node's) four colours: the default palette's and the colour-blind-safe
    one's, each as on a light page and as lightened for the dark map (`on_dark`)."""
    on_dark = figure_style.on_dark
    return {"colour": colour, "colour_dark": on_dark(colour),
            "colour_safe": safe, "colour_safe_dark": on_dark(safe)}  # fmt: skip


def _colour_set(item: dict) -> dict[str, str]:
    return {key: item[key] for key in PAINTS}


def colour_css(topics: list[dict], tree: dict | None) -> str:
    """The page's colour per topic (`--t<id>`) and per tree group above the topics (`--n<id>`)
    as CSS custom properties: every swatch reads its colour from one, so one attribute on the
    page (`data-palette=safe`, set by report.js and before the first paint by the page's head)
    and the reader's dark mode recolour them all. Printing keeps the light colours."""
    items = [(f"--t{t['topic']}", t) for t in topics]
    if tree:
        items += [(f"--n{n['id']}", n) for n in tree["nodes"].values() if n["layer"] > 0]
    for _, item in items:  # only our palettes' colours reach the style sheet
        if not all(_HEX.fullmatch(item[key]) for key in PAINTS):
            raise ValueError(f"not a #rrggbb colour: {[item[key] for key in PAINTS]}")

    def block(selector: str, key: str) -> str:
        return selector + " {" + "".join(f"{name}:{item[key]};" for name, item in items) + "}"

    return "\n".join([
        block(":root", "colour"),
        block(":root[data-palette=safe]", "colour_safe"),
        "@media screen and (prefers-color-scheme:dark) {",
        block(":root", "colour_dark"),
        block(":root[data-palette=safe]", "colour_safe_dark"),
        "}",
    ])  # fmt: skip


def _tree(run: Run, documents: pd.DataFrame, topics: list[dict]) -> dict | None:
    """The topic tree (hierarchy.json) as the report shows it: nested nodes for the collapsible
    tree, and per layer each topic's node, with a colour, a name and a map position per node."""
    run_dir = run.path
    path = run_dir / HIERARCHY
    if not path.is_file():
        return None
    problem = file_problem(run_dir, HIERARCHY)
    if problem:  # damaged: the report goes without the tree
        log.warning(
            "%s %s: the report leaves out the topic tree (`labeler tree %s --rebuild` rebuilds "
            "it)", path, problem, run_dir,
        )  # fmt: skip
        return None
    nodes = read_json(path)["nodes"]
    known = {t["topic"]: t for t in topics}
    if not nodes or any(n["layer"] == 0 and n["id"] not in known for n in nodes):
        return None  # stale: the topics changed since the tree was built
    layers = topic_tree.layers(nodes)
    if len(layers) < 2:
        return None
    names = run_view.node_names(run)  # the current names (review edits included)
    for n in nodes:
        current = names.get(n.get("key"))
        if n["layer"] > 0 and current is not None:
            n["label"], n["summary"] = current["label"], current["summary"]
            n["label_source"] = current["source"]
    assigned = documents["topic"].to_numpy()
    xy = documents[["x", "y"]].to_numpy(dtype=float)
    shown: dict[int, dict] = {}
    up: dict[int, dict[int, int]] = {}
    for layer in layers:
        members = sorted((n for n in nodes if n["layer"] == layer), key=lambda n: -n["size"])
        column = topic_tree.assignment(assigned, nodes, layer)
        up[layer] = {t: n["id"] for n in members for t in n["topics"]}
        where = {n["id"]: np.median(xy[column == n["id"]], axis=0)
                 if (column == n["id"]).any() else None for n in members}  # fmt: skip
        sizes = {n["id"]: n["size"] for n in members}
        colours = figure_style.colours_by_position(where, sizes)
        safe = figure_style.colours_by_position(where, sizes, figure_style.SAFE_PALETTE)
        for n in members:
            topic = known.get(n["id"]) if layer == 0 else None
            inside = column == n["id"]
            shown[n["id"]] = {
                "id": n["id"], "layer": layer, "label": n["label"], "summary": n.get("summary"),
                "size": n["size"], "children": list(n["children"]), "parent": n["parent"],
                "source": n.get("label_source", "keywords"),
                "name": topic["name"] if topic else n["label"],
                **(_colour_set(topic) if topic else paints(colours[n["id"]], safe[n["id"]])),
                "pos": [round(float(v), 3) for v in np.median(xy[inside], axis=0)]
                if inside.any() else None,
                "keywords": [w for w, _ in n.get("keywords", [])][:8],
            }  # fmt: skip
    roots = sorted((shown[n["id"]] for n in nodes if n["parent"] is None), key=lambda n: -n["size"])

    def nest(node: dict) -> dict:
        return {**node, "nodes": [nest(shown[c]) for c in node["children"] if c in shown]}

    counts = {layer: sum(1 for n in nodes if n["layer"] == layer) for layer in layers}
    return {
        "roots": [nest(r) for r in roots],
        "layers": [{"layer": layer, "count": counts[layer]} for layer in layers],
        "nodes": {str(k): v for k, v in shown.items()},
        "up": {str(layer): {str(t): n for t, n in m.items()} for layer, m in up.items()},
    }


def _prepare_topics(topics: list[dict], stages: list, nearest: dict, options: ReportOptions,
                    mixes: dict | None = None):  # fmt: skip
    """Add what the templates show per topic: colour, display name, examples (with their mix of
    topics, where the run keeps one), search text."""
    labels = {t["topic"]: t["label"] for t in topics}
    names = {t: display_name(t, label) for t, label in labels.items() if t >= 0}
    mixes = mixes or {}
    where = {t["topic"]: t.get("map_position") for t in topics}
    sizes = {t["topic"]: t["size"] for t in topics}
    colours = figure_style.colours_by_position(where, sizes)
    safe = figure_style.colours_by_position(where, sizes, figure_style.SAFE_PALETTE)
    for record in topics:
        record.update(paints(colours[record["topic"]], safe[record["topic"]]))
        record["name"] = display_name(record["topic"], record["label"])
        texts = record.get("representative_docs") or []
        ids = record.get("representative_doc_ids") or [None] * len(texts)
        examples = [
            {"text": text, "id": doc_id,
             "mix": _doc_mix(mixes.get(doc_id, []), record["topic"], names)}
            for text, doc_id in zip(texts, ids)
        ]  # fmt: skip
        if not options.text:
            examples = []
        elif options.max_docs is not None:
            examples = examples[: options.max_docs]
        record["examples"] = examples
        words = " ".join(w for key, _ in stages for w, _ in record.get(key, []))
        parts = [str(record["topic"]), record["label"], record["summary"] or "", record["status"]]
        record["search"] = " ".join([*parts, words]).lower()
        record["nearest"] = [
            {"topic": t, "name": display_name(t, labels[t]), "similarity": s}
            for t, s in nearest.get(record["topic"], [])
        ]


TIME_SHOWN = 10  # topics over time: the largest topics drawn, the others in the legend
INTERTOPIC_HEIGHT = 620
SIMILARITY_CELL = (14, 44)  # the similarity heatmap's square cells, in pixels (fewer, larger)


def _figures(charts_data: dict, topics: list[dict]) -> dict:
    """The corpus-wide charts as the figures `labeler.figures` builds (`{"data", "layout"}`
    each, drawn by the page with `Plotly.newPlot`): the same code as `visualize_heatmap`,
    `visualize_hierarchy`, `visualize_topics_over_time` and the per-class heatmap."""
    from labeler.figures.heatmap import similarity_figure
    from labeler.figures.hierarchy import hierarchy_figure
    from labeler.figures.topics import intertopic_figure
    from labeler.figures.topics_over_time import time_figure
    from labeler.figures.topics_per_class import class_heatmap

    names = {t["topic"]: t["name"] for t in topics}
    colours = {t["topic"]: t["colour"] for t in topics}
    sizes = {t["topic"]: t["size"] for t in topics}
    out = {}

    def spec(fig, title: str) -> dict:  # an in-figure title on each, as BERTopic's figures
        fig = figure_style.finish(fig, f"<b>{title}</b>", None, None)
        fig.update_layout(title={"font": {"size": 16}, "x": 0.01, "xanchor": "left"})
        return figure_style.spec(fig)

    if charts_data["similarity"]:
        heatmap = charts_data["similarity"]
        cell = max(SIMILARITY_CELL[0], min(SIMILARITY_CELL[1], 760 // len(heatmap["topics"])))
        out["similarity"] = spec(
            similarity_figure(heatmap["topics"], names, heatmap["z"], cell=cell),
            "Cosine similarity between topics",
        )
    if charts_data["hierarchy"]:
        figure = hierarchy_figure(charts_data["hierarchy"], names, colours, sizes,
                                  distance_title="Ward merge height")  # fmt: skip
        out["hierarchy"] = spec(figure, "Topic hierarchy (Ward linkage)")
    if charts_data.get("intertopic"):
        found = charts_data["intertopic"]
        ids = found["topics"]
        words = {t["topic"]: [w for w, _ in t.get("keywords", [])[:5]] for t in topics}
        figure = intertopic_figure(ids, np.asarray(found["xy"]), names, sizes, colours, words)
        figure.update_layout(height=INTERTOPIC_HEIGHT)
        out["topics"] = spec(figure, "Intertopic distance")
    time = charts_data["time"]
    if time:
        largest = sorted((t for t in topics if not t["is_outlier"]), key=lambda t: -t["size"])
        shown = {t["topic"] for t in largest[:TIME_SHOWN]}
        series = [
            {
                "topic": t["topic"], "name": t["name"], "colour": t["colour"],
                "x": time["periods"], "y": time["counts"][t["topic"]],
                "visible": True if t["topic"] in shown else "legendonly",
            }
            for t in topics
            if t["topic"] in time["counts"]
        ]  # fmt: skip
        figure = time_figure(series, f"documents per {time['unit']}", dates=True,
                             x_title=time["unit"])  # fmt: skip
        out["time"] = spec(figure, f"Documents per {time['unit']}, by topic")
        for trace in out["time"]["data"]:
            del trace["x"]  # the periods, once in the page's data: its script puts them back
    if charts_data["classes"]:
        out["classes"] = spec(class_heatmap(charts_data["classes"], names, sizes),
                              "Documents per topic and class")  # fmt: skip
    return out


CHART_DATA = ("map", "time", "tree")  # what the page draws itself, beside the figures


def _page_data(topics: list[dict], stages: list, charts_data: dict, nearest: dict) -> dict:
    """The JSON the page's script draws from: topics as the panel shows them, the map's and
    the per-topic charts' data, and the corpus-wide charts as figures."""
    return {
        "topics": [
            {
                "id": t["topic"],
                "name": t["name"],
                "label": t["label"],
                "summary": t["summary"],
                "size": t["size"],
                "share": t["share"],
                **_colour_set(t),
                "outlier": t["is_outlier"],
                "status": t["status"],
                "source": t["label_source"],
                "flags": t["label_flags"],
                "pos": t.get("map_position"),
                "keywords": [[title, t[key][:10]] for key, title in stages],
                "nearest": nearest.get(t["topic"], []),
            }
            for t in topics
        ],
        **{key: charts_data[key] for key in CHART_DATA},
        "figures": _figures(charts_data, topics),
        "style": {
            "outlier": figure_style.OUTLIER_COLOUR,
            "opacity": figure_style.MAP_OPACITY,
            "dark_paper": figure_style.DARK_PAPER,
        },
    }


def guided_summary(config: dict) -> list[str]:
    """How seed and zero-shot topics shaped the fit, one sentence each (none without them)."""
    guided = config.get("guided") or {}
    lines = []
    seeds = guided.get("seed_topic_list")
    if seeds:
        nudged = (guided.get("seed_topics") or {}).get("documents_nudged") or []
        lists = "; ".join(", ".join(words) for words in seeds)
        lines.append(
            f"{len(seeds)} seed topic(s) ({lists}): {sum(nudged):,} documents nudged towards them"
        )
    names = guided.get("zeroshot_topic_list")
    if names:
        found = guided.get("zero_shot") or {}
        line = (
            f"{len(names)} zero-shot name(s), similarity ≥ {found.get('min_similarity')}: "
            f"{found.get('documents_assigned', 0):,} documents in "
            f"{len(found.get('topics') or {})} named topics "
            f"({found.get('documents_matched', 0):,} matched directly, "
            f"{found.get('clusters_joined', 0)} clusters joined)"
        )
        if found.get("unmatched"):
            line += "; no documents for: " + ", ".join(found["unmatched"])
        lines.append(line)
    return lines


def supervision_summary(config: dict) -> str | None:
    """How given labels made the topics (config.json's `supervision`), one sentence; None for a
    fit without them."""
    given = config.get("supervision") or {}
    mode = given.get("mode")
    if not mode:
        return None
    column = given.get("label_column")
    where = f" of column {column}" if column else ""
    labelled, documents = given.get("labelled", 0), given.get("documents", 0)
    classes = given.get("classes", 0)
    if mode == "manual":
        rest = documents - labelled
        outliers = f", the other {rest:,} outliers" if rest else ""
        return (
            f"manual: the topics are the given assignments{where} ({classes} topics, "
            f"{labelled:,} of {documents:,} documents assigned{outliers}); no clustering"
        )
    if mode == "full":
        rest = documents - labelled
        line = (
            f"supervised: the topics are the given labels{where} ({classes} classes, "
            f"{labelled:,} of {documents:,} documents labelled)"
        )
        return line + (f"; a classifier assigned the other {rest:,}" if rest else "")
    return (
        f"semi-supervised: the given labels{where} ({labelled:,} of {documents:,} documents, "
        f"{classes} classes) steer the reduction and split clusters along them; the rest is "
        "clustered as usual"
    )


def public_name(value):
    """A setting as a shared report may show it: a local file's path becomes its file name
    (a report travels; where the corpus, a prompt or a model file sat on one machine does not).
    Model ids such as `org/model` are not paths and stay."""
    if not isinstance(value, str) or not value:
        return value
    windows = len(value) > 2 and value[1] == ":" and value[2] in "\\/"
    if value.startswith(("/", "~", "./", "../", "\\")) or windows:
        return Path(value.replace("\\", "/")).name or value
    return value


def _public_config(config: dict) -> dict:
    config = dict(config)
    corpus = dict(config.get("corpus") or {})
    if corpus.get("source"):
        corpus["source"] = Path(str(corpus["source"]).replace("\\", "/")).name
    config["corpus"] = corpus
    if isinstance(config.get("embedding"), dict):
        config["embedding"] = {**config["embedding"],
                               "model": public_name(config["embedding"].get("model"))}  # fmt: skip
    if isinstance(config.get("llm"), dict):
        config["llm"] = {k: public_name(v) for k, v in config["llm"].items()}
    return config


TOP_TOPICS = 6  # the largest topics on the first screen
TITLE_CHARS = 90


def report_title(options: ReportOptions, config: dict, folder: str) -> str:
    """`--title` (of `labeler report`, else of `labeler run`), else the corpus description the
    labels were asked with (its first sentence), else the corpus file's name."""
    corpus = config.get("corpus") or {}
    description = str((config.get("llm") or {}).get("corpus_description") or "").strip()
    description = re.split(r"(?<=[.!?])\s", description, maxsplit=1)[0]
    title = options.title or corpus.get("title") or description or corpus.get("name") or folder
    title = re.sub(r"\s+", " ", str(title)).strip()
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"


def report_context(run: Run | Path, options: ReportOptions | None = None) -> dict:
    """Everything both templates need, read from the run directory."""
    options = options or ReportOptions()
    run = as_run(run)
    run_dir = run.path
    manifest = read_json(run_dir / MANIFEST) if (run_dir / MANIFEST).exists() else {}
    config = _public_config(read_json(run_dir / CONFIG))
    topics = run_view.topics(run)
    for t in topics:
        t["label_model"] = public_name(t.get("label_model"))
        for version in t.get("history", []):
            version["model"] = public_name(version.get("model"))
    evaluated = evaluation.current(run, topics)  # before the display fields are added
    map_text = options.text and options.map_text
    documents = _documents(run, map_text)
    stages = [(key, title) for key, title in STAGES if topics and key in topics[0]]
    structure = _topic_structure(run, documents, topics)
    _prepare_topics(topics, stages, structure["nearest"], options, _mixes(run))
    # Image exemplars are documents' content: a report without text leaves them out too.
    shown = thumbnails.topic_thumbnails(run) if options.text else {}
    for record in topics:
        record["thumbnails"] = shown.get(record["topic"], [])
    tree = _tree(run, documents, topics)
    sizes = {t["topic"]: t["size"] for t in topics}
    charts_data = {
        "map": charts.map_points(documents, int(config.get("seed", 42)), map_text),
        "similarity": structure["similarity"],
        "hierarchy": structure["hierarchy"],
        "intertopic": structure["intertopic"],
        "time": charts.over_time(documents),
        "classes": charts.per_class(documents, sizes),
        "tree": {k: v for k, v in tree.items() if k != "roots"} if tree else None,
    }
    real = [t for t in topics if not t["is_outlier"]]
    outliers = sum(t["size"] for t in topics if t["is_outlier"])
    revisions = run_view.revisions(run)
    n_docs = int(len(documents))
    corpus = config.get("corpus", {})
    llm = config.get("llm") or {}
    return {
        "title": report_title(options, config, run_dir.name),
        "top_topics": sorted(real, key=lambda t: -t["size"])[:TOP_TOPICS],
        "flagged": sum(1 for t in real if t.get("label_flags")),
        "manifest": manifest,
        "config": config,
        "guided": guided_summary(config),
        "supervision": supervision_summary(config),
        "corpus": corpus,
        "llm": llm if llm.get("provider") not in (None, "none") else None,
        "topics": topics,
        "real_topics": real,
        "stages": stages,
        "summary": {
            "documents": n_docs,
            "topics": len(real),
            "outliers": outliers,
            "outlier_share": outliers / n_docs if n_docs else 0.0,
        },
        "review": run_view.review_progress(topics),
        "revisions": revisions,
        "last_update": run_view.last_update(revisions, topics),
        "evaluation": evaluated,
        "options": options,
        **charts_data,
        "data": _page_data(topics, stages, charts_data, structure["nearest"]),
        "images": {},
        "tree_roots": tree["roots"] if tree else [],
        "colour_css": colour_css(topics, tree),
    }


def render_reports(
    run: Run | Path, out_dir: Path | None = None, options: ReportOptions | None = None
) -> list[Path]:
    """(Re)write report.html and report.md (and images/*.png when asked) into `out_dir`.

    `out_dir` defaults to the run directory itself, which is what `labeler run` does. `run`: a
    `Run` (the staging folder of a new run is `Run(staging, check=False)`) or a run's path.
    """
    run = as_run(run)
    out_dir = Path(out_dir) if out_dir is not None else run.path
    options = options or ReportOptions()
    if out_dir.exists() and not out_dir.is_dir():
        raise LabelerError(f"--out {out_dir} is a file, not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    context = report_context(run, options)
    written = []
    if options.images:
        from labeler.views.images import write_images

        images = write_images(context, out_dir / "images")
        context["images"] = {name: path.relative_to(out_dir).as_posix() for name, path in images}
        written += [path for _, path in images]
    env = environment()
    html_page = env.get_template("report.html.j2").render(plotly_js=plotly_js(), **context)
    write_text(out_dir / "report.html", html_page)
    markdown = env.get_template("report.md.j2").render(**context)
    write_text(out_dir / "report.md", re.sub(r"\n{3,}", "\n\n", markdown))  # tidy blank lines
    return [out_dir / "report.html", out_dir / "report.md", *written]
