"""The public API is what `labeler.__all__` lists: pinned here, so a name users import is never
dropped or moved by accident (httpx's test_exported_members does the same)."""

from __future__ import annotations

import subprocess
import sys

import labeler

PUBLIC = {
    "TopicModel", "BERTopic", "Run", "load_run", "save", "label_run", "LLMSettings", "ChatModel",
    "Embedder", "LabelerError", "__version__",
}  # fmt: skip


def test_all_lists_exactly_the_public_names():
    assert set(labeler.__all__) == PUBLIC


def test_every_public_name_imports_and_says_where_it_lives():
    for name in PUBLIC - {"__version__"}:
        value = getattr(labeler, name)
        assert value.__name__ == name, name
        assert value.__module__.startswith("labeler."), (name, value.__module__)


def test_the_calls_that_write_a_run_render_it_from_the_apps_layer():
    # Steps never render (issue 21): `save` and `label_run` are labeler.api's wrappers, which call
    # the step and then render the reports once.
    assert {labeler.save.__module__, labeler.label_run.__module__} == {"labeler.api"}


def test_importing_labeler_loads_no_heavy_module():
    code = (
        "import sys, labeler; "
        "print(sorted(m for m in ('numpy', 'pandas', 'torch', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error():
    try:
        labeler.NotAThing  # noqa: B018
    except AttributeError as exc:
        assert "NotAThing" in str(exc)
    else:
        raise AssertionError("labeler.NotAThing did not raise")
