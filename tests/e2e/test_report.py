"""The shared reports: report.html in real headless Chromium with the network blocked, report.md
parsed as GitHub-style Markdown, privacy options, LLM labels and review state, hostile text.

Every run here comes from the real pipeline (`banking_run`, `reuters_run`); tests that need label
history or hostile content copy such a run and write into it the way `labeler label`/`review`
do (the `label_versions` and `topic_status` tables), then render it with `labeler report`.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from conftest import launch_chromium

from labeler.cli import main
from labeler.run.db import RunDB

HOSTILE_DOC = (
    'My <b>bold</b> <a href="https://evil.example/">card</a></script><script>window.__pwned = 1'
    '</script> <img src=x onerror="window.__pwned = 2"> \u2028 {{ 7*7 }} ${7*7} never came'
)
HOSTILE_ID = '<i>id</i>"&'
HOSTILE_LABEL = '<img src=x onerror="window.__pwned = 3"><a href="https://evil.example/">label</a>'
HOSTILE_SUMMARY = "</script><script>window.__pwned = 4</script> & | pipes | too"


def cli(*args, ok: bool = True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


# ------------------------------------------------------------------------------------ browser
@dataclass
class Visit:
    page: object
    url: str
    requests: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)

    def assert_offline(self) -> None:
        """Exactly one request (the file itself), nothing failed, no console error, no dialog."""
        assert [u for u in self.requests if _bare(u) != self.url] == []
        assert self.failed == [] and self.errors == [] and self.dialogs == []


def _bare(url: str) -> str:
    return url.split("#")[0].split("?")[0]


def visit(browser, path: Path, query: str = "") -> Visit:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    log = Visit(page, Path(path).resolve().as_uri())
    page.on("request", lambda r: log.requests.append(r.url))
    page.on("requestfailed", lambda r: log.failed.append(r.url))
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.errors.append(str(e)))
    page.on("dialog", lambda d: (log.dialogs.append(d.message), d.dismiss()))

    def only_the_file(route):
        if _bare(route.request.url) == log.url:
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_the_file)
    page.goto(log.url + query)
    page.wait_for_selector("body[data-ready]", timeout=60_000)
    return log


def not_blank(png: bytes) -> bool:
    """A screenshot with many colours and a fair share of non-white pixels (dots, labels)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    white = sum(n for n, rgb in colours if min(rgb) >= 250)
    return len(colours) > 20 and white < 0.98 * image.width * image.height


def dots(page, trace: str) -> int:
    """Dots Plotly drew (as SVG) for one map trace: docs (all) or chosen (the selected topic)."""
    return page.locator(f"#map-plot .trace{trace} .point").count()


# The names drawn on the map, each put back together from its lines (a name wraps at spaces,
# which the lines drop, and after "_", "-" or "/", which they keep).
MAP_NAMES = """[...document.querySelectorAll('#map-plot .tracenames text')].map(t => {
  const lines = [...t.querySelectorAll('tspan.line')].map(s => s.textContent);
  return lines.length ? lines.reduce((a, l) => a + (/[_\\/-]$/.test(a) ? '' : ' ') + l)
                      : t.textContent; })"""


# ------------------------------------------------------------------------------------ helpers
def report_data(page_html: str) -> dict:
    """The chart data the page carries (the JSON literal assigned to REPORT)."""
    match = re.search(r"^var REPORT = (.*);$", page_html, flags=re.M)
    assert match, "no REPORT data in the page"
    return json.loads(match.group(1))


def md_tables(text: str) -> list[dict]:
    """Tables of a Markdown file as GitHub renders them: header and body rows of cell text."""
    from markdown_it import MarkdownIt

    tables, table, row, body = [], None, None, False
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        if token.type == "table_open":
            table = {"header": [], "rows": []}
        elif token.type in ("tbody_open", "tbody_close"):
            body = token.type == "tbody_open"
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append("".join(c.content for c in token.children or [] if c.type != "softbreak"))
        elif token.type == "tr_close":
            (table["rows"] if body else table["header"]).append(row)
            row = None
        elif token.type == "table_close":
            tables.append(table)
    return tables


