"""The review app's changes as jobs, their previews and undo (issue 25), against a real server
on 127.0.0.1 and a copy of the BANKING77 run; labels from the in-process fake ChatModel."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from conftest import run_files_hashes as hashes
from fakes import FakeChat, GatedChat
from review_server import ThreadServer

from labeler.api import label_run
from labeler.cluster import SPLIT_SILHOUETTE
from labeler.labels.distinct import normalise
from labeler.labels.labeling import LLMSettings
from labeler.run.db import RunDB

FAKE = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake", concurrency=1)


def sizes(run: Path) -> dict[int, int]:
    return {t["topic"]: t["size"] for t in json.loads((run / "topics.json").read_text())
            if t["topic"] >= 0}  # fmt: skip


def wait_job(server, job: dict, until=lambda j: j["state"] != "running", timeout=120) -> dict:
    deadline = time.monotonic() + timeout
    while not until(job):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
        job = server.call("GET", f"/api/jobs/{job['id']}").json["job"]
    return job


def cancelled(server, chat, topic: int, decision: dict) -> dict:
    """Start `decision` as a job, cancel it while the LLM is held at its answer, let the LLM go:
    the finished job, which must say it was cancelled and changed nothing."""
    chat.gate.clear()
    chat.waiting.clear()
    reply = server.call("POST", f"/api/topics/{topic}/review?async=1", decision, auth=True)
    job = reply.json["job"]
    assert chat.waiting.wait(60)  # the job is at the LLM (a change: its revision is written)
    cancel = server.call("POST", f"/api/jobs/{job['id']}/cancel", {}, auth=True)
    assert cancel.status == 200 and cancel.json["job"]["cancel_asked"]
    chat.gate.set()
    job = wait_job(server, job)
    assert job["state"] == "cancelled", job
    assert "nothing was changed" in job["result"]["message"]
    return job


def test_every_decision_and_change_can_be_undone(run):
    ids = sorted(sizes(run))
    db = RunDB(run)
    before_docs, before_sizes = hashes(run)["documents.parquet"], sizes(run)
    with ThreadServer(run) as server:
        label = db.current_label(ids[1])["label"]
        accepted = server.review(ids[0], action="accept").json
        assert accepted["undo"] == {"review": accepted["review"]["id"]}
        edited = server.review(ids[1], action="edit", label="Wrong Name").json
        assert db.current_label(ids[1])["label"] == "Wrong Name"

        reply = server.call("POST", "/api/undo", edited["undo"], auth=True)
        assert reply.status == 200, reply.text
        assert reply.json["undone"]["topic"] == ids[1]
        assert db.current_label(ids[1])["label"] == label
        assert db.status_names().get(ids[1], "unreviewed") == "unreviewed"
        again = server.call("POST", "/api/undo", edited["undo"], auth=True)
        assert again.status == 404  # undone once

        server.review(ids[0], action="note", note="later")  # a later decision on the topic
        stale = server.call("POST", "/api/undo", accepted["undo"], auth=True)
        assert stale.status == 409 and "later decision" in stale.json["error"]

        merged = server.review(ids[2], action="merge", other=ids[3])
        assert merged.status == 200, merged.text
        undo = merged.json["undo"]
        assert set(undo) == {"revision"} and ids[3] not in sizes(run)
        reply = server.call("POST", "/api/undo", undo, auth=True)
        assert reply.status == 200, reply.text
        assert ids[3] in sizes(run)
        for bad in ({}, {"review": "1"}, {"review": 1, "revision": 1}, {"revision": True}):
            assert server.call("POST", "/api/undo", bad, auth=True).status == 400
    # the merge is taken back byte for byte (topics.json carries the accept, which stands)
    assert hashes(run)["documents.parquet"] == before_docs and sizes(run) == before_sizes
    log = [(r["topic"], r["action"]) for r in db.reviews()]
    assert (ids[1], "undo") in log and (ids[1], "edit") in log  # the log keeps both


def test_a_change_runs_in_the_background_and_decisions_meanwhile_are_answered_at_once(run):
    chat = GatedChat()
    label_run(run, FAKE, chat=chat, tree=True)  # LLM labels and named groups, as a run has
    ids = sorted(sizes(run))
    keep, drop, other = ids[-2], ids[-1], ids[0]
    with ThreadServer(run, settings=FAKE, chat=chat) as server:
        chat.gate.clear()
        chat.waiting.clear()
        started = time.monotonic()
        reply = server.call("POST", f"/api/topics/{keep}/review?async=1",
                            {"action": "merge", "other": drop}, auth=True)  # fmt: skip
        assert reply.status == 202, reply.text
        assert time.monotonic() - started < 2  # answered at once, the work goes on
        job = reply.json["job"]
        assert job["state"] == "running" and job["steps"] >= 4
        assert chat.waiting.wait(60)  # now asking the LLM, held there
        job = wait_job(server, job, lambda j: j["step_name"].startswith("labelling"))
        assert job["total"] == 1 and job["elapsed"] >= 0
        assert server.call("GET", "/api/jobs").json["job"]["id"] == job["id"]

        asked = time.monotonic()
        refused = server.review(other, action="accept")
        assert time.monotonic() - asked < 2
        assert refused.status == 409
        assert re.search(r"Merging topic \d+ into topic \d+ is running \(step \d of \d", 
                         refused.json["error"])  # fmt: skip
        assert "send this one again" in refused.json["error"]
        chat.gate.set()
        job = wait_job(server, job)
        assert job["state"] == "done", job
        assert job["result"]["undo"] == {"revision": job["result"]["revision"]}
        assert "naming the changed groups of the topic tree" in job["step_names"]
        assert server.review(other, action="accept").status == 200
    db = RunDB(run)
    labels = db.current_labels()
    assert labels[keep]["source"] in ("llm", "keywords")
    others = {normalise(r["label"]) for t, r in labels.items() if t not in (keep, -1)}
    assert normalise(labels[keep]["label"]) not in others  # never a copy of another's label
    tree = json.loads((run / "hierarchy.json").read_text())
    parents = [n for n in tree["nodes"] if n["layer"] > 0]
    assert parents and all(n.get("label_source") not in ("keywords",) for n in parents), [
        (n["label"], n.get("label_source")) for n in parents
    ]


def test_a_cancelled_change_leaves_nothing_behind(run):
    chat = GatedChat()
    ids = sorted(sizes(run))
    before = hashes(run)
    with ThreadServer(run, settings=FAKE, chat=chat) as server:
        cancelled(server, chat, ids[0], {"action": "merge", "other": ids[1]})
        assert hashes(run) == before
        assert server.review(ids[0], action="accept").status == 200  # the run is free again
    assert [r for r in RunDB(run).revisions() if not r["undone_at"]] == []


def test_a_split_is_previewed_and_made_with_the_chosen_number_of_parts(run):
    sizes_before = sizes(run)
    largest = max(sizes_before, key=sizes_before.get)
    total = sizes_before[largest]
    with ThreadServer(run) as server:
        assert server.review(largest, action="accept").status == 200
        reply = server.call("POST", f"/api/topics/{largest}/split-preview", {}, auth=True)
        assert reply.status == 202, reply.text
        job = wait_job(server, reply.json["job"])
        assert job["state"] == "done", job
        preview = job["result"]
        assert preview["threshold"] == SPLIT_SILHOUETTE and preview["size"] == total
        options = {o["parts_count"]: o for o in preview["options"]}
        assert preview["best"] in options and 2 in options
        for k, option in options.items():
            assert len(option["parts"]) == k
            assert sum(p["size"] for p in option["parts"]) == total
            assert [p["size"] for p in option["parts"]] == sorted(
                (p["size"] for p in option["parts"]), reverse=True)  # fmt: skip
            assert all(p["keywords"] and len(p["documents"]) == 2 for p in option["parts"])
            assert option["one_theme"] == (option["silhouette"] < SPLIT_SILHOUETTE)
        chosen = options[2]["parts"]

        split = server.review(largest, action="split", parts=2)
        assert split.status == 200, split.text
        bad = server.review(largest, action="split", parts=9)
        assert bad.status == 400 and "from 2 to 8" in bad.json["error"]
    after = sizes(run)
    assert after[largest] == chosen[0]["size"]  # the largest part keeps the id
    assert len(after) == len(sizes_before) + 1
    db = RunDB(run)
    log = db.reviews()
    split_rows = [r for r in log if r["action"] == "split"]
    assert len(split_rows) == 2  # the kept topic and its one new part
    for row in split_rows:
        assert "was accepted as" in row["note"]  # the earlier accept is said, not dropped
        assert db.status_names()[row["topic"]] == "unreviewed"
    assert sorted(after[r["topic"]] for r in split_rows) == sorted(p["size"] for p in chosen)


def test_the_outliers_form_speaks_in_percent_and_names_no_flag(run):
    counts = json.loads((run / "topics.json").read_text())
    outliers = next((t["size"] for t in counts if t["topic"] == -1), 0)
    documents = sum(t["size"] for t in counts)
    share = 100 * outliers / documents
    assert share > 0.5, share
    with ThreadServer(run) as server:
        page = server.call("GET", "/", auth=True).text
        assert "at most" in page and "% outliers" in page
        value = float(re.search(r'id="outlier-share"[^>]*value="([\d.]+)"', page).group(1))
        assert 0 <= value < share and value == pytest.approx(share / 2, abs=1.0)
        for body in ({"max_share": round(share / 100 + 0.01, 3)},
                     {"strategy": "probabilities"}, {"strategy": "magic"}):  # fmt: skip
            reply = server.call("POST", "/api/outliers", body, auth=True)
            assert reply.status == 400, reply.text
            assert "--" not in reply.json["error"], reply.json["error"]
        too_high = {"max_share": round(share / 100 + 0.01, 3)}
        refused = server.call("POST", "/api/outliers", too_high, auth=True).json["error"]
        assert refused.startswith("at most") and "already has" in refused


def test_previews_jobs_and_undo_work_on_the_0_1_0_run(tmp_path):
    """The 0.1.0 fixture (no mix columns, an old schema upgraded on open): split preview, the
    split as a job, its undo, and a decision's undo."""
    fixture = Path(__file__).resolve().parents[1] / "data" / "run-0.1.0"
    run = Path(shutil.copytree(fixture, tmp_path / "run"))
    before = sizes(run)
    largest = max(before, key=before.get)
    with ThreadServer(run, embed=lambda texts: None) as server:
        reply = server.call("POST", f"/api/topics/{largest}/split-preview", {}, auth=True)
        job = wait_job(server, reply.json["job"])
        assert job["state"] == "done", job
        k = job["result"]["best"]
        reply = server.call("POST", f"/api/topics/{largest}/review?async=1",
                            {"action": "split", "parts": k}, auth=True)  # fmt: skip
        job = wait_job(server, reply.json["job"])
        assert job["state"] == "done", job
        assert len(sizes(run)) == len(before) + k - 1
        assert server.call("POST", "/api/undo", job["result"]["undo"], auth=True).status == 200
        assert sizes(run) == before
        other = next(t for t in sorted(before) if t != largest)
        merge = server.call("GET", f"/api/topics/{largest}/merge-preview?other={other}").json
        assert merge["merged"]["size"] == before[largest] + before[other]
        was = RunDB(run).statuses().get(other)
        accepted = server.review(other, action="accept").json
        assert RunDB(run).status_names()[other] == "accepted"
        assert server.call("POST", "/api/undo", accepted["undo"], auth=True).status == 200
    assert RunDB(run).statuses().get(other) == was  # the 0.1.0 review as it was, to the second


