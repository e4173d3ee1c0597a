"""`RunDB.adopt_topics`: names and reviews carried from one run's topics to another's
(`labeler merge-runs`), on real SQLite."""

from __future__ import annotations

from labeler.run.db import RunDB


def source_db(tmp_path) -> RunDB:
    (tmp_path / "source").mkdir()
    db = RunDB(tmp_path / "source", create=True)
    db.add_keyword_labels({0: "0_card_arrive", 1: "1_rate_exchange", 2: "2_top_up"})
    db.add_label_version(1, "Exchange rates", source="llm", summary="Rates.", flags=["x"])
    db.add_label_version(1, "Currency rates", source="review")
    db.record_review(1, "edit", {"label": "Exchange rates"}, {"label": "Currency rates"}, None,
                     "ann", "edited")  # fmt: skip
    db.add_label_version(2, "Top-ups", source="llm")
    db.set_current_version(2, 1)  # back to its keyword label
    db.add_node_label_version("1:0,1", 1, "Cards and rates", source="llm")
    return db


def test_adopt_topics_carries_given_names_reviews_and_statuses(tmp_path):
    source = source_db(tmp_path)
    (tmp_path / "target").mkdir()
    target = RunDB(tmp_path / "target", create=True)
    target.add_keyword_labels({0: "0_card", 5: "5_rate_exchange", 6: "6_top_up"})
    target.add_label_version(5, "stale name from the model", source="llm")
    target.adopt_topics(source.topic_state(), {1: 5, 2: 6, -1: -1}, nodes=True)

    history = target.label_history(5)
    assert [(r["version"], r["label"], r["source"], r["is_current"]) for r in history] == [
        (1, "5_rate_exchange", "keywords", 0),
        (2, "Exchange rates", "llm", 0),
        (3, "Currency rates", "review", 1),
    ]
    assert history[1]["summary"] == "Rates." and history[1]["flags"] == '["x"]'
    # a topic whose current label was its keyword label keeps the target's keyword label
    assert target.current_label(6)["label"] == "6_top_up"
    assert [r["label"] for r in target.label_history(6)] == ["6_top_up", "Top-ups"]
    assert target.current_label(0)["label"] == "0_card"  # not in the mapping: untouched
    assert target.status_names() == {5: "edited"}
    assert [(r["topic"], r["label_after"], r["reviewer"]) for r in target.reviews()] == [
        (5, "Currency rates", "ann")
    ]
    assert target.current_node_labels()["1:0,1"]["label"] == "Cards and rates"
