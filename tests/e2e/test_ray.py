"""`labeler run --engine ray` in a local Ray cluster (2 CPUs) agrees with the single process."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import adjusted_rand_score

from labeler.cli import main


@pytest.mark.slow
def test_ray_engine_gives_the_single_process_topics(banking_rows, tmp_path):
    ray = pytest.importorskip("ray")
    corpus = tmp_path / "banking.parquet"
    pd.DataFrame(banking_rows[:400]).to_parquet(corpus, index=False, row_group_size=100)
    common = ["--sample-fit", "200", "--id-column", "id", "--llm", "none"]
    local = CliRunner().invoke(main, ["run", str(corpus), *common, "--out", str(tmp_path / "a")])
    assert local.exit_code == 0, local.output

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = CliRunner().invoke(
            main, ["run", str(corpus), *common, "--engine", "ray", "--out", str(tmp_path / "b")]
        )
    finally:
        ray.shutdown()
    assert result.exit_code == 0, result.output
    a = pd.read_parquet(tmp_path / "a" / "documents.parquet")
    b = pd.read_parquet(tmp_path / "b" / "documents.parquet")
    assert a["doc_id"].tolist() == b["doc_id"].tolist()
    assert adjusted_rand_score(a["topic"], b["topic"]) >= 0.95
    assert (tmp_path / "b" / "report.html").is_file()