class CopyingChat(FakeChat):
    """The fake model, except that it names every topic `name` (and insists when asked again)."""

    def __init__(self, name: str):
        super().__init__(identity="copying-chat")
        self.name = name

    def chat(self, messages, **options):
        from labeler.llm.client import ChatResult

        summary = "Customers asking about their cards and what to do about them."
        return ChatResult(json.dumps({"label": self.name, "summary": summary}), 40, 12)


def test_a_merged_topic_never_shows_a_copy_of_another_topics_label(run):
    ids = sorted(sizes(run))
    keep, drop, bystander = ids[0], ids[1], ids[2]
    RunDB(run).add_label_version(bystander, "Card Questions", summary="s", source="llm")
    taken = "card questions"  # asked to name the merged topic, the model copies it
    with ThreadServer(run, settings=FAKE, chat=CopyingChat(taken)) as server:
        assert server.review(keep, action="merge", other=drop).status == 200
    current = RunDB(run).current_label(keep)
    assert normalise(current["label"]) != normalise(taken)
    # the label step's own checks or the review app's copied-label guard: keyword label, flagged
    assert current["source"] == "keywords" and json.loads(current["flags"])
    assert RunDB(run).current_label(bystander)["label"] == "Card Questions"  # keeps its own


# ------------------------------------------------------------------ undo after a restart
def test_undo_works_after_the_review_server_restarts_and_only_once(run):
    """Undo is kept in run.sqlite: a notice shown before `labeler review` restarted still
    undoes its decision (a new app and server on the same run), and a token works once."""
    ids = sorted(sizes(run))
    db = RunDB(run)
    label = db.current_label(ids[1])["label"]
    with ThreadServer(run) as server:
        accepted = server.review(ids[0], action="accept").json["undo"]
        edited = server.review(ids[1], action="edit", label="Wrong Name").json["undo"]
        tree = server.call("GET", "/api/tree").json
        node = next(n for n in tree["nodes"] if n["layer"] > 0)
        named = server.call("POST", f"/api/nodes/{node['id']}/review",
                            {"action": "edit", "label": "Wrong Group"}, auth=True)  # fmt: skip
        assert named.status == 200, named.text
        name_undo = named.json["node"]["undo"]
    assert db.current_label(ids[1])["label"] == "Wrong Name"

    with ThreadServer(run) as server:  # restarted: nothing of the first one in memory
        reply = server.call("POST", "/api/undo", edited, auth=True)
        assert reply.status == 200, reply.text
        assert reply.json["undone"] == {"review": edited["review"], "topic": ids[1],
                                        "action": "edit", "label": label}  # fmt: skip
        assert db.current_label(ids[1])["label"] == label
        assert db.status_names().get(ids[1], "unreviewed") == "unreviewed"
        again = server.call("POST", "/api/undo", edited, auth=True)
        assert again.status == 404 and "undone already" in again.json["error"]

        reply = server.call("POST", "/api/undo", accepted, auth=True)
        assert reply.status == 200, reply.text
        assert db.status_names().get(ids[0], "unreviewed") == "unreviewed"

        reply = server.call("POST", "/api/undo", name_undo, auth=True)
        assert reply.status == 200, reply.text
        assert reply.json["undone"]["node"] == node["id"]
        assert reply.json["undone"]["label"] != "Wrong Group"
        current = server.call("GET", "/api/tree").json
        assert next(n for n in current["nodes"] if n["id"] == node["id"])["label"] == node["label"]
        assert server.call("POST", "/api/undo", name_undo, auth=True).status == 404
        unknown = server.call("POST", "/api/undo", {"review": 10_000}, auth=True)
        assert unknown.status == 404 and "no undo was recorded" in unknown.json["error"]

    with ThreadServer(run) as server:  # and after another restart, still used up
        assert server.call("POST", "/api/undo", edited, auth=True).status == 404
        assert server.call("POST", "/api/undo", accepted, auth=True).status == 404
    log = [(r["topic"], r["action"]) for r in db.reviews()]
    assert log == [(ids[0], "accept"), (ids[1], "edit"), (ids[1], "undo"), (ids[0], "undo")]


