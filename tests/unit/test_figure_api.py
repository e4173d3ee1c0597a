"""The figures' contract without a fit: `TopicModel.visualize_*` are `labeler.figures`' own
functions (same parameters, same defaults), importing the estimator loads no Plotly, and the
helpers every figure shares do what they say."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import numpy as np
import pytest

from labeler import TopicModel
from labeler.errors import LabelerError
from labeler.figures import FIGURES
from labeler.figures import _style as style
from labeler.figures.topics import principal_coordinates


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_each_method_is_its_figure_function(name):
    function = getattr(importlib.import_module(f"labeler.figures.{FIGURES[name]}"), name)
    method = getattr(TopicModel, name)
    ours = [(p.name, p.default) for p in inspect.signature(method).parameters.values()][1:]
    theirs = [(p.name, p.default) for p in inspect.signature(function).parameters.values()][1:]
    assert ours == theirs
    with pytest.raises(LabelerError, match="not fitted"):
        args = {
            "visualize_distribution": [[0.5]],
            "visualize_approximate_distribution": ["a b", [[1]]],
        }
        method(TopicModel(), *args.get(name, []))


def test_the_estimator_loads_no_plotly():
    code = (
        "import sys, labeler.model, labeler.views.report, labeler.views.charts; "
        "print('plotly' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_principal_coordinates_keep_the_distances_of_a_plane():
    angles = np.array([0.0, 0.3, 0.9, 1.4, 2.5])
    vectors = np.column_stack([np.cos(angles), np.sin(angles), np.zeros(5)])  # one great circle
    xy = principal_coordinates(vectors)
    drawn = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    true = np.linalg.norm(vectors[:, None] - vectors[None], axis=-1)
    assert np.allclose(drawn, true, atol=1e-9)
    assert np.allclose(principal_coordinates(vectors[[0, 4, 2, 1, 3]]), xy[[0, 4, 2, 1, 3]])
    assert principal_coordinates(vectors[:1]).shape == (1, 2)


def test_text_reaches_plotly_as_text():
    assert style.esc('<b>x</b> & <a href="y">') == '&lt;b&gt;x&lt;/b&gt; &amp; &lt;a href="y"&gt;'
    assert (
        style.wrap("<i>one</i> two three four", 10) == "&lt;i&gt;one&lt;/i&gt;<br>two three<br>four"
    )
    assert style.short("a  b\n c " * 20, 10) == "a b c a b…"
    labels = style.distinct(["card", "card", "top-up", "card"])
    assert len(set(labels)) == 4 and [x.strip("\u200b") for x in labels] == [
        "card",
        "card",
        "top-up",
        "card",
    ]
    assert style.colour(-1) == style.OUTLIER_COLOUR and style.colour(0) == style.PALETTE[0]
