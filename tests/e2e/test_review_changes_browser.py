"""The review app's notices, undo, previews, progress and layout in real headless Chromium
(issue 25), against a real server on 127.0.0.1 and a copy of the BANKING77 run; labels from the
in-process fake ChatModel, held at its answers where a test needs a long change."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from fakes import GatedChat
from review_server import TOKEN, ThreadServer

from labeler.labels.labeling import LLMSettings
from labeler.run.db import RunDB

FAKE = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake", concurrency=1)
SHOTS = Path(os.environ["LABELER_SHOTS"]) if os.environ.get("LABELER_SHOTS") else None


def sizes(run: Path) -> dict[int, int]:
    return {t["topic"]: t["size"] for t in json.loads((run / "topics.json").read_text())
            if t["topic"] >= 0}  # fmt: skip


def shot(page, name: str) -> None:
    if SHOTS is not None:  # LABELER_SHOTS=DIR keeps the screenshots
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


class Tab:
    """A tab that may only talk to the review server, and records script errors."""

    def __init__(self, browser, base: str, **context):
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.base = base
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def only_the_server(route):
            if route.request.url.startswith(base + "/"):
                route.continue_()
            else:
                self.foreign.append(route.request.url)
                route.abort()

        self.page.route("**/*", only_the_server)
        self.goto(f"/?token={TOKEN}")

    def goto(self, path: str):
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def close(self):
        assert self.foreign == [], self.foreign
        assert self.errors == [], self.errors
        self.context.close()


def click_until_the_job_shows(tab, chat, button: str, step: str) -> float:
    """Hold the LLM at its answer, click `button`, and wait for the job panel to show a step
    holding `step`: the seconds from the click."""
    chat.gate.clear()  # the LLM answers only when the test says so
    clicked = time.monotonic()
    tab.page.click(button)
    tab.page.wait_for_function(
        "step => !document.getElementById('job').hidden && "
        "document.getElementById('job-step').textContent.includes(step)",
        arg=step,
    )
    return time.monotonic() - clicked


def test_a_decision_shows_a_notice_whose_undo_puts_the_topic_back(run, chromium_browser):
    first, second = sorted(sizes(run))[:2]
    label = RunDB(run).current_label(first)["label"]
    with ThreadServer(run) as server:
        tab = Tab(chromium_browser, server.base)
        tab.goto(f"/topics/{first}")
        with tab.page.expect_navigation(url=server.base + f"/topics/{second}"):
            tab.page.keyboard.press("a")
        notice = tab.page.locator("#notice")
        assert notice.is_visible()
        assert tab.text("#notice-text") == f"Accepted topic {first} “{label}”."
        assert tab.page.locator("#notice-undo").is_visible()
        shot(tab.page, "undo-notice")
        assert RunDB(run).status_names()[first] == "accepted"
        with tab.page.expect_navigation(url=server.base + f"/topics/{first}"):
            tab.page.keyboard.press("u")
        assert tab.text("#status") == "unreviewed"
        assert tab.text("#notice-text").startswith(f"Undone: the accept of topic {first}")
        assert tab.page.locator("#notice-undo").is_hidden()  # nothing more to undo
        tab.page.click("#notice-close")
        assert tab.page.locator("#notice").is_hidden()
        tab.close()
    assert RunDB(run).status_names().get(first, "unreviewed") == "unreviewed"


def test_a_merge_is_previewed_shows_progress_at_once_and_can_be_undone(run, chromium_browser):
    chat = GatedChat()
    before = sizes(run)
    keep, drop = sorted(before)[:2]
    with ThreadServer(run, settings=FAKE, chat=chat) as server:
        tab = Tab(chromium_browser, server.base)
        tab.goto(f"/topics/{keep}")
        tab.page.select_option("#merge-other", str(drop))
        tab.page.click("#merge-button")
        preview = tab.page.locator("#preview")
        preview.wait_for(state="visible")
        assert preview.locator(".part").count() == 2
        together = tab.text("#preview .merged")
        assert f"{before[keep] + before[drop]} documents" in together
        assert preview.locator(".part").nth(1).locator("li").count() == 2  # two documents
        shot(tab.page, "merge-preview")

        first_update = click_until_the_job_shows(tab, chat, "#preview-go", "Step")
        print(f"\nseconds from the merge click to the first progress update: {first_update:.2f}")
        assert first_update < 3, first_update
        tab.page.wait_for_function(
            "() => document.getElementById('job-step').textContent.includes('labelling')"
        )
        step = tab.text("#job-step")
        assert "of 1" in step and "Step " in step
        assert tab.text("#job-title") == f"Merging topic {drop} into topic {keep}"
        shot(tab.page, "merge-progress")
        refused = server.review(sorted(before)[3], action="accept")  # another reviewer, now
        assert refused.status == 409 and "is running" in refused.json["error"]

        with tab.page.expect_navigation(url=server.base + f"/topics/{keep}"):
            chat.gate.set()
        assert tab.text("#notice-text").startswith(f"Merged topic {drop} into topic {keep}")
        assert drop not in sizes(run)
        with tab.page.expect_navigation():
            tab.page.click("#notice-undo")
        assert tab.text("#notice-text").startswith(f"Undone: merged {drop} into {keep}")
        tab.close()
    assert sizes(run) == before


def test_cancel_stops_a_change_and_leaves_the_topics_as_they_were(run, chromium_browser):
    chat = GatedChat()
    before = sizes(run)
    keep, drop = sorted(before)[:2]
    with ThreadServer(run, settings=FAKE, chat=chat) as server:
        tab = Tab(chromium_browser, server.base)
        tab.goto(f"/topics/{keep}")
        tab.page.select_option("#merge-other", str(drop))
        tab.page.click("#merge-button")
        tab.page.locator("#preview-go").wait_for(state="visible")
        chat.gate.clear()
        tab.page.click("#preview-go")
        tab.page.wait_for_function(
            "() => document.getElementById('job-step').textContent.includes('labelling')"
        )
        tab.page.click("#job-cancel")
        tab.page.wait_for_function(
            "() => document.getElementById('job-step').textContent.includes('cancelling')"
        )
        chat.gate.set()
        tab.page.wait_for_selector("#message.ok")
        assert "nothing was changed" in tab.text("#message")
        assert tab.page.locator("#job").is_hidden()
        assert not tab.page.locator("#accept").is_disabled()  # the page is usable again
        tab.close()
    assert sizes(run) == before


def test_a_split_preview_lets_the_reviewer_choose_the_parts(run, chromium_browser):
    counts = sizes(run)
    largest = max(counts, key=counts.get)
    with ThreadServer(run) as server:
        tab = Tab(chromium_browser, server.base)
        tab.goto(f"/topics/{largest}")
        clicked = time.monotonic()
        tab.page.keyboard.press("s")
        tab.page.wait_for_function(
            "() => document.getElementById('job-step').textContent.startsWith('Step')"
        )
        first_update = time.monotonic() - clicked
        print(f"\nseconds from the split click to the first progress update: {first_update:.2f}")
        assert first_update < 3, first_update
        tab.page.locator("#split-parts").wait_for(state="visible", timeout=120_000)
        options = tab.page.locator("#split-parts option").evaluate_all("os => os.map(o => o.value)")
        assert "2" in options and "3" in options
        tab.page.select_option("#split-parts", "3")
        cards = tab.page.locator("#split-preview-parts .part")
        assert cards.count() == 3
        shown = [int(cards.nth(i).inner_text().split("·")[1].split()[0]) for i in range(3)]
        assert sum(shown) == counts[largest] and shown == sorted(shown, reverse=True)
        assert tab.text("#preview-go") == "Split into 3 parts"
        label = tab.text("#split-parts option:checked")
        silhouette = float(label.split("silhouette")[1].split()[0])
        warning = tab.page.locator("#split-warning")
        assert warning.is_visible() == (silhouette < 0.06)
        shot(tab.page, "split-preview")
        tab.page.select_option("#split-parts", "2")
        assert cards.count() == 2
        with tab.page.expect_navigation(url=server.base + f"/topics/{largest}", timeout=120_000):
            tab.page.click("#preview-go")
        assert tab.text("#notice-text").startswith(f"Split topic {largest} into 2 parts")
        tab.close()
    assert len(sizes(run)) == len(counts) + 1


def test_the_topic_page_fits_a_phone_and_keeps_the_decisions_at_hand(run, chromium_browser):
    topic = sorted(sizes(run))[0]
    with ThreadServer(run) as server:
        phone = Tab(chromium_browser, server.base, viewport={"width": 390, "height": 844},
                    device_scale_factor=2, is_mobile=True, has_touch=True)  # fmt: skip
        for path in (f"/topics/{topic}", "/", "/tree"):
            phone.goto(path)
            width = phone.page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
        phone.goto(f"/topics/{topic}")
        shot(phone.page, "phone-topic")
        phone.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        accept = phone.page.locator("#accept")
        box = accept.bounding_box()
        assert accept.is_visible() and box["y"] >= 0 and box["y"] + box["height"] <= 844
        shot(phone.page, "phone-topic-scrolled")
        phone.close()

        desk = Tab(chromium_browser, server.base, viewport={"width": 1440, "height": 900})
        desk.goto(f"/topics/{topic}")
        actions = desk.page.locator("#actions").bounding_box()
        evidence = desk.page.locator(".evidence").bounding_box()
        assert actions["x"] >= evidence["x"] + evidence["width"] - 1  # beside, not below
        # Scrolled down the evidence (short of the layout's end, where sticky lets go).
        bottom = desk.page.locator(".topic-layout").bounding_box()
        desk.page.evaluate(f"window.scrollTo(0, {max(300, bottom['height'] - 900 - 60)})")
        assert desk.page.locator(".head").bounding_box()["y"] < -200  # the page did scroll
        accept = desk.page.locator("#actions").bounding_box()
        assert 0 <= accept["y"] < 900  # the decisions stayed in view (sticky)
        shot(desk.page, "desktop-topic")
        desk.close()


def test_the_tree_page_shows_a_saved_name_at_once(run, chromium_browser):
    with ThreadServer(run) as server:
        tab = Tab(chromium_browser, server.base)
        tab.goto("/tree")
        node = tab.page.locator("section.node").first
        node_id = node.get_attribute("data-node")
        node.locator("input[name=label]").fill("Card Problems")
        # The page sets its #node with history.replaceState, then reloads: expect_navigation
        # would resolve on the first (a same-document navigation) and read the old page.
        with tab.page.expect_event("load"):
            node.locator("button[value=edit]").click()
        assert tab.page.url.endswith(f"/tree#node-{node_id}")
        assert tab.text(f"#node-{node_id} h3").startswith("Card Problems")
        assert tab.text("#notice-text") == f"Saved the name of group {node_id}: “Card Problems”."
        assert "Saving" not in tab.text("#message")
        # Again on the same page, now already at its #node: a hash jump would not reload.
        node = tab.page.locator(f"#node-{node_id}")
        node.locator("input[name=label]").fill("Card Trouble")
        with tab.page.expect_navigation():
            node.locator("button[value=edit]").click()
        assert tab.text(f"#node-{node_id} h3").startswith("Card Trouble")
        with tab.page.expect_navigation():
            tab.page.click("#notice-undo")  # the name as it was before this edit
        assert tab.text(f"#node-{node_id} h3").startswith("Card Problems")
        assert (
            tab.text("#notice-text") == f"Undone: group {node_id} is named “Card Problems” again."
        )
        tab.close()


def test_the_outliers_form_offers_a_share_below_the_runs_own(run, chromium_browser):
    records = json.loads((run / "topics.json").read_text())
    outliers = next(t["size"] for t in records if t["topic"] == -1)
    share = 100 * outliers / sum(t["size"] for t in records)
    with ThreadServer(run) as server:
        tab = Tab(chromium_browser, server.base)
        tab.goto("/")
        form = tab.text("#outliers")
        assert "until there are at most" in form and "% outliers" in form and "--" not in form
        value = float(tab.page.input_value("#outlier-share"))
        assert 0 <= value < share
        tab.page.fill("#outlier-share", str(round(share + 1)))  # above the run's own share
        valid = "document.getElementById('outlier-share').checkValidity()"
        assert tab.page.evaluate(valid) is False  # the form refuses it before sending
        tab.page.fill("#outlier-share", str(value))
        assert tab.page.evaluate(valid) is True
        with tab.page.expect_navigation(timeout=120_000):
            tab.page.click("#outliers-button")
        assert tab.text("#notice-text").startswith("Reassigned ")
        assert tab.page.locator("#notice-undo").is_visible()
        tab.close()
    after = json.loads((run / "topics.json").read_text())
    left = next((t["size"] for t in after if t["topic"] == -1), 0)
    assert left <= value / 100 * sum(t["size"] for t in after) + 1e-9


def test_a_relabel_runs_as_a_job_with_progress_and_its_notice_undoes_it(run, chromium_browser):
    chat = GatedChat()
    topics = sorted(sizes(run))
    topic, other = topics[0], topics[1]
    before = RunDB(run).current_label(topic)["label"]
    with ThreadServer(run, settings=FAKE, chat=chat) as server:
        tab = Tab(chromium_browser, server.base)
        tab.goto(f"/topics/{topic}")
        tab.page.fill("#relabel-note", "Too broad: name the card problem")
        waited = click_until_the_job_shows(tab, chat, "#relabel-button", "asking the LLM")
        assert waited < 3  # the page follows the job at once
        assert tab.text("#job-title") == f"Relabelling topic {topic}"
        assert "0 of 1" in tab.text("#job-step")
        assert tab.page.locator("#job-cancel").is_visible()
        # Meanwhile another decision is answered at once (refused, with the reason), not held.
        asked = time.monotonic()
        refused = server.review(other, action="accept")
        assert time.monotonic() - asked < 3
        assert refused.status == 409 and "is running" in refused.json["error"]

        with tab.page.expect_navigation(url=server.base + f"/topics/{topic}"):
            chat.gate.set()
        after = RunDB(run).current_label(topic)["label"]
        assert after != before
        assert tab.text("#label") == after
        assert tab.text("#notice-text") == f"Relabelled topic {topic} “{after}”."
        with tab.page.expect_navigation():
            tab.page.click("#notice-undo")
        assert tab.text("#label") == before
        tab.close()
    assert RunDB(run).current_label(topic)["label"] == before