def test_a_decision_undone_by_another_server_cannot_be_undone_again(run):
    """Two servers on one run (or a restart racing an old tab): the token is used up in the
    database, not in either server's memory, so the second undo is refused."""
    topic = sorted(sizes(run))[0]
    with ThreadServer(run) as first, ThreadServer(run) as second:
        undo = first.review(topic, action="accept").json["undo"]
        assert second.call("POST", "/api/undo", undo, auth=True).status == 200
        assert first.call("POST", "/api/undo", undo, auth=True).status == 404
    assert [r["action"] for r in RunDB(run).reviews()] == ["accept", "undo"]


# ------------------------------------------------------------------ relabel as a job
RELABEL = {"action": "reject", "mode": "relabel", "note": "say which card problem"}


def test_a_relabel_runs_as_a_job_and_decisions_meanwhile_are_answered_at_once(run):
    chat = GatedChat()
    ids = sorted(sizes(run))
    topic, other = ids[0], ids[1]
    db = RunDB(run)
    before = db.current_label(topic)
    with ThreadServer(run, settings=FAKE, chat=chat) as server:
        chat.gate.clear()
        chat.waiting.clear()
        started = time.monotonic()
        reply = server.call("POST", f"/api/topics/{topic}/review?async=1", RELABEL, auth=True)
        assert reply.status == 202, reply.text
        assert time.monotonic() - started < 2  # answered at once, the LLM works on
        job = reply.json["job"]
        assert job["kind"] == "relabel" and job["topic"] == topic and job["state"] == "running"
        assert job["steps"] == 2
        assert chat.waiting.wait(60)  # the LLM is being asked, held there
        job = wait_job(server, job, lambda j: j["step_name"].startswith("asking the LLM"))
        assert (job["step"], job["done"], job["total"]) == (2, 0, 1)
        assert server.call("GET", "/api/jobs").json["job"]["id"] == job["id"]

        asked = time.monotonic()
        refused = server.review(other, action="accept")
        assert time.monotonic() - asked < 2
        assert refused.status == 409, refused.text
        assert re.search(rf"Relabelling topic {topic} is running \(step 2 of 2: asking the LLM "
                         r"for a new label, 0 of 1", refused.json["error"])  # fmt: skip
        assert db.reviews() == []  # nothing written while the LLM works

        chat.gate.set()
        job = wait_job(server, job)
        assert job["state"] == "done", job
        assert job["done"] == job["total"] == 1 and job["step"] == job["steps"]
        result = job["result"]
        row = result["review"]
        assert result["undo"] == row["undo"] == {"review": row["id"]}
        assert row["action"] == "reject" and row["note"] == RELABEL["note"]
        assert row["label_before"] == before["label"] and result["label"] == row["label_after"]
        assert str(topic) in result["message"] and result["label"] in result["message"]
        assert server.call("GET", "/api/jobs").json["job"] is None
        assert server.review(other, action="accept").status == 200  # the run is free again
        current = db.current_label(topic)
        assert current["source"] == "llm" and current["label"] == result["label"]
        assert current["version"] > before["version"]
        assert db.status_names()[topic] == "unreviewed"  # the new label awaits a look
        asked = "\n".join(m["content"] for m in json.loads(current["request"]))
        assert RELABEL["note"] in asked and before["label"] in asked

        reply = server.call("POST", "/api/undo", result["undo"], auth=True)
        assert reply.status == 200, reply.text
    assert db.current_label(topic)["version"] == before["version"]