def md_html(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(text)


def topics_of(run: Path) -> list[dict]:
    return json.loads((run / "topics.json").read_text())


def add_label(run: Path, topic: int, label: str, summary: str | None, source: str, **extra):
    """Make `label` the topic's current label, as the labelling and review commands do."""
    RunDB(run).add_label_version(
        topic, label, summary=summary, source=source, prompt_name=extra.get("prompt"),
        model=extra.get("model"), flags=extra.get("flags", []),
        created_at=f"2026-01-0{len(RunDB(run).label_history(topic)) + 1}T10:00:00+00:00",
    )  # fmt: skip


def set_status(run: Path, topic: int, status: str) -> None:
    RunDB(run).set_status(topic, status)


def copy_run(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    return copy


# ------------------------------------------------------------------------------------ tests
def test_report_opens_offline_and_answers_a_reader(banking_run, chromium_browser):
    topics = topics_of(banking_run)
    real = sorted((t for t in topics if t["topic"] >= 0), key=lambda t: -t["size"])
    biggest, smallest = real[0], real[-1]
    v = visit(chromium_browser, banking_run / "report.html")
    page = v.page
    v.assert_offline()

    # The map: every document is a dot (600 < sampling threshold), topic names on it.
    assert page.get_attribute("#map-plot", "data-renderer") == "svg"
    assert dots(page, "docs") == 600
    names = page.evaluate(MAP_NAMES)
    assert biggest["label"] in names
    assert not_blank(page.locator("#map-plot").screenshot())

    # The topic list: one row per topic, searchable and sortable.
    rows = page.locator("#topic-table tbody tr")
    assert rows.count() == len(topics)
    page.fill("#filter", smallest["keywords"][0][0])
    visible = page.locator("#topic-table tbody tr:visible")
    shown = [int(t) for t in visible.evaluate_all("rs => rs.map(r => r.dataset.topic)")]
    assert smallest["topic"] in shown and len(shown) < len(topics)
    page.fill("#filter", "no topic has this zzzz")
    assert visible.count() == 0
    page.fill("#filter", "")
    page.click("#topic-table th button[data-key=size]")
    assert rows.first.get_attribute("data-topic") == str(biggest["topic"])
    page.click("#topic-table th button[data-key=size]")
    assert int(rows.first.get_attribute("data-size")) == min(t["size"] for t in topics)

    # Choosing a topic highlights exactly its documents and shows its label and keywords.
    page.click(f'#topic-table tr[data-topic="{smallest["topic"]}"] td.num')
    assert dots(page, "chosen") == smallest["size"]
    panel = page.inner_text("#map-panel")
    assert smallest["label"] in panel and smallest["keywords"][0][0] in panel
    assert page.locator(f"article#topic-{smallest['topic']}.selected").count() == 1

    # Clicking a dot on the map selects that dot's topic.
    points = report_data((banking_run / "report.html").read_text())["map"]["points"]
    own = [
        (x, y) for x, y, t in zip(points["x"], points["y"], points["t"]) if t == smallest["topic"]
    ]
    cx, cy = smallest["map_position"]  # a dot away from the topic's name on the map
    far = max(range(len(own)), key=lambda i: (own[i][0] - cx) ** 2 + (own[i][1] - cy) ** 2)
    page.click("#map-panel button:has-text('clear')")
    assert dots(page, "chosen") == 0
    page.evaluate(
        "window.scrollTo({top: document.getElementById('map').offsetTop, behavior: 'instant'})"
    )
    dot = page.evaluate(
        "([x, y]) => { const gd = document.getElementById('map-plot'), f = gd._fullLayout;"
        " const box = gd.getBoundingClientRect();"
        " return [box.x + f._size.l + f.xaxis.l2p(x), box.y + f._size.t + f.yaxis.l2p(y)]; }",
        list(own[far]),
    )
    page.mouse.click(*dot)
    page.wait_for_function("document.querySelectorAll('#map-panel h3').length === 1")
    assert smallest["label"] in page.inner_text("#map-panel h3")

    # Topic details: keyword weights drawn as bars when the topic scrolls into view.
    article = page.locator(f"article#topic-{biggest['topic']}")
    article.scroll_into_view_if_needed()
    chart = f'.kw-chart[data-topic="{biggest["topic"]}"]'
    page.wait_for_selector(f"{chart} .main-svg")
    bars = page.locator(f"{chart} .bars .point").count()
    assert bars == sum(len(biggest[k]) for k in ("keywords", "keywords_keybert", "keywords_mmr"))
    assert biggest["representative_docs"][0] in article.inner_text()
    for plot in ("#similarity-plot", "#hierarchy-plot", "#class-plot"):
        assert page.locator(f"{plot} .main-svg").count() >= 1, plot
    assert page.locator("#time-plot").count() == 0  # no timestamps in this corpus
    v.assert_offline()
    page.close()


def test_map_uses_webgl_when_it_can_and_svg_when_it_cannot(
    banking_run, chromium_browser, playwright_driver
):
    v = visit(chromium_browser, banking_run / "report.html", "?gl_above=0")
    assert v.page.get_attribute("#map-plot", "data-renderer") == "webgl"
    assert v.page.locator("#map-plot canvas").count() >= 1
    assert v.page.locator("#map-plot .no-webgl").count() == 0
    assert not_blank(v.page.locator("#map-plot").screenshot())
    v.assert_offline()
    v.page.close()

    no_webgl = launch_chromium(playwright_driver, "--disable-3d-apis")
    try:
        v = visit(no_webgl, banking_run / "report.html", "?gl_above=0")
        assert v.page.get_attribute("#map-plot", "data-renderer") == "svg"
        assert dots(v.page, "docs") == 600
        assert not_blank(v.page.locator("#map-plot").screenshot())
        v.assert_offline()
    finally:
        no_webgl.close()


def test_hostile_document_and_label_text_stays_text(banking_run, chromium_browser, tmp_path):
    run = copy_run(banking_run, tmp_path)
    topics = topics_of(run)
    target = topics[0]
    old_id = target["representative_doc_ids"][0]
    docs = pd.read_parquet(run / "documents.parquet")
    row = docs["doc_id"] == old_id
    docs.loc[row, "text"] = HOSTILE_DOC
    docs.loc[row, "doc_id"] = HOSTILE_ID
    docs.loc[row, "class"] = "<svg onload=alert(1)>"
    docs.to_parquet(run / "documents.parquet", index=False)
    target["representative_docs"][0] = HOSTILE_DOC
    target["representative_doc_ids"][0] = HOSTILE_ID
    (run / "topics.json").write_text(json.dumps(topics))
    add_label(run, target["topic"], HOSTILE_LABEL, HOSTILE_SUMMARY, "llm", model="<b>m</b>")
    cli("report", run)

    page_html = (run / "report.html").read_text()
    # the report's own two scripts, nothing injected: the saved colours in the head, the report's
    assert page_html.count("<script") == 2
    assert page_html.index("<script") < page_html.index("</head>") < page_html.rindex("<script")
    assert "<img" not in page_html and "<svg onload" not in page_html
    assert "&lt;/a&gt;&lt;/script&gt;&lt;script&gt;window.__pwned = 1" in page_html  # as text
    data = report_data(page_html)  # and intact inside the inlined JSON
    assert (
        HOSTILE_DOC[:100]
        in data["map"]["points"]["text"][data["map"]["points"]["id"].index(HOSTILE_ID)]
    )

    v = visit(chromium_browser, run / "report.html")
    page = v.page
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.scripts.length") == 2  # ours, as above
    assert page.evaluate("document.images.length") == 0
    page.click(f'#topic-table tr[data-topic="{target["topic"]}"] td.num')
    assert page.inner_text("#map-panel h3").strip().endswith(HOSTILE_LABEL)
    assert HOSTILE_SUMMARY in page.inner_text("#map-panel")
    article = page.locator(f"article#topic-{target['topic']}")
    assert HOSTILE_DOC.split("\u2028")[0] in article.locator(".doc").first.text_content()
    assert HOSTILE_ID in article.locator(".doc-id").first.text_content()
    # Plotly reads some HTML in labels: the map's topic name and hover must show it as text.
    names = page.evaluate(MAP_NAMES.replace("tracenames", "tracefocus"))  # the selected one
    assert any(HOSTILE_LABEL[:25] in n for n in names)
    index = data["map"]["points"]["id"].index(HOSTILE_ID)
    page.evaluate("i => Plotly.Fx.hover('map-plot', [{curveNumber: 0, pointNumber: i}])", index)
    page.wait_for_selector("#map-plot .hoverlayer .hovertext")
    hover = page.text_content("#map-plot .hoverlayer")
    assert "<b>bold</b>" in hover and 'href="https://evil.example/">card</a>' in hover
    links = page.evaluate(
        "[...document.querySelectorAll('a')].map(a => a.getAttribute('href') ||"
        " a.getAttribute('xlink:href') || '').filter(h => h.includes('evil'))"
    )
    assert links == []
    assert page.evaluate("window.__pwned") is None and page.evaluate("document.images.length") == 0
    v.assert_offline()
    page.close()

    markdown = (run / "report.md").read_text()
    assert "<script" not in markdown and "<img" not in markdown and "<a " not in markdown
    rendered = md_html(markdown)
    assert "<script" not in rendered and "<img" not in rendered and 'evil.example/"' not in rendered
    table = md_tables(markdown)[1]
    assert [r[1] for r in table["rows"]][0] == HOSTILE_LABEL  # shown literally, one cell
    assert all(len(r) == len(table["header"][0]) for r in table["rows"])


def test_the_first_screen_names_the_largest_topics(banking_run, chromium_browser, tmp_path):
    run = copy_run(banking_run, tmp_path)
    add_label(
        run, 0, "Card <b>arrival</b> questions", "Customers asking when a card arrives.", "llm"
    )
    result = CliRunner().invoke(main, ["report", str(run), "--title", "Bank support questions"])
    assert result.exit_code == 0, result.output
    topics = sorted((t for t in topics_of(run) if t["topic"] >= 0), key=lambda t: -t["size"])
    for t in topics:
        if t["topic"] == 0:
            t["label"] = "Card <b>arrival</b> questions"  # the current label (run.sqlite)
    v = visit(chromium_browser, run / "report.html")
    page = v.page
    assert page.title().startswith("Bank support questions")
    assert page.locator("header h1").inner_text().endswith("Bank support questions")
    items = page.locator("ol.top-topics li")
    assert items.count() == min(6, len(topics))
    for i in range(items.count()):  # the largest first, each inside the first screen
        assert topics[i]["label"] in items.nth(i).inner_text()
        box = items.nth(i).bounding_box()
        assert box is not None and box["y"] + box["height"] <= 1000, (i, box)
    assert page.locator("ol.top-topics b").count() == 0  # a label's markup stays text
    settings = page.locator("#how-made table.params")
    assert not settings.is_visible()  # folded away until asked for
    page.locator("#how-made > summary").click()
    assert settings.is_visible() and "Embeddings" in settings.inner_text()
    v.assert_offline()
    for name in ("report.html", "report.md"):
        text = (run / name).read_text(encoding="utf-8")
        assert str(banking_run.parent) not in text and str(tmp_path) not in text  # no local path
    markdown = (run / "report.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Bank support questions")


def test_markdown_renders_as_tables_and_sections(banking_run):
    topics = topics_of(banking_run)
    markdown = (banking_run / "report.md").read_text()
    settings, table = md_tables(markdown)[:2]
    assert settings["header"][0] == ["Setting", "Value"]
    assert {r[0] for r in settings["rows"]} >= {"Corpus", "Embeddings", "Review", "Labels"}
    assert table["header"][0] == ["Topic", "Label", "Size", "Share", "Keywords"]
    assert len(table["rows"]) == len(topics)
    assert [(int(r[0]), r[1], int(r[2])) for r in table["rows"]] == [
        (t["topic"], t["label"], t["size"]) for t in topics
    ]
    headings = re.findall(r"^## (.+)$", markdown, flags=re.M)
    assert headings[:4] == [
        "What these documents are about", "How this was made", "Topics", "Topic tree"
    ]  # fmt: skip
    assert len(headings) == len(topics) + 4  # and one per topic
    largest = sorted((t for t in topics if t["topic"] >= 0), key=lambda t: -t["size"])
    first = markdown.split("## What these documents are about", 1)[1].split("##", 1)[0]
    items = re.findall(r"^(\d+)\. \*\*(.+?)\*\*", first, flags=re.M)
    assert [label.replace("\\", "") for _, label in items] == [t["label"] for t in largest[:6]]
    assert re.search(r"\*\* \(.+\)\n\nThe largest", first)  # a paragraph after the list
    assert "images/" not in markdown  # charts only with --images


def test_llm_labels_history_and_review_progress(banking_run, tmp_path):
    run = copy_run(banking_run, tmp_path)
    topics = topics_of(run)
    first, second = topics[0]["topic"], topics[1]["topic"]
    add_label(
        run, first, "Card delivery", "People waiting for a card.", "llm",
        model="qwen2.5", prompt="label_summary.jinja", flags=["fallback"],
    )  # fmt: skip
    add_label(run, second, "Top-up problems", "Top-ups that fail.", "llm", model="qwen2.5")
    add_label(run, second, "Failed top-ups", "Top-ups that fail or stay pending.", "review")
    set_status(run, first, "accepted")
    set_status(run, second, "edited")
    config = json.loads((run / "config.json").read_text())
    config["llm"] = {"provider": "local", "model": "qwen2.5", "prompt": "label_summary.jinja"}
    (run / "config.json").write_text(json.dumps(config))
    out = tmp_path / "shared"
    cli("report", run, "--out", out, "--images")

    page_html = (out / "report.html").read_text()
    data = {t["id"]: t for t in report_data(page_html)["topics"]}
    assert data[first]["label"] == "Card delivery" and data[first]["status"] == "accepted"
    assert data[first]["flags"] == ["fallback"] and data[first]["source"] == "llm"
    assert data[second]["label"] == "Failed top-ups" and data[second]["source"] == "review"
    real = len([t for t in topics if t["topic"] >= 0])
    assert f"<b>2 / {real}</b><span>topics reviewed</span>" in page_html
    assert "model <code>qwen2.5</code>" in page_html
    history = re.search(rf'<article id="topic-{second}".*?</article>', page_html, flags=re.S)
    versions = re.findall(r"<tr( class=\"current\")?>\s*<td>(\d)", history.group(0))
    assert versions == [(' class="current"', "3"), ("", "2"), ("", "1")]

    markdown = (out / "report.md").read_text()
    settings, table = md_tables(markdown)[:2]
    assert dict(r[:2] for r in settings["rows"])["Review"] == (
        f"2 of {real} topics reviewed: 1 accepted, 1 edited"
    )
    assert table["header"][0] == ["Topic", "Label", "Size", "Share", "Status", "Keywords"]
    assert len(table["rows"]) == len(topics)
    statuses = {int(r[0]): (r[1], r[4]) for r in table["rows"]}
    assert statuses[first] == ("Card delivery", "accepted")
    assert statuses[second] == ("Failed top-ups", "edited")
    history_tables = [t for t in md_tables(markdown) if t["header"][0][0] == "Version"]
    assert [len(t["rows"]) for t in history_tables] == [2, 3]
    assert history_tables[1]["rows"][0][:3] == ["3 (current)", "Failed top-ups", "review"]

    images = re.findall(r"!\[[^\]]*\]\((images/[\w.]+\.png)\)", markdown)
    assert set(images) == {
        "images/map.png", "images/keywords.png", "images/hierarchy.png", "images/per_class.png"
    }  # fmt: skip
    for image in images:
        assert not_blank((out / image).read_bytes()), image
    assert (run / "report.html").read_text() != page_html  # --out left the run's report alone


def test_topics_over_time_and_per_class(reuters_run, chromium_browser, tmp_path):
    topics = topics_of(reuters_run)
    docs = pd.read_parquet(reuters_run / "documents.parquet")
    v = visit(chromium_browser, reuters_run / "report.html")
    page = v.page
    time = page.evaluate("REPORT.time")
    assert time["unit"] == "week"  # Reuters-21578 spans February to October 1987
    assert sum(time["totals"]) == len(docs)
    assert {int(t): sum(c) for t, c in time["counts"].items()} == {
        t["topic"]: t["size"] for t in topics
    }
    drawn = page.locator("#time-plot .scatterlayer .trace").count()
    assert drawn == min(10, len([t for t in topics if t["topic"] >= 0]))  # the rest in the legend
    assert page.locator("#time-plot .legend .traces").count() == len(topics)
    assert page.locator("#class-plot .main-svg").count() >= 1
    first = topics[0]["topic"]
    page.locator(f"article#topic-{first}").scroll_into_view_if_needed()
    page.wait_for_selector(f'.tl-chart[data-topic="{first}"] .main-svg')
    assert not_blank(page.locator(f'.tl-chart[data-topic="{first}"]').screenshot())
    v.assert_offline()
    page.close()

    cli("report", reuters_run, "--out", tmp_path, "--images")
    markdown = (tmp_path / "report.md").read_text()
    assert "![Documents per week for the largest topics](images/over_time.png)" in markdown
    assert not_blank((tmp_path / "images" / "over_time.png").read_bytes())
    assert "images/per_class.png" in markdown


def test_report_is_one_small_file_and_every_chart_draws(reuters_run, chromium_browser):
    """The partial, compressed Plotly bundle draws every chart the report has (map, similarity,
    hierarchy, time, classes, a keyword bar chart) with no error, and keeps the file small."""
    page_html = (reuters_run / "report.html").read_bytes()
    bundle = re.search(rb'\}\)\("([A-Za-z0-9+/=]+)"\);', page_html)
    assert bundle and len(bundle.group(1)) < 800_000  # the full Plotly bundle was 4.8 MB
    assert len(page_html) < 1_500_000
    v = visit(chromium_browser, reuters_run / "report.html")
    page = v.page
    assert page.evaluate("typeof Plotly.newPlot") == "function"
    for plot in ("map", "similarity", "hierarchy", "time", "class"):
        assert page.locator(f"#{plot}-plot .main-svg").count() >= 1, plot
        assert not_blank(page.locator(f"#{plot}-plot").screenshot()), plot
    first = topics_of(reuters_run)[0]["topic"]
    page.locator(f"article#topic-{first}").scroll_into_view_if_needed()
    page.wait_for_selector(f'.kw-chart[data-topic="{first}"] .main-svg .bars')
    assert not_blank(page.locator(f'.kw-chart[data-topic="{first}"]').screenshot())
    v.assert_offline()  # no console error: nothing failed to unpack or draw
    page.close()


def test_sharing_without_document_text(banking_run, tmp_path):
    docs = pd.read_parquet(banking_run / "documents.parquet")
    cli("report", banking_run, "--out", tmp_path / "bare", "--no-text")
    page_html = (tmp_path / "bare" / "report.html").read_text()
    markdown = (tmp_path / "bare" / "report.md").read_text()
    visible = html.unescape(page_html)
    leaked = [t for t in docs["text"] if len(t) >= 25 and (t in visible or t[:60] in markdown)]
    assert leaked == []
    data = report_data(page_html)
    assert data["map"]["points"]["text"] is None and data["map"]["points"]["id"] is None
    assert 'class="doc"' not in page_html and "Example documents" not in markdown
    assert "document text and ids left out" in page_html
    assert len(md_tables(markdown)[1]["rows"]) == len(topics_of(banking_run))


def test_capping_example_documents(banking_run, tmp_path):
    cli("report", banking_run, "--out", tmp_path, "--max-docs", "2", "--no-map-text")
    page_html = (tmp_path / "report.html").read_text()
    per_topic = [a.count('class="doc"') for a in page_html.split("<article")[1:]]
    assert max(per_topic) == 2 and len(per_topic) == len(topics_of(banking_run))
    assert report_data(page_html)["map"]["points"]["text"] is None
    markdown = (tmp_path / "report.md").read_text()
    # after the first screen, how it was made, the topics and the tree: one section per topic
    sections = markdown.split("\n## ")[4:]
    # example documents: a quoted line each (a line in italics under one is its topic mix)
    assert max(len(re.findall(r"\n> (?!\*)", s)) for s in sections) == 2
    assert "at most 2 example documents per topic" in markdown


def test_large_corpora_get_a_sampled_map_that_says_so(banking_run, tmp_path, monkeypatch):
    import labeler.views.charts

    monkeypatch.setattr(labeler.views.charts, "MAP_POINTS", 250)
    cli("report", banking_run, "--out", tmp_path)
    page_html = (tmp_path / "report.html").read_text()
    assert "Showing a random sample of 250 of 600 documents" in page_html
    points = report_data(page_html)["map"]["points"]
    assert len(points["x"]) == len(points["text"]) == 250 and len(set(points["id"])) == 250
    docs = pd.read_parquet(banking_run / "documents.parquet").set_index("doc_id")
    assert [docs.loc[i, "topic"] for i in points["id"]] == points["t"]


def test_report_errors_are_one_line(tmp_path, banking_run):
    result = cli("report", tmp_path / "missing", ok=False)
    assert result.exit_code == 2 and result.output.startswith("labeler: error: ")
    assert len(result.output.strip().splitlines()) == 1
    (tmp_path / "file").write_text("x")
    result = cli("report", banking_run, "--out", tmp_path / "file", ok=False)
    assert result.exit_code == 2 and "is a file" in result.output
