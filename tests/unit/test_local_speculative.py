"""The packaged server's speculative decoding option: a bad kind is refused before anything
starts, and each kind sets llama.cpp's parameters (checked on xllamacpp's own parameter object;
benchmarks/speculative.py measures them with a real server)."""

from __future__ import annotations

import pytest
import xllamacpp as xlc

from labeler.errors import LabelerError
from labeler.llm.local import LocalServer


@pytest.mark.parametrize("kind", ["fast", "ngram:x.gguf", ""])
def test_an_unknown_kind_is_refused_in_one_line(kind):
    with pytest.raises(LabelerError, match="speculative=.*choose one of none, ngram"):
        LocalServer("local", speculative=kind)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("ngram", "COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE"),
        ("ngram-mod", "COMMON_SPECULATIVE_TYPE_NGRAM_MOD"),
        ("ngram-cache", "COMMON_SPECULATIVE_TYPE_NGRAM_CACHE"),
    ],
)
def test_each_kind_sets_llama_cpp_s_type(kind, expected):
    params = xlc.CommonParams()
    LocalServer("local", speculative=kind)._speculate(params, xlc)
    assert [t.name for t in params.speculative.types] == [expected]


def test_none_leaves_the_defaults_and_a_missing_draft_file_is_named(tmp_path):
    params = xlc.CommonParams()
    LocalServer("local")._speculate(params, xlc)
    assert [t.name for t in params.speculative.types] == ["COMMON_SPECULATIVE_TYPE_NONE"]
    missing = tmp_path / "draft.gguf"
    with pytest.raises(LabelerError, match="draft model file not found"):
        LocalServer("local", speculative=f"draft:{missing}")._speculate(xlc.CommonParams(), xlc)
