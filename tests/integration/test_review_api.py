"""`labeler review`'s JSON API against a real server on 127.0.0.1, a real run (the BANKING77
slice) and its real run.sqlite; relabels go to the scripted stub LLM (tests/llm_stub.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from llm_stub import StubLLM, label_json, ok, topic_label
from review_server import TOKEN, ThreadServer, call

from labeler.api import label_run
from labeler.cli import main
from labeler.labels.labeling import LLMSettings
from labeler.review import flags as flagging
from labeler.run.db import RunDB


def reviews(run: Path, *columns: str) -> list[dict]:
    """The review log, oldest first (only these columns, if given)."""
    log = RunDB(run).reviews()
    return [{c: r[c] for c in columns} for r in log] if columns else log


def topics_json(run: Path) -> dict[int, dict]:
    return {t["topic"]: t for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0}


def topic_with(run: Path, *words: str) -> int:
    """The topic whose top keywords include all these words (the slice has six clear intents)."""
    for topic, record in topics_json(run).items():
        top = {w for w, _ in record["keywords"][:8]}
        if set(words) <= top:
            return topic
    raise AssertionError(f"no topic with keywords {words}")


def stub_settings(url: str) -> LLMSettings:
    return LLMSettings(base_url=url, model="stub", max_retries=1, timeout=10.0, concurrency=2)


# ------------------------------------------------------------------------------ reading
def test_topics_and_their_evidence(run):
    expected = topics_json(run)
    with ThreadServer(run) as server:
        listing = server.call("GET", "/api/topics")  # loopback: reading needs no token
        assert listing.status == 200
        body = listing.json
        assert body["progress"] == {
            "counts": {s: 0 for s in ("accepted", "edited", "rejected", "not_a_topic")}
            | {"unreviewed": len(expected)},
            "reviewed": 0,
            "total": len(expected),
        }
        listed = {t["id"]: t for t in body["topics"]}
        assert set(listed) == set(expected)  # outliers are not reviewed
        for topic, t in listed.items():
            assert t["label"] == expected[topic]["label"] and t["size"] == expected[topic]["size"]
            assert t["keywords"] == [w for w, _ in expected[topic]["keywords"]]
            assert t["status"] == "unreviewed" and t["summary"] is None
            # A --llm none run: every label is a keyword label, and flagged as one.
            assert "keyword-label" in [f["kind"] for f in t["flags"]]
        assert len(server.call("GET", "/api/topics?filter=unreviewed").json["topics"]) == len(
            expected
        )
        assert server.call("GET", "/api/topics?filter=nonsense").status == 400

        topic = next(iter(expected))
        detail = server.call("GET", f"/api/topics/{topic}").json
        assert detail["keyword_stages"]["ctfidf"] == expected[topic]["keywords"]
        assert detail["keyword_stages"]["mmr"] == expected[topic]["keywords_mmr"]
        assert [d["text"] for d in detail["representative_docs"]] == expected[topic][
            "representative_docs"
        ]
        docs = pd.read_parquet(run / "documents.parquet")
        members = set(docs.loc[docs["topic"] == topic, "doc_id"])
        sample = [d["doc_id"] for d in detail["sample_docs"]]
        assert sample and set(sample) <= members
        assert not set(sample) & set(expected[topic]["representative_doc_ids"])
        assert [(v["version"], v["source"], v["is_current"]) for v in detail["history"]] == [
            (1, "keywords", True)
        ]
        assert detail["audit"]["label"] == expected[topic]["label"]
        assert detail["reviews"] == []
        assert {n["id"] for n in detail["neighbours"]} <= set(expected) - {topic}
        assert server.call("GET", "/api/topics/999").status == 404


# ------------------------------------------------------------------------------ decisions
def test_decisions_are_recorded_with_before_and_after(run):
    ids = sorted(topics_json(run))
    edited, accepted, rejected, noted, not_topic = ids[:5]
    original = topics_json(run)
    with ThreadServer(run, reviewer="ana") as server:
        reply = server.review(edited, action="edit", label="Card Delivery Times",
                              summary="When a new card arrives.", note="clearer")  # fmt: skip
        assert reply.status == 200, reply.text
        assert reply.json["topic"]["label"] == "Card Delivery Times"
        assert reply.json["topic"]["status"] == "edited"
        assert server.review(accepted, action="accept", note="good as is").status == 200
        assert server.review(rejected, action="edit", label="Wrong Name").status == 200
        assert server.review(rejected, action="reject", note="back to keywords").status == 200
        assert server.review(noted, action="note", note="look at this later").status == 200
        assert server.review(not_topic, action="not_a_topic").status == 200

        unreviewed = server.call("GET", "/api/topics?filter=unreviewed").json["topics"]
        assert {t["id"] for t in unreviewed} == set(ids) - {edited, accepted, rejected, not_topic}
        assert len(server.call("GET", "/api/reviews").json["reviews"]) == 6
        detail = server.call("GET", f"/api/topics/{edited}").json
        assert [v["source"] for v in detail["history"]] == ["keywords", "review"]
        assert detail["reviews"][0]["note"] == "clearer"

    log = reviews(run)
    assert [(r["topic"], r["action"]) for r in log] == [
        (edited, "edit"), (accepted, "accept"), (rejected, "edit"), (rejected, "reject"),
        (noted, "note"), (not_topic, "not_a_topic"),
    ]  # fmt: skip
    first = log[0]
    assert first["label_before"] == original[edited]["label"]
    assert first["label_after"] == "Card Delivery Times"
    assert first["summary_before"] is None and first["summary_after"] == "When a new card arrives."
    assert first["reviewer"] == "ana" and first["created_at"]
    assert log[3]["label_before"] == "Wrong Name"
    assert log[3]["label_after"] == original[rejected]["label"]  # back to the keyword label
    status = RunDB(run).status_names()
    assert status == {edited: "edited", accepted: "accepted", rejected: "rejected",
                      not_topic: "not_a_topic"}  # fmt: skip
    current = RunDB(run).current_labels()
    assert current[edited]["source"] == "review" and current[edited]["version"] == 2
    assert current[rejected]["label"] == original[rejected]["label"]
    assert current[accepted]["version"] == 1  # accepting adds no version

    after = topics_json(run)
    assert after[edited]["label"] == "Card Delivery Times"
    assert after[edited]["review_status"] == "edited"
    assert after[not_topic]["review_status"] == "not_a_topic"
    # The reports were re-rendered (leaving the server waits for pending renders).
    assert "Card Delivery Times" in (run / "report.md").read_text()
    assert "Card Delivery Times" in (run / "report.html").read_text()


def test_bad_requests_change_nothing(run):
    topic = sorted(topics_json(run))[0]
    with ThreadServer(run) as server:
        path = f"/api/topics/{topic}/review"
        for body, status in [
            ({"action": "approve"}, 400),
            ({"action": "edit"}, 400),
            ({"action": "edit", "label": "   "}, 400),
            ({"action": "edit", "label": "x" * 121}, 400),
            ({"action": "edit", "label": topics_json(run)[topic]["label"]}, 400),  # no change
            ({"action": "note"}, 400),
            ({"action": "merge"}, 400),
            ({"action": "merge", "other": topic}, 400),
            ({"action": "merge", "other": 999}, 404),
            ({"action": "reject", "mode": "relabel", "note": "try again"}, 409),  # no LLM here
            ({"action": "accept", "extra": 1}, 400),
            ([1, 2], 400),
        ]:
            reply = server.call("POST", path, body, auth=True)
            assert reply.status == status, (body, reply.text)
            assert reply.json["error"]
        assert server.review(999, action="accept").status == 404
        assert server.call("POST", path, raw=b"{not json", auth=True,
                           headers={"Content-Type": "application/json"}).status == 400  # fmt: skip
        text = server.call("POST", path, raw=b'{"action": "accept"}', auth=True,
                           headers={"Content-Type": "text/plain"})  # fmt: skip
        assert text.status == 415
        huge = server.call("POST", path, {"action": "accept", "note": "x" * 100_000}, auth=True)
        assert huge.status == 413
        assert server.call("GET", path).status == 405
    assert reviews(run) == []
    assert RunDB(run).statuses() == {}


def test_requests_without_the_token_are_refused(run):
    topic = sorted(topics_json(run))[0]
    path = f"/api/topics/{topic}/review"
    with ThreadServer(run) as server:
        cookie = f"labeler_review_{server.port}={TOKEN}"
        refused = [
            (server.review(topic, auth=False, action="accept"), 401),
            (server.call("POST", path, {"action": "accept"},
                         headers={"Authorization": "Bearer wrong-token-0123456789"}), 401),
            (server.call("POST", path, {"action": "accept"}, headers={"Cookie": cookie}), 403),
            (server.call("POST", path, {"action": "accept"},
                         headers={"Cookie": cookie, "X-CSRF-Token": "guess"}), 403),
            (server.call("POST", path, {"action": "accept"}, auth=True,
                         headers={"Origin": "http://evil.example"}), 403),
            # DNS rebinding: a page on evil.example resolving to 127.0.0.1 reads nothing.
            (server.call("GET", "/api/topics", headers={"Host": "evil.example"}), 421),
        ]  # fmt: skip
        for reply, status in refused:
            assert reply.status == status, reply.text
        assert reviews(run) == []

        # The browser's way in: the printed URL swaps the token for a cookie, the page for the
        # CSRF token.
        landing = server.call("GET", f"/?token={TOKEN}&filter=flagged")
        assert landing.status == 303 and landing.headers["Location"] == "/?filter=flagged"
        set_cookie = landing.headers["Set-Cookie"]
        assert set_cookie.startswith(f"labeler_review_{server.port}={TOKEN}")
        assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie.replace(
            "Strict", "strict"
        )
        assert server.call("GET", "/?token=wrong").status == 401
        page = server.call("GET", f"/topics/{topic}", headers={"Cookie": cookie}).text
        csrf = re.search(r'"csrf": "([0-9a-f]+)"', page).group(1)
        accepted = server.call("POST", path, {"action": "accept"},
                               headers={"Cookie": cookie, "X-CSRF-Token": csrf})  # fmt: skip
        assert accepted.status == 200
        assert "content-security-policy" in {k.lower() for k in accepted.headers}
    assert [r["action"] for r in reviews(run)] == ["accept"]


def test_reading_needs_the_token_off_loopback(run):
    # As `labeler review --host 0.0.0.0` builds it (served on 127.0.0.1 here: tests stay local).
    with ThreadServer(run, loopback=False) as server:
        assert server.call("GET", "/api/topics").status == 401
        assert server.call("GET", "/").status == 401
        assert server.call("GET", "/static/review.js").status == 200  # no run data in it
        assert server.call("GET", "/api/topics", auth=True).status == 200
        # Any Host header is fine off loopback (the token is what guards it).
        named = server.call("GET", "/api/topics", auth=True, headers={"Host": "review.lan:8040"})
        assert named.status == 200


# ------------------------------------------------------------------------------ relabels
def test_relabel_keeps_edited_and_accepted_labels(run):
    ids = sorted(topics_json(run))
    edited, accepted = ids[0], ids[1]
    keyword_label = topics_json(run)[accepted]["label"]
    with ThreadServer(run) as server:
        assert server.review(edited, action="edit", label="Reviewed Name").status == 200
        assert server.review(accepted, action="accept").status == 200

    with StubLLM(lambda r, n: ok(label_json("Machine " + topic_label(r)))) as stub:
        args = ["relabel", str(run), "--llm-base-url", stub.base_url, "--llm-model", "stub"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert "kept 2 reviewed labels" in result.output
        after = topics_json(run)
        assert after[edited]["label"] == "Reviewed Name"
        assert after[edited]["review_status"] == "edited"
        assert after[accepted]["label"] == keyword_label
        assert all(after[t]["label"].startswith("Machine ") for t in ids[2:])
        assert "Reviewed Name" in (run / "report.md").read_text()

        forced = CliRunner().invoke(main, [*args, "--force", "--topics", str(edited)])
        assert forced.exit_code == 0, forced.output
    assert topics_json(run)[edited]["label"].startswith("Machine ")


def test_reject_with_a_note_and_merge_ask_the_llm(run):
    def script(request, n):
        text = "\n".join(m["content"] for m in request["messages"])
        prefix = "Better" if "rejected the label" in text else "Machine"
        return ok(label_json(f"{prefix} {topic_label(request)}"))

    card = topic_with(run, "card")
    with StubLLM(script) as stub:
        settings = stub_settings(stub.base_url)
        label_run(run, settings)  # LLM labels first, as `labeler run` makes them
        before = topics_json(run)
        with ThreadServer(run, settings=settings) as server:
            audit = server.call("GET", f"/api/topics/{card}").json["audit"]
            assert audit["source"] == "llm" and audit["model"]
            assert [m["role"] for m in audit["request"]] == ["system", "user"]
            assert json.loads(audit["raw_answer"])["label"] == before[card]["label"]

            asked = len(stub.requests)
            reply = server.review(card, action="reject", mode="relabel",
                                  note="say which card problem")  # fmt: skip
            assert reply.status == 200, reply.text
            sent = "\n".join(m["content"] for m in stub.requests[asked]["messages"])
            assert "say which card problem" in sent and before[card]["label"] in sent
            assert reply.json["topic"]["label"].startswith("Better ")
            assert reply.json["topic"]["status"] == "unreviewed"  # the new label awaits a look
            assert reply.json["review"]["label_before"] == before[card]["label"]
            assert reply.json["review"]["note"] == "say which card problem"

            keep, drop = sorted(t for t in before if t != card)[:2]
            asked = len(stub.requests)
            merged = server.review(keep, action="merge", other=drop)
            assert merged.status == 200, merged.text
            assert len(stub.requests) > asked  # the merged topic was labelled again
            detail = server.call("GET", f"/api/topics/{keep}").json
            assert detail["size"] == before[keep]["size"] + before[drop]["size"]
            assert [v["source"] for v in detail["history"]][-2:] == ["keywords", "llm"]
            assert server.call("GET", f"/api/topics/{drop}").status == 404
    log = reviews(run, "topic", "action")
    assert log == [
        {"topic": card, "action": "reject"},
        {"topic": drop, "action": "merge"},
        {"topic": keep, "action": "merge"},
    ]


def test_merge_recomputes_the_kept_topic(run):
    before = topics_json(run)
    keep, drop = sorted(before)[:2]
    with ThreadServer(run) as server:
        reply = server.review(keep, action="merge", other=drop, note="same intent")
        assert reply.status == 200, reply.text
    after = topics_json(run)
    assert drop not in after and set(after) == set(before) - {drop}
    record = after[keep]
    assert record["size"] == before[keep]["size"] + before[drop]["size"]
    docs = pd.read_parquet(run / "documents.parquet")
    assert (docs["topic"] == drop).sum() == 0 and (docs["topic"] == keep).sum() == record["size"]
    members = set(docs.loc[docs["topic"] == keep, "doc_id"])
    assert set(record["representative_doc_ids"]) <= members
    assert set(docs.loc[docs["representative"], "doc_id"]) >= set(record["representative_doc_ids"])
    assert record["keywords"] != before[keep]["keywords"]  # refitted over both topics' documents
    assert record["keywords_keybert"] and record["keywords_mmr"]
    assert record["label"].startswith(f"{keep}_") and record["label_source"] == "keywords"
    assert record["review_status"] == "unreviewed"
    for other in set(after) - {keep}:  # nobody else's description moves under a reviewed label
        assert after[other]["keywords"] == before[other]["keywords"]
    log = reviews(run)
    assert [(r["topic"], r["action"]) for r in log] == [(drop, "merge"), (keep, "merge")]
    assert "same intent" in log[1]["note"] and str(drop) in log[1]["note"]
    # The run stays a valid run: reports render and it loads as a model.
    assert CliRunner().invoke(main, ["report", str(run)]).exit_code == 0
    from labeler import load_run

    model = load_run(run)
    assert drop not in model.topic_ids_ and model.topic_sizes_[keep] == record["size"]


# ------------------------------------------------------------------------------ flags
def test_flags_point_at_duplicate_and_misplaced_labels(run):
    exchange = topic_with(run, "exchange")
    card = topic_with(run, "card", "arrive")
    others = sorted(set(topics_json(run)) - {exchange, card})
    with ThreadServer(run) as server:
        assert (
            server.review(card, action="edit", label="Exchange Rates For Currencies").status == 200
        )
        assert server.review(others[0], action="edit", label="Cash Withdrawal Fees").status == 200
        assert server.review(others[1], action="edit", label="cash withdrawal fee").status == 200
        flags = {t["id"]: t["flags"] for t in server.call("GET", "/api/topics").json["topics"]}
    misfit = [f for f in flags[card] if f["kind"] == "fits-other-topic"]
    assert misfit and misfit[0]["topics"] == [exchange]
    for a, b in ((others[0], others[1]), (others[1], others[0])):
        duplicate = [f for f in flags[a] if f["kind"] == "duplicate-label"]
        assert duplicate and b in duplicate[0]["topics"]
    assert "keyword-label" not in [f["kind"] for f in flags[card]]  # edited: not a keyword label


def test_size_and_near_duplicate_document_flags():
    sizes = {0: 100, 1: 110, 2: 90, 3: 20, 4: 400, -1: 5000}
    flags = flagging.size_flags(sizes)
    assert {t: [f.kind for f in fs] for t, fs in flags.items()} == {3: ["small"], 4: ["large"]}

    rng = np.random.default_rng(0)
    template = rng.normal(size=32)
    copies = template + rng.normal(scale=0.01, size=(30, 32))  # a bot's messages
    varied = rng.normal(size=(30, 32))
    vectors = np.vstack([copies, varied]).astype(np.float32)
    topics = np.array([0] * 30 + [1] * 30)
    flags = flagging.duplicate_document_flags(vectors, topics)
    assert list(flags) == [0] and flags[0][0].kind == "near-duplicate-documents"


# ------------------------------------------------------------------------------ the command
@pytest.mark.slow  # a real server process, killed with SIGKILL
def test_review_command_prints_the_url_first_and_a_kill_loses_nothing(run):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-m", "labeler", "review", str(run), "--port", "0", "--llm", "none",
            "--reviewer", "ben", "-q"]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        first = process.stdout.readline().decode().strip()
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=([\w-]{32,})", first)
        assert match, first
        base, token = f"http://127.0.0.1:{match.group(1)}", match.group(2)
        topic = sorted(topics_json(run))[0]
        auth = {"Authorization": f"Bearer {token}"}
        path = f"{base}/api/topics/{topic}/review"
        reply = call("POST", path, {"action": "edit", "label": "Kept Name"}, headers=auth)
        assert reply.status == 200, reply.text
        assert call("POST", path, {"action": "accept"}, headers=auth).status == 200
        process.send_signal(signal.SIGKILL)  # no shutdown of any kind
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
        process.stdout.close()
        process.stderr.close()
    log = reviews(run, "action", "label_after", "reviewer")
    assert log == [
        {"action": "edit", "label_after": "Kept Name", "reviewer": "ben"},
        {"action": "accept", "label_after": "Kept Name", "reviewer": "ben"},
    ]
    assert list(RunDB(run).status_names().values()) == ["accepted"]
    current = [{"label": RunDB(run).current_label(topic)["label"]}]
    assert current == [{"label": "Kept Name"}]
    # What a kill can leave stale (derived files) is rebuilt from the database.
    assert CliRunner().invoke(main, ["report", str(run)]).exit_code == 0
    assert "Kept Name" in (run / "report.md").read_text()


def test_review_command_errors_are_one_line(run, tmp_path):
    missing = CliRunner().invoke(main, ["review", str(tmp_path / "nope"), "--llm", "none"])
    assert missing.exit_code == 2 and "labeler: error:" in missing.output
    with ThreadServer(run) as server:
        busy = CliRunner().invoke(
            main, ["review", str(run), "--port", str(server.port), "--llm", "none"]
        )
    assert busy.exit_code == 2 and "--port" in busy.output
