"""The review pages in real headless Chromium (Debian's, driven by Playwright) against a real
server on 127.0.0.1: a reviewer works with the keyboard, the decisions persist across reloads,
restarts and `labeler relabel`, and hostile text stays text. Every request the page makes is
checked to stay on the review server."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from llm_stub import StubLLM, label_json, ok, topic_label
from review_server import TOKEN, ThreadServer

from labeler.cli import main
from labeler.run.folder import Run

HOSTILE_DOC = (
    "Card <b>never</b> came</script><script>window.__pwned = 1</script> "
    '<img src=x onerror="window.__pwned = 2"> {{ 7*7 }} ${7*7}'
)
HOSTILE_LABEL = '<img src=x onerror="window.__pwned = 3">Label'
HOSTILE_SUMMARY = "</script><script>window.__pwned = 4</script> & more"
HOSTILE_ANSWER = '{"label": "<svg onload=\\"window.__pwned = 5\\">", "summary": "x"}'


def topics_json(run: Path) -> dict[int, dict]:
    return {t["topic"]: t for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0}


def statuses(run: Path) -> dict[int, str]:
    return Run(run).db.status_names()


class Tab:
    """A browser tab that may only talk to the review server, and records what went wrong."""

    def __init__(self, browser, base: str):
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.base = base
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: d.accept())

        def only_the_server(route):
            if route.request.url.startswith(base + "/"):
                route.continue_()
            else:
                self.foreign.append(route.request.url)
                route.abort()

        self.page.route("**/*", only_the_server)

    def goto(self, path: str):
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")

    def press(self, key: str, then_url: str | None = None):
        if then_url is None:
            self.page.keyboard.press(key)
            return
        with self.page.expect_navigation(url=self.base + then_url):
            self.page.keyboard.press(key)

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def close(self):
        assert self.foreign == [], self.foreign  # offline: nothing but the review server
        assert self.errors == [], self.errors
        self.context.close()


def test_review_with_the_keyboard_survives_reload_restart_and_relabel(run, chromium_browser):
    ids = sorted(topics_json(run))
    first, second, third = ids[:3]
    with ThreadServer(run) as server:
        tab = Tab(chromium_browser, server.base)
        tab.goto(f"/?token={TOKEN}")
        assert tab.page.url == server.base + "/"  # the token left the address bar at once
        cookie = next(c for c in tab.context.cookies() if c["name"].startswith("labeler_review"))
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert tab.page.locator("#read-only").count() == 0

        tab.press("2", "/?filter=unreviewed")
        assert tab.page.locator("#topics tbody tr").count() == len(ids)
        tab.press("j")
        tab.press("Enter", f"/topics/{first}?filter=unreviewed")

        tab.press("e")  # edit: the label field, selected, so typing replaces it
        tab.page.keyboard.type("Card Arrival Questions")
        tab.page.fill("#edit-summary", "People asking when their new card arrives.")
        tab.page.focus("#edit-label")
        tab.press("Control+Enter", f"/topics/{second}?filter=unreviewed")  # saved, moved on
        tab.press("a", f"/topics/{third}?filter=unreviewed")  # accepted, moved on

        # Both left the "unreviewed" filter; in "all" they are where they were.
        assert tab.page.locator("#prev").count() == 0
        tab.press("1", "/")
        tab.press("j")
        tab.press("j")
        tab.press("Enter", f"/topics/{second}")
        assert tab.text("#status") == "accepted"
        tab.press("k", f"/topics/{first}")
        tab.page.reload()
        assert tab.text("#label") == "Card Arrival Questions"
        assert tab.text("#summary") == "People asking when their new card arrives."
        assert tab.text("#status") == "edited"
        assert "edit" in tab.text("#reviews")

        tab.press("2", "/?filter=unreviewed")
        listed = tab.page.locator("#topics tbody tr").evaluate_all(
            "rows => rows.map(r => Number(r.dataset.topic))"
        )
        assert first not in listed and second not in listed and third in listed
        assert tab.text("#progress-text") == f"2 of {len(ids)} reviewed"
        tab.close()
    assert statuses(run) == {first: "edited", second: "accepted"}

    # A relabel afterwards keeps the reviewed labels; the report shows them.
    with StubLLM(lambda r, n: ok(label_json("Machine " + topic_label(r)))) as stub:
        args = ["relabel", str(run), "--llm-base-url", stub.base_url, "--llm-model", "stub"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    assert "Card Arrival Questions" in (run / "report.md").read_text()

    # A fresh server (a new token) shows the same decisions.
    with ThreadServer(run, token="another-token-0123456789-abcdef") as server:
        tab = Tab(chromium_browser, server.base)
        tab.goto("/?token=another-token-0123456789-abcdef")
        tab.goto(f"/topics/{first}")
        assert tab.text("#label") == "Card Arrival Questions"
        assert tab.text("#status") == "edited"
        tab.goto(f"/topics/{third}")
        assert tab.text("#label").startswith("Machine ")  # not reviewed: relabelled
        tab.close()


def test_without_the_token_the_pages_are_read_only(run, chromium_browser):
    topic = sorted(topics_json(run))[0]
    with ThreadServer(run) as server:
        tab = Tab(chromium_browser, server.base)
        tab.goto(f"/topics/{topic}")  # loopback: reading works without the token
        assert tab.page.locator("#read-only").is_visible()
        tab.press("a")
        tab.page.wait_for_selector("#message.error")
        assert "Read-only" in tab.text("#message")
        # Even a script on the page cannot change anything without the token.
        status = tab.page.evaluate(
            """async (topic) => (await fetch(`/api/topics/${topic}/review`, {
                method: "POST", headers: {"Content-Type": "application/json"},
                body: JSON.stringify({action: "accept"})})).status""",
            topic,
        )
        assert status == 401
        tab.goto(f"/?token={TOKEN}x")
        assert "token is wrong" in tab.text("main")
        tab.close()
    assert statuses(run) == {}


def test_hostile_documents_and_labels_render_as_text(run, chromium_browser):
    topic = sorted(topics_json(run))[0]
    records = json.loads((run / "topics.json").read_text())
    record = next(r for r in records if r["topic"] == topic)
    record["representative_docs"][0] = HOSTILE_DOC
    (run / "topics.json").write_text(json.dumps(records))
    docs = pd.read_parquet(run / "documents.parquet")
    docs.loc[docs["topic"] == topic, "text"] = HOSTILE_DOC  # also in the random sample
    docs.to_parquet(run / "documents.parquet", index=False)
    messages = [{"role": "user", "content": HOSTILE_DOC}]  # an LLM answer that tries markup
    Run(run).db.add_label_version(
        topic, "Llm Label", summary="s", source="llm", model="stub",
        request=json.dumps(messages), raw_answer=HOSTILE_ANSWER,
    )  # fmt: skip
    Run(run).refresh()

    with ThreadServer(run) as server:
        tab = Tab(chromium_browser, server.base)
        tab.goto(f"/?token={TOKEN}")
        tab.goto(f"/topics/{topic}")
        tab.page.click("#audit summary")  # the prompt and raw answer behind the LLM's label
        assert tab.text("#raw-answer") == HOSTILE_ANSWER
        assert HOSTILE_DOC in tab.text("#audit")
        assert tab.page.locator("svg, img").count() == 0
        assert server.review(topic, action="edit", label=HOSTILE_LABEL,
                             summary=HOSTILE_SUMMARY, note=HOSTILE_DOC).status == 200  # fmt: skip
        tab.page.reload()
        assert tab.text("#label") == HOSTILE_LABEL
        assert tab.text("#summary") == HOSTILE_SUMMARY
        assert tab.page.input_value("#edit-label") == HOSTILE_LABEL
        assert HOSTILE_DOC in tab.text("#representative-docs")
        assert HOSTILE_DOC in tab.text("#sample-docs")
        assert HOSTILE_DOC in tab.text("#reviews")
        assert "Llm Label" in tab.text("#history")  # the LLM's version, now superseded
        tab.goto("/")
        assert HOSTILE_LABEL in tab.text("#topics")
        for path in (f"/topics/{topic}", "/"):
            tab.goto(path)
            assert tab.page.evaluate("window.__pwned") is None
            assert tab.page.locator("img, svg, b").count() == 0
            assert tab.page.locator("script").count() == 2  # review.js and the JSON data
        tab.close()
