"""The figures in headless Chromium with the network blocked: a `visualize_*` figure saved with
`write_html` opens from disk with no request and no error, and draws what it holds; the
report's corpus-wide charts, built by the same figure code, answer hover and clicks."""

from __future__ import annotations

from pathlib import Path

from test_report import not_blank, visit

from labeler import load_run

# A cell's centre on screen (an axis' _offset: where its domain starts, which a heatmap whose
# square cells shrink the domain moves in from the margin).
CELL = """([div, row, col]) => { const gd = document.getElementById(div), f = gd._fullLayout;
  const box = gd.getBoundingClientRect(), t = gd._fullData[0];
  return [box.x + f.xaxis._offset + f.xaxis.l2p(f.xaxis.d2l(t.x[col])),
          box.y + f.yaxis._offset + f.yaxis.l2p(f.yaxis.d2l(t.y[row]))]; }"""


def settle(page) -> None:
    """Wait until the page stops scrolling (a smooth scroll runs for a few hundred ms)."""
    page.wait_for_function(
        """() => new Promise(done => { let last = -1, same = 0;
             const tick = () => { same = scrollY === last ? same + 1 : 0; last = scrollY;
                                  same > 5 ? done(true) : requestAnimationFrame(tick); };
             tick(); })"""
    )


def open_offline(browser, path: Path):
    """A saved figure opened from disk: every request but the file itself aborted."""
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    url = path.resolve().as_uri()
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(
        "**/*", lambda route: route.continue_() if route.request.url == url else route.abort()
    )
    page.goto(url)
    page.wait_for_selector(".main-svg", timeout=30_000)
    return page, requests, errors, url


def test_saved_figures_open_offline_and_draw(banking_run, chromium_browser, tmp_path):
    model = load_run(banking_run)
    figures = {
        "documents": model.visualize_documents(),
        "topics": model.visualize_topics(),
        "hierarchy": model.visualize_hierarchy(),
        "heatmap": model.visualize_heatmap(),
        "barchart": model.visualize_barchart(),
    }
    for name, fig in figures.items():
        path = tmp_path / f"{name}.html"
        fig.write_html(path)
        page, requests, errors, url = open_offline(chromium_browser, path)
        assert requests == [url] and errors == [], name
        assert not_blank(page.locator(".js-plotly-plot").screenshot()), name
        if name == "documents":  # every document a dot (SVG under 3,000 points)
            assert page.locator(".scatterlayer .point").count() == len(model.documents_)
        if name == "topics":
            assert page.locator(".scatterlayer .point").count() == len(model.topic_ids_) - (
                -1 in model.topic_ids_
            )
        page.close()


def test_report_figures_hover_and_open_their_topic(reuters_run, chromium_browser):
    v = visit(chromium_browser, reuters_run / "report.html")
    page = v.page
    figures = page.evaluate("REPORT.figures")
    assert set(figures) == {"similarity", "hierarchy", "topics", "time", "classes"}
    for div, section, name in (
        ("similarity-plot", "similarity", "similarity"),
        ("class-plot", "per-class", "classes"),
    ):
        settle(page)  # the last click's smooth scroll to its topic must not move this cell
        page.evaluate(
            f"document.getElementById('{section}').scrollIntoView({{block: 'center', "
            "behavior: 'instant'})"
        )
        point = page.evaluate(CELL, [div, 1, 0])
        page.mouse.move(*point)
        page.wait_for_selector(f"#{div} .hoverlayer .hovertext")
        hover = page.text_content(f"#{div} .hoverlayer")
        assert ("similarity" if name == "similarity" else "% of the class") in hover
        page.mouse.click(*point)
        topic = figures[name]["data"][0]["meta"]["topics"][1]
        page.wait_for_selector(f"article#topic-{topic}.selected")
    v.assert_offline()
    page.close()
