"""The named topic tree in report.html, in headless Chromium with the network blocked: a
collapsible tree of escaped names, the map switching layers (colours and names), the topic list
grouped by parent."""

from __future__ import annotations

import json
import shutil

from fakes import FakeChat
from test_report import HOSTILE_LABEL, MAP_NAMES, cli, visit

from labeler.api import label_run
from labeler.labels.labeling import LLMSettings
from labeler.run.db import RunDB


def test_named_tree_layer_switch_and_grouping(banking_run, chromium_browser, tmp_path):
    run = shutil.copytree(banking_run, tmp_path / "banking")
    settings = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake")
    label_run(run, settings, chat=FakeChat(), tree=True)
    tree = json.loads((run / "hierarchy.json").read_text())
    parents = sorted((n for n in tree["nodes"] if n["layer"] == 1), key=lambda n: -n["size"])
    assert len(parents) >= 2
    RunDB(run).add_node_label_version(parents[0]["key"], 1, HOSTILE_LABEL, source="review")
    cli("report", run)
    names = [HOSTILE_LABEL] + [n["label"] for n in parents[1:]]

    v = visit(chromium_browser, run / "report.html", "?map=svg")
    page = v.page
    # The collapsible tree: top layer open, every name shown as text (never markup).
    tops = page.locator("#tree details.node[data-layer='1']")
    assert tops.count() == len(parents)
    assert page.locator("#tree .node-name").all_inner_texts()[: len(names)] == names
    first = page.locator(f"#tree details[data-node='{parents[0]['id']}']")
    leaves = first.locator(".leaf a").all_inner_texts()
    assert len(leaves) == len(parents[0]["children"]) and first.get_attribute("open") is not None

    # The map: topic names first, then layer 1's names and as many colours as groups.
    topic_names = page.evaluate(MAP_NAMES)
    page.select_option("#map-layer", "1")
    page.wait_for_function("document.querySelector('#map-plot').dataset.layer === '1'")
    shown = page.evaluate(MAP_NAMES)
    assert shown != topic_names and len(shown) == len(names)
    for name in names:  # whole, wrapped onto lines; only a name past four lines ends in "…"
        assert name in shown or any(s.endswith("…") and name.startswith(s[:-1]) for s in shown)
    fills = page.evaluate(
        "new Set([...document.querySelectorAll('#map-plot .tracedocs .point')]"
        ".map(p => p.style.fill)).size"
    )
    outliers = any(t["is_outlier"] for t in json.loads((run / "topics.json").read_text()))
    assert fills == len(parents) + outliers

    # The topic list grouped by layer-1 parent: one header per group, largest first.
    page.select_option("#group-by", "1")
    headers = page.locator("#topic-table tr.group-row").all_inner_texts()
    assert [h.split(" · ")[0].strip() for h in headers[: len(names)]] == names
    assert page.evaluate("window.__pwned") is None
    v.assert_offline()
    page.close()
