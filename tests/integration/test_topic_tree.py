"""The topic tree (hierarchy.json, get_topic_tree, hierarchical_topics) and its names, on a
CLINC150 slice with two known levels (domain → intent): real fit, real embeddings, the fake chat
model or the stub HTTP LLM for names."""

from __future__ import annotations

import json
import random
import shutil
from collections import defaultdict

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import read_corpus, write_jsonl
from fakes import FakeChat
from llm_stub import StubLLM, label_json, ok, topic_label
from sklearn.metrics import adjusted_rand_score

from labeler import load_run
from labeler.api import label_run
from labeler.cli import main
from labeler.labels.labeling import LLMSettings
from labeler.llm.client import ChatResult
from labeler.run.db import RunDB
from labeler.tree import assignment

DOMAINS = ("banking", "travel", "kitchen_and_dining", "auto_and_commute")
SETTINGS = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake")
REQUIRED = {"id", "layer", "parent", "children", "size", "label", "summary", "keywords"}


@pytest.fixture(scope="module")
def clinc_rows() -> list[dict]:
    """480 CLINC150 queries: 4 domains × their first 4 intents × 30."""
    by = defaultdict(lambda: defaultdict(list))
    for r in read_corpus("clinc150"):
        by[r["domain"]][r["label"]].append(r)
    rng = random.Random(0)
    picked = []
    for domain in DOMAINS:
        for intent in sorted(by[domain])[:4]:
            picked += rng.sample(by[domain][intent], 30)
    rng.shuffle(picked)
    return [
        {"id": f"c{i}", "text": r["text"], "intent": r["label"], "domain": r["domain"]}
        for i, r in enumerate(picked)
    ]