def test_a_relabel_without_async_answers_as_a_decision(run):
    """Scripts that do not ask for a job get today's answer: the review row, the topic, undo."""
    topic = sorted(sizes(run))[0]
    with ThreadServer(run, settings=FAKE, chat=FakeChat()) as server:
        reply = server.call("POST", f"/api/topics/{topic}/review", RELABEL, auth=True)
        assert reply.status == 200, reply.text
        body = reply.json
        assert set(body) == {"review", "topic", "undo"}
        assert body["undo"] == {"review": body["review"]["id"]}
        assert body["topic"]["id"] == topic and body["topic"]["status"] == "unreviewed"
        assert body["topic"]["label"] == body["review"]["label_after"]
        assert server.call("GET", "/api/jobs").json["job"] is None


def test_a_cancelled_relabel_leaves_nothing_behind(run):
    chat = GatedChat()
    topic = sorted(sizes(run))[0]
    db = RunDB(run)
    before, files = db.current_label(topic), hashes(run)
    with ThreadServer(run, settings=FAKE, chat=chat) as server:
        cancelled(server, chat, topic, RELABEL)
        assert db.current_label(topic)["version"] == before["version"]
        assert db.reviews() == [] and db.statuses() == {}
        assert hashes(run) == files
        assert server.review(topic, action="accept").status == 200  # the run is free again
