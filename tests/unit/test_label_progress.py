"""The label step's bar weighs a tree node as several topics, so the ETA shown while topics are
labelled already counts the slower tree names; its text counts items of each kind."""

from __future__ import annotations

import logging

import pytest

from labeler.labels.progress import TREE_NODE_COST, Progress


def at_level(level: int):
    logger = logging.getLogger("labeler")
    before = logger.level
    logger.setLevel(level)  # setLevel, not the attribute: it clears isEnabledFor's cache
    yield
    logger.setLevel(before)


@pytest.fixture
def shown():
    yield from at_level(logging.INFO)  # the bar is drawn at INFO only


@pytest.fixture
def quiet():
    yield from at_level(logging.WARNING)


def test_the_bar_weighs_nodes_and_counts_items(shown):
    with Progress(4, nodes=2) as progress:
        bar = progress._bar
        assert bar.total == pytest.approx(4 + 2 * TREE_NODE_COST)
        progress.update(4)
        # Four topics are done: what is left is the tree's weighted share, not 2 of 6 items.
        assert bar.n == pytest.approx(4)
        assert bar.postfix == "4/4 topics, 0/2 tree nodes"
        progress.update_node(1)
        assert bar.n == pytest.approx(4 + TREE_NODE_COST)
        assert bar.postfix == "4/4 topics, 1/2 tree nodes"
        progress.update_node(1)
        assert bar.n == pytest.approx(bar.total)
        assert (progress.done, progress.total) == (6, 6)


def test_a_bar_of_nodes_only_counts_nodes(shown):
    with Progress(0, nodes=3) as progress:
        progress.update_node(3)
        assert progress._bar.postfix == "3/3 tree nodes"
        assert progress._bar.n == pytest.approx(progress._bar.total)


def test_nothing_is_drawn_when_quiet(quiet):
    with Progress(2, nodes=1) as progress:
        progress.update(2)
        progress.update_node(1)
        assert progress._bar is None and (progress.done, progress.total) == (3, 3)