@pytest.fixture(scope="module")
def clinc_run(clinc_rows, tmp_path_factory):
    corpus = write_jsonl(tmp_path_factory.mktemp("corpus") / "clinc.jsonl", clinc_rows)
    out = tmp_path_factory.mktemp("runs") / "clinc"
    args = ["run", str(corpus), "--id-column", "id", "--llm", "none", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def run_copy(clinc_run, tmp_path):
    return shutil.copytree(clinc_run, tmp_path / "clinc")


def read_tree(run_dir):
    return json.loads((run_dir / "hierarchy.json").read_text(encoding="utf-8"))


def test_hierarchy_json_is_a_consistent_tree(clinc_run, clinc_rows):
    tree = read_tree(clinc_run)
    nodes = {n["id"]: n for n in tree["nodes"]}
    topics = json.loads((clinc_run / "topics.json").read_text())
    leaf_topics = sorted(t["topic"] for t in topics if not t["is_outlier"])
    assert all(set(n) >= REQUIRED for n in nodes.values())
    leaves = [n for n in nodes.values() if n["layer"] == 0]
    assert sorted(n["id"] for n in leaves) == leaf_topics  # every topic once
    assert {n["id"]: n["size"] for n in leaves} == {
        t["topic"]: t["size"] for t in topics if not t["is_outlier"]
    }
    top = max(n["layer"] for n in nodes.values())
    assert top >= 1, "a slice of 16 intents has at least one layer above its topics"
    for n in nodes.values():
        if n["children"]:
            kids = [nodes[c] for c in n["children"]]
            assert all(k["parent"] == n["id"] and k["layer"] == n["layer"] - 1 for k in kids)
            assert n["size"] == sum(k["size"] for k in kids)
            assert sorted(n["topics"]) == sorted(t for k in kids for t in k["topics"])
            assert [w for w, _ in n["keywords"]] and n["keywords_mmr"]  # described per stage
            assert n["representative_docs"] and n["label"]
        if n["layer"] < top:
            assert n["parent"] in nodes
        else:
            assert n["parent"] is None
    for layer in range(top + 1):  # each layer covers every topic exactly once
        covered = [t for n in nodes.values() if n["layer"] == layer for t in n["topics"]]
        assert sorted(covered) == leaf_topics

    # The layer above the topics follows the known domains (intents of one domain together).
    documents = __import__("pandas").read_parquet(clinc_run / "documents.parquet")
    domain = {r["id"]: r["domain"] for r in clinc_rows}
    layer1 = assignment(documents["topic"].to_numpy(), tree["nodes"], 1)
    keep = layer1 >= 0
    truth = np.array([domain[d] for d in documents["doc_id"]])
    assert adjusted_rand_score(truth[keep], layer1[keep]) > 0.15


def test_topic_tree_api(clinc_run):
    model = load_run(clinc_run)
    tree = read_tree(clinc_run)
    text = model.get_topic_tree()
    parents = [n for n in tree["nodes"] if n["layer"] > 0]
    for n in tree["nodes"]:
        assert f"{n['label']}" in text and f"({n['size']:,})" in text
    frame = model.hierarchical_topics()
    assert list(frame.columns[:7]) == [
        "Parent_ID", "Parent_Name", "Topics", "Child_Left_ID", "Child_Left_Name",
        "Child_Right_ID", "Child_Right_Name",
    ]  # fmt: skip
    assert len(frame) == len(parents)
    row = frame.set_index("Parent_ID").loc[parents[0]["id"]]
    assert row["Topics"] == parents[0]["topics"] and row["Child_IDs"] == parents[0]["children"]
    assert row["Child_Left_ID"] == parents[0]["children"][0]


class RecordingChat(FakeChat):
    def __init__(self):
        super().__init__()
        self.requests: list[list[dict]] = []

    def chat(self, messages, **kwargs):
        self.requests.append(messages)
        return super().chat(messages, **kwargs)


def test_parents_are_named_bottom_up_from_their_childrens_names(run_copy):
    chat = RecordingChat()
    stats = label_run(run_copy, SETTINGS, chat=chat, tree=True)
    tree = read_tree(run_copy)
    nodes = {n["id"]: n for n in tree["nodes"]}
    named = [n for n in nodes.values() if n["layer"] > 0 and len(n["children"]) > 1]
    assert named and stats.tree is not None and stats.tree.calls >= len(named)
    parent_prompts = [m for m in chat.requests if "Topics:\n" in m[-1]["content"]]
    for n in named:
        assert n["label_source"] == "llm" and n["label"] != n["keyword_label"]
        kids = [nodes[c]["label"] for c in n["children"]]
        # its prompt carries every child's (LLM) label and summary
        prompt = next(
            m[-1]["content"] for m in parent_prompts if all(k in m[-1]["content"] for k in kids)
        )
        assert all(nodes[c]["summary"] in prompt for c in n["children"])
        assert all(nodes[c]["label_source"] == "llm" for c in n["children"])
    layer_labels = [n["label"].lower() for n in named if n["layer"] == 1]
    assert len(set(layer_labels)) == len(layer_labels)  # siblings told apart
    db = RunDB(run_copy)
    assert set(db.current_node_labels()) >= {n["key"] for n in named}

    again = RecordingChat()  # same inputs, same prompts: every answer is cached
    rerun = label_run(run_copy, SETTINGS, chat=again, tree=True)
    assert not again.requests and rerun.tree.new_versions == 0


def test_relabel_layer_names_only_that_layer(run_copy):
    tree = read_tree(run_copy)
    layer1 = [n for n in tree["nodes"] if n["layer"] == 1 and len(n["children"]) > 1]

    def script(request, n):  # a parent's name, asked first or again (its follow-up)
        text = "\n".join(m["content"] for m in request["messages"] if m["role"] == "user")
        if "Topics:\n" in text:
            return ok(label_json(topic_label(request).replace("Requests", "Matters")))
        return ok(label_json(topic_label(request)))

    with StubLLM(script) as stub:
        args = ["relabel", str(run_copy), "--layer", "1", "--llm-base-url", stub.base_url,
                "--llm-model", "stub"]  # fmt: skip
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert "layer 1 names" in result.output
        asked = [r for r in stub.requests if len(r["messages"]) == 2]
    assert len(asked) >= len(layer1)
    assert all("Topics:\n" in r["messages"][-1]["content"] for r in asked)  # no topic relabel
    after = {n["id"]: n for n in read_tree(run_copy)["nodes"]}
    assert all(after[n["id"]]["label"].endswith("Matters") for n in layer1)
    assert all(n["label_source"] == "keywords" for n in after.values() if n["layer"] == 0)
    html = (run_copy / "report.html").read_text(encoding="utf-8")
    assert after[layer1[0]["id"]]["label"] in html
    markdown = (run_copy / "report.md").read_text(encoding="utf-8")
    tree_part = markdown.split("## Topic tree", 1)[1]
    assert f"- **{after[layer1[0]['id']]['label']}**" in tree_part  # a parent, then its topics

    missing = CliRunner().invoke(main, [*args[:3], "9", *args[4:]])
    assert missing.exit_code == 2 and "has no layer 9" in missing.output


def test_tree_command_rebuilds_and_keeps_names_of_unchanged_nodes(run_copy):
    label_run(run_copy, SETTINGS, chat=FakeChat(), tree=True)
    before = {n["key"]: n["label"] for n in read_tree(run_copy)["nodes"]}
    (run_copy / "hierarchy.json").unlink()
    result = CliRunner().invoke(main, ["tree", str(run_copy)])
    assert result.exit_code == 0, result.output
    after = {n["key"]: n["label"] for n in read_tree(run_copy)["nodes"]}
    assert after == before  # the same topics give the same nodes, which find their names
    assert all(label in result.output for label in after.values())


def test_a_merge_rebuilds_the_tree_and_keeps_names_of_unchanged_nodes(run_copy):
    from labeler.labels.distinct import label_embedder
    from labeler.run.folder import Run
    from labeler.surgery import plan_merge

    label_run(run_copy, SETTINGS, chat=FakeChat(), tree=True)
    before = {n["key"]: n for n in read_tree(run_copy)["nodes"]}
    parents = [n for n in before.values() if n["layer"] == 1 and len(n["children"]) > 1]
    family = max(parents, key=lambda n: len(n["children"]))  # merge two siblings in it
    keep, drop = family["children"][:2]
    run = Run(run_copy)
    result = plan_merge(run, [keep, drop], embed=label_embedder(run_copy))
    run.replace_topics(result.documents, result.records)

    after = {n["key"]: n for n in read_tree(run_copy)["nodes"]}
    topics = sorted(t["topic"] for t in run.topics() if not t["is_outlier"])
    assert sorted(n["id"] for n in after.values() if n["layer"] == 0) == topics
    assert drop not in topics
    for n in after.values():
        if n["children"]:
            assert n["size"] == sum(after_by_id(after)[c]["size"] for c in n["children"])
    kept = [k for k in after if k in before and before[k]["layer"] > 0]
    assert all(after[k]["label"] == before[k]["label"] for k in kept)
    assert any(before[k]["label_source"] == "llm" for k in kept)  # named nodes found again


def after_by_id(nodes: dict) -> dict:
    return {n["id"]: n for n in nodes.values()}


def _named_parents(run_dir) -> dict[str, dict]:
    return {n["key"]: n for n in read_tree(run_dir)["nodes"] if n["layer"] > 0}


def test_an_outlier_reassignment_without_an_llm_keeps_every_parent_name(run_copy):
    from labeler import surgery

    label_run(run_copy, SETTINGS, chat=FakeChat(), tree=True)
    before = _named_parents(run_copy)
    assert sum(n["label_source"] == "llm" for n in before.values()) >= 2
    change = surgery.outliers(run_copy, "embeddings", 0.0)  # settings None: no LLM
    assert change.sizes["outliers_after"] < change.sizes["outliers_before"]
    after = _named_parents(run_copy)
    # the same topics under the same parents (their centres moved: Ward alone may regroup them)
    assert set(after) == set(before)
    assert {k: n["label"] for k, n in after.items()} == {k: n["label"] for k, n in before.items()}


def test_a_merge_names_only_the_parents_whose_children_changed(run_copy):
    from labeler import surgery

    label_run(run_copy, SETTINGS, chat=FakeChat(), tree=True)
    before = _named_parents(run_copy)
    family = max((n for n in before.values() if n["layer"] == 1), key=lambda n: len(n["children"]))
    keep, drop = family["children"][:2]
    chat = RecordingChat()
    change = surgery.merge(run_copy, [keep, drop], settings=SETTINGS, chat=chat)
    after = _named_parents(run_copy)
    changed = [k for k in after if k not in before]  # their leaf topics changed
    assert changed and change.parents == len([k for k in changed if len(after[k]["children"]) > 1])
    for k, n in after.items():
        if k in before:
            assert n["label"] == before[k]["label"]  # unchanged: kept, never asked
        elif len(n["children"]) > 1:
            assert n["label_source"] == "llm"  # changed: named again, not a keyword id
    parent_prompts = [m for m in chat.requests if "Topics:\n" in m[-1]["content"]]
    assert len(parent_prompts) == change.parents


def test_review_app_shows_parents_with_their_children_and_keeps_an_edited_name(run_copy):
    from review_server import ThreadServer

    label_run(run_copy, SETTINGS, chat=FakeChat(), tree=True)
    tree = read_tree(run_copy)
    parent = max((n for n in tree["nodes"] if n["layer"] == 1), key=lambda n: n["size"])
    labels = {n["id"]: n["label"] for n in tree["nodes"]}
    with ThreadServer(run_copy) as server:
        listing = server.call("GET", "/api/tree").json
        node = next(n for n in listing["nodes"] if n["id"] == parent["id"])
        assert [c["id"] for c in node["children"]] == parent["children"]
        assert [c["label"] for c in node["children"]] == [labels[c] for c in parent["children"]]
        page = server.call("GET", "/tree").text
        assert all(f'href="/topics/{c}"' in page for c in parent["children"])
        topic = server.call("GET", f"/api/topics/{parent['children'][0]}").json
        assert topic["parent"] == {"id": parent["id"], "label": parent["label"]}

        edit = {"action": "edit", "label": "Everyday <b>Requests</b>"}
        assert server.call("POST", f"/api/nodes/{parent['id']}/review", edit).status in (401, 403)
        reply = server.call("POST", f"/api/nodes/{parent['id']}/review", edit, auth=True)
        assert reply.status == 200, reply.text
        assert "Everyday &lt;b&gt;Requests&lt;/b&gt;" in server.call("GET", "/tree").text
        missing = server.call("POST", "/api/nodes/0/review", {"action": "accept"}, auth=True)
        assert missing.status == 404  # a topic is reviewed as a topic, not as a node
    named = {n["id"]: n for n in read_tree(run_copy)["nodes"]}[parent["id"]]
    assert named["label"] == "Everyday <b>Requests</b>" and named["label_source"] == "review"

    again = FakeChat()  # a relabel keeps the reviewed name
    label_run(run_copy, SETTINGS, chat=again, tree=True, force=False)
    assert {n["id"]: n for n in read_tree(run_copy)["nodes"]}[parent["id"]]["label"] == (
        "Everyday <b>Requests</b>"
    )


class ChildNameChat(FakeChat):
    """Names a parent after its largest child; asked again, `broad` names the group (or, when
    None, insists on the child's name)."""

    def __init__(self, broad: str | None):
        super().__init__()
        self.broad = broad
        self.follow_up_texts: list[str] = []

    def chat(self, messages, **kwargs):
        first = next(m["content"] for m in messages if m["role"] == "user")
        if "Topics:\n" not in first:
            return super().chat(messages, **kwargs)
        child = first.split("Topics:\n", 1)[1].splitlines()[0][2:].split(" (")[0]
        if any(m["role"] == "assistant" for m in messages):
            self.follow_up_texts.append(messages[-1]["content"])
            label = self.broad or child
        else:
            label = child
        return ChatResult(json.dumps({"label": label, "summary": f"About {label}."}), 40, 12)


def test_a_parent_named_after_one_child_is_asked_again_with_its_children_named(run_copy):
    """A parent's name is checked against each child's documents: one that fits only its
    largest child is asked about again, naming the others; kept and flagged if it persists."""
    fresh = shutil.copytree(run_copy, run_copy.parent / "fresh")  # no cached answers
    insisting = ChildNameChat(broad=None)
    label_run(run_copy, SETTINGS, chat=insisting, tree=True)
    nodes = {n["id"]: n for n in read_tree(run_copy)["nodes"]}
    parents = [n for n in nodes.values() if n["layer"] > 0 and len(n["children"]) > 1]
    assert insisting.follow_up_texts, "no parent name was questioned"
    assert all("fits only the topic" in t for t in insisting.follow_up_texts)
    flagged = [n for n in parents if "narrow" in (n.get("label_flags") or [])]
    assert flagged
    for n in flagged:  # the question named a child the name misses
        kids = [nodes[c]["label"] for c in n["children"][1:]]
        assert any(any(k in t for k in kids) for t in insisting.follow_up_texts)

    broad = ChildNameChat(broad="Everyday Assistant Requests")
    label_run(fresh, SETTINGS, chat=broad, tree=True)
    after = {n["id"]: n for n in read_tree(fresh)["nodes"]}
    renamed = [after[n["id"]] for n in flagged]
    assert any(n["label"].startswith("Everyday Assistant Requests") for n in renamed)
    assert all(
        "narrow" not in (n.get("label_flags") or [])
        for n in renamed
        if n["label"].startswith("Everyday")
    )
