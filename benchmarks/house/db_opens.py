"""How many times one `labeler run` (a stub LLM on 127.0.0.1; labels and tree names) opens
run.sqlite.

    python benchmarks/house/db_opens.py CORPUS.jsonl OUT   (from the repository root; CORPUS
    has `id` and `text` fields)
"""

from __future__ import annotations

import sys

sys.path.insert(0, "tests")

from click.testing import CliRunner  # noqa: E402
from llm_stub import StubLLM, label_json, ok, topic_label  # noqa: E402

import labeler.run.db as db  # noqa: E402
from labeler.cli import main  # noqa: E402


def main_() -> None:
    opened = {"n": 0}
    original = db.RunDB._migrate

    def counting(self):
        opened["n"] += 1
        return original(self)

    db.RunDB._migrate = counting
    corpus, out = sys.argv[1], sys.argv[2]
    with StubLLM(lambda request, n: ok(label_json(topic_label(request)))) as stub:
        args = ["run", corpus, "--id-column", "id", "--out", out, "-q"]
        args += ["--llm-base-url", stub.base_url, "--llm-model", "stub"]
        result = CliRunner().invoke(main, args)
    print(f"exit {result.exit_code}; run.sqlite opened {opened['n']} times")


if __name__ == "__main__":
    main_()
