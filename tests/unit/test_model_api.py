"""TopicModel's estimator contract, parameters defined once, and a saved run reopened as a model
and saved again (`save(load_run(x))`), on the committed 0.1.0 fixture: no model, no data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.base import clone

import labeler
from labeler import Run, TopicModel, defaults, load_run, save
from labeler.cli import main
from labeler.represent import STAGES

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "run-0.1.0"


def test_parameters_are_keyword_only_with_the_estimator_contract():
    with pytest.raises(TypeError):
        TopicModel("all-MiniLM-L6-v2")  # positional parameters are refused
    model = TopicModel(seed=7, top_n_words=4)
    assert model.get_params()["seed"] == 7
    twin = clone(model)
    assert twin is not model and twin.get_params() == model.get_params()
    assert model.set_params(mmr_diversity=0.5).mmr_diversity == 0.5
    assert repr(TopicModel(seed=7)) == "TopicModel(seed=7)"  # only what differs from defaults


def test_defaults_are_defined_once():
    params = TopicModel().get_params()
    assert params["seed"] == defaults.SEED and params["n_neighbors"] == defaults.N_NEIGHBORS
    assert params["top_n_words"] == defaults.TOP_N_WORDS
    assert params["n_representative_docs"] == defaults.N_REPRESENTATIVE_DOCS
    assert params["mmr_diversity"] == defaults.MMR_DIVERSITY
    options = {p.name: p.default for p in main.commands["run"].params}
    assert options["seed"] == defaults.SEED and options["n_neighbors"] == defaults.N_NEIGHBORS
    assert options["top_n_words"] == defaults.TOP_N_WORDS
    assert options["representative_docs"] == defaults.N_REPRESENTATIVE_DOCS


def test_a_saved_run_reopens_as_a_model_and_saves_again(tmp_path):
    run = Path(shutil.copytree(FIXTURE, tmp_path / "run"))
    model = load_run(run)
    assert isinstance(model, TopicModel) and model.get_params() == Run(run).model().get_params()
    fitted = (
        "documents_ doc_ids_ embeddings_ layout_ topics_ probabilities_ min_cluster_size_"
        " topic_ids_ topic_sizes_ topic_embeddings_ ctfidf_ keywords_ representative_docs_"
        " labels_ timings_"
    )
    for name in fitted.split():
        assert hasattr(model, name), name
    assert set(model.keywords_) == {s.name for s in STAGES}
    assert model.labels_[1] == "Currency exchange rates"  # the current (reviewed) label
    # New documents are assigned by their nearest fitted neighbours: the fitted ones keep theirs.
    topics, probs = model.transform(model.documents_, model.embeddings_)
    assert (topics == model.topics_).mean() > 0.95 and probs.max() <= 1.0

    out = save(model, tmp_path / "again")
    before = json.loads((run / "topics.json").read_text())
    after = json.loads((out / "topics.json").read_text())
    assert [t["keywords"] for t in after] == [t["keywords"] for t in before]
    assert [t["representative_doc_ids"] for t in after] == [
        t["representative_doc_ids"] for t in before
    ]
    config = json.loads((out / "config.json").read_text())
    assert TopicModel(**{**config["params"], "ngram_range": (1, 1)}).get_params()["seed"] == 42
    assert load_run(out).get_params() == model.get_params()
    assert (out / "report.html").is_file() and np.array_equal(
        np.load(out / "embeddings.npy"), model.embeddings_
    )


def test_import_labeler_is_light():
    import subprocess
    import sys

    heavy = "('pandas', 'sklearn', 'torch', 'numpy')"
    code = f"import sys, labeler; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert labeler.__version__


def test_out_is_refused_before_any_work(tmp_path):
    (tmp_path / "taken").write_text("a file")
    result = CliRunner().invoke(
        main, ["run", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "taken")]
    )
    assert result.exit_code == 2 and "is a file" in result.output  # not "corpus not found"
