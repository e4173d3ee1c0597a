"""Run every code step of the five seed documents on labeler, step by step (by hand, not in CI).

The steps are in benchmarks/seeds/steps.py and what they run against is in
benchmarks/seeds/substitutions.py: the import table (`from bertopic import BERTopic` becomes
`from labeler import BERTopic`), the shared-corpus slices that stand in for the seeds' data sets,
the packaged models, and the givens (names a seed uses but never defines). The steps of a
scenario run in order in one namespace. A failing step does not stop its scenario: a later step
whose input is missing is `skipped: needs <name>`. Each column is one fresh process, whose
output goes to <work>/<column>.log. What the seeds' own SentenceTransformer embeds is memoised
in labeler's cache folder (seed-steps/embeddings.pickle), so later columns and runs reuse it.
The Markdown ends with a work list for each labeler column: the failing steps grouped by what is
missing (a name, a module, a parameter, a method, an attribute).

Status: `ok` (it ran, and the result is the kind the seed shows, where the step says what that
is), `differs: ...` (it ran, but the result is not that kind), `error: <Type: first line>`, or
`skipped: <reason>`.

    python benchmarks/seed_steps.py                                # labeler, as the seeds import it
    python benchmarks/seed_steps.py --class-name BERTopic --class-name TopicModel \\
        --bertopic /work/bt-venv/bin/python --out seed-steps.md   # three columns side by side
    python benchmarks/seed_steps.py --seeds 004 --llm    # also the steps that call an LLM

--bertopic takes a Python that can import bertopic (for example a venv with
`pip install --no-deps bertopic==0.17.4` and labeler's dependencies); labeler's own venv has no
bertopic.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seeds import substitutions as subs  # noqa: E402
from seeds.steps import SCENARIOS, STEPS, Step  # noqa: E402

SEEDS = subs.SHARED / "seeds"
MODEL_NAMES = {"model", "topic_model", "my_model", "guided_model", "zeroshot_model"}


# ------------------------------------------------------------------------------ one step
def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = re.sub(r" \((/|[A-Z]:\\)[^)]*\)$", "", text)  # ImportError's "(/path/__init__.py)"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def execute(code: str, filename: str, ns: dict):
    """Run `code` in `ns`; its value is the last expression, or what the last assignment bound."""
    tree = ast.parse(code, filename)
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr):
        exec(compile(ast.Module(tree.body[:-1], []), filename, "exec"), ns)
        return eval(compile(ast.Expression(last.value), filename, "eval"), ns)
    exec(compile(tree, filename, "exec"), ns)
    if isinstance(last, ast.Assign):
        return eval(compile(ast.unparse(last.targets[0]), filename, "eval"), ns)
    return None


def raised_here(exc: BaseException, filename: str) -> bool:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code.co_filename == filename


def methods_lacking(code: str, name: str, ns: dict) -> list[str]:
    """Methods called on `name` in `code` that the class BERTopic maps to does not have."""
    cls = ns.get("BERTopic")
    if not isinstance(cls, type) or name not in MODEL_NAMES | {"BERTopic"}:
        return []
    called = [
        node.func.attr
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == name
    ]
    return sorted({m for m in called if not hasattr(cls, m)})


def keywords_refused(code: str, ns: dict) -> list[str]:
    """`callee(keyword=)` for each keyword in `code` that its callee's signature does not take."""
    refused = []
    for node in ast.walk(ast.parse(code)):
        chain = node.func if isinstance(node, ast.Call) else None
        while isinstance(chain, ast.Attribute):
            chain = chain.value
        if not isinstance(chain, ast.Name) or chain.id not in ns or not node.keywords:
            continue  # only plain `name.attr(...)` callees: evaluating them calls nothing
        try:
            callee = eval(compile(ast.Expression(node.func), "<callee>", "eval"), ns)
            params = inspect.signature(callee).parameters
        except Exception:  # noqa: BLE001 - no attribute, or no signature: nothing to add
            continue
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            name = (
                f"{callee.__name__}.__init__" if isinstance(callee, type) else callee.__qualname__
            )
            refused += [f"{name}({k.arg}=)" for k in node.keywords if k.arg not in params]
    return refused


def summary(value) -> str:
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value[:30] + ("…" if len(value) > 30 else ""))
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):
        return f"{type(value).__name__} {'×'.join(map(str, shape))}"
    if isinstance(value, tuple) and len(value) <= 3:
        return "(" + ", ".join(summary(v) for v in value) + ")"
    if isinstance(value, list | tuple | dict | set):
        return f"{type(value).__name__}[{len(value)}]"
    return type(value).__name__


def check(step: Step, value, ns: dict) -> str:
    if not step.expect:
        return "ok"
    import numpy as np
    import pandas as pd

    try:
        held = eval(step.expect, {"np": np, "pd": pd, "os": os, **ns, "_": value})
    except Exception as exc:  # noqa: BLE001 - the result is not of the kind the check reads
        return f"differs: got {summary(value)}; `{step.expect}` raised {first_line(exc)}"
    return "ok" if held else f"differs: got {summary(value)}; not `{step.expect}`"


def run_step(step: Step, ns: dict, target: str, class_name: str, llm: bool) -> dict:
    if step.skip:
        return {"status": f"skipped: {step.skip}", "seconds": 0.0}
    if step.llm and not llm:
        return {"status": "skipped: needs an LLM server (--llm)", "seconds": 0.0}
    code = subs.rewrite_lines(subs.rewrite_imports(step.runs, target, class_name))
    filename = f"<seed {step.id}>"
    started = time.perf_counter()
    value, status = None, None
    try:
        for key in step.given:
            try:
                ns.update(subs.GIVENS[key].make(ns))
            except subs.Missing:
                raise
            except Exception as exc:  # noqa: BLE001 - reported as the step's status
                status = f"error: given {key}: {first_line(exc)}"
                traceback.print_exc()
                break
        if status is None:
            value = execute(code, filename, ns)
            status = check(step, value, ns)
    except subs.Missing as missing:
        status = f"skipped: needs {missing}"
    except NameError as exc:
        if exc.name and exc.name not in ns and raised_here(exc, filename):
            lacking = methods_lacking(code, exc.name, ns)
            status = f"skipped: needs {exc.name}"
            if lacking:
                status += f" ({ns['BERTopic'].__name__} has no {', '.join(lacking)})"
        else:
            status = f"error: {first_line(exc)}"
            traceback.print_exc()
    except Exception as exc:  # noqa: BLE001 - one step's failure is its status, not the run's
        status = f"error: {first_line(exc)}"
        if isinstance(exc, TypeError) and "unexpected keyword argument" in str(exc):
            refused = keywords_refused(code, ns)
            if len(refused) > 1:
                status += f" (refused: {', '.join(refused)})"
        traceback.print_exc()
    return {"status": status, "seconds": round(time.perf_counter() - started, 2)}


def run_pass(args) -> None:
    """One column, in this process: every scenario in order, each in a fresh namespace."""
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)
    subs.install(workdir)
    memo = Path(args.memo) if args.memo else None
    subs.load_memo(memo)
    meta = {"python": sys.executable}
    if args.target == "bertopic":
        import bertopic

        meta["version"] = f"BERTopic {bertopic.__version__}"
    else:
        import labeler

        meta["version"] = f"labeler {labeler.__version__}"
        meta["imports"] = subs.rewrite_imports(
            "from bertopic import BERTopic", "labeler", args.class_name
        )
        meta["imports"] = f"`{meta['imports']}`"
    server = None
    if args.llm:
        from labeler.llm.local import LocalServer

        server = LocalServer(model=args.llm_model, parallel=1)
        os.environ["OPENAI_BASE_URL"] = server.start()
    results = {}
    started = time.perf_counter()
    try:
        for scenario in SCENARIOS:
            if not any(s.seed in args.seeds for s in scenario.steps):
                continue
            ns: dict = {"__name__": "__main__", "stand_in": subs}
            for step in scenario.setup:
                print(f"=== {scenario.name}: setup {step.id} {step.name}", flush=True)
                run_step(step, ns, args.target, args.class_name, args.llm)
            for step in scenario.steps:
                print(f"=== {scenario.name}: {step.id} {step.name}", flush=True)
                results[step.id] = run_step(step, ns, args.target, args.class_name, args.llm)
                print(f"=== {step.id}: {results[step.id]['status']}", flush=True)
    finally:
        if server is not None:
            server.stop()
        subs.save_memo(memo)
    meta["seconds"] = round(time.perf_counter() - started, 1)
    Path(args.json).write_text(json.dumps({"meta": meta, "steps": results}, indent=1))


# ------------------------------------------------------------------------------ the table
def seed_text_problems() -> list[str]:
    """Steps whose `seed_code` is not in their seed's text (trailing spaces aside)."""
    problems = []
    for step in STEPS:
        if not step.seed_code:
            continue
        path = next(SEEDS.glob(f"{step.seed}_*.txt"))
        lines = [line.rstrip() for line in path.read_text(encoding="utf-8").splitlines()]
        want = [line.rstrip() for line in step.seed_code.splitlines()]
        if len(want) == 1:
            found = any(want[0] in line for line in lines)
        else:
            found = any(lines[i : i + len(want)] == want for i in range(len(lines)))
        if not found:
            problems.append(f"{step.id} {step.name}: seed_code is not in {path.name}")
    return problems


NOT_HERE = (
    "skipped: a shell",
    "skipped: Google Colab",
    "skipped: needs images",
    "skipped: needs an LLM",
)
REASONS = (
    (r"cannot import name '(\w+)' from '([\w.]+)'", "`{1}` has no `{0}`"),
    (r"No module named '([\w.]+)'", "no module `{0}`"),
    (
        r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'",
        "`{0}()` has no parameter `{1}`",
    ),
    (
        r"(\w+)\.(?!__init__)(\w+)\(\) got an unexpected keyword argument '(\w+)'",
        "`{0}.{1}()` has no parameter `{2}`",
    ),
    (r"(\w+)\.__init__\((\w+)=\)", "`{0}()` has no parameter `{1}`"),
    (r"(\w+)\.(?!__init__)(\w+)\((\w+)=\)", "`{0}.{1}()` has no parameter `{2}`"),
    (r"'(\w+)' object has no attribute '(\w+_)'", "`{0}` has no attribute `{1}`"),
    (r"'(\w+)' object has no attribute '(\w*[^_\W])'", "`{0}` has no method `{1}`"),
    (r"type object '(\w+)' has no attribute '(\w+)'", "`{0}` has no method `{1}`"),
    (r"(\w+)\.(\w+)\(\) (takes .*|missing .*)", "`{0}.{1}()` {2}"),
)


def reasons(status: str) -> list[str]:
    """The work that a step's status asks for, one line per thing missing (see REASONS)."""
    if status == "ok" or status.startswith(NOT_HERE):
        return []
    if status.startswith("differs"):
        return ["runs, but the result is not the kind the seed shows"]
    found = []
    for pattern, line in REASONS:
        found += [line.format(*m.groups()) for m in re.finditer(pattern, status)]
    lacking = re.search(r"\((\w+) has no ([\w, ]+)\)$", status)
    if lacking:
        found += [f"`{lacking.group(1)}` has no method `{m}`" for m in lacking.group(2).split(", ")]
    needs = re.match(r"skipped: needs (\w+)", status)
    if needs:
        found.append(f"blocked: needs `{needs.group(1)}`, which an earlier step failed to make")
    return list(dict.fromkeys(found or [status]))


def work_list(label: str, data: dict, steps: list[Step]) -> list[str]:
    groups: dict[str, list[str]] = {}
    for step in steps:
        status = data["steps"].get(step.id, {"status": "ok"})["status"]
        for line in reasons(status):
            groups.setdefault(line, []).append(f"{step.id} {step.name}")
    out = ["", f"## Work list: {label}", ""]
    for line, ids in sorted(groups.items(), key=lambda kv: (kv[0].startswith("blocked"), kv[0])):
        out.append(f"- {line}: " + "; ".join(ids))
    return out


def column_label(target: str, class_name: str) -> str:
    return "BERTopic" if target == "bertopic" else f"labeler ({class_name})"


def kind(status: str) -> str:
    return status.split(":")[0]


def markdown(columns: list[tuple[str, dict]], seeds: list[str]) -> str:
    steps = [s for s in STEPS if s.seed in seeds]
    out = ["# Seed steps on labeler", ""]
    for label, data in columns:
        meta = data["meta"]
        imports = meta.get("imports", "`from bertopic import BERTopic` as written")
        out.append(
            f"- {label}: {meta['version']}, {imports}; {meta['seconds']} s ({meta['python']})"
        )
    head = "| seed | step | name | text | " + " | ".join(f"{c} | s" for c, _ in columns) + " |"
    out += ["", head, "|" + "---|" * (4 + 2 * len(columns))]
    for step in steps:
        cells = [step.seed, str(step.n), step.name.replace("|", "\\|"), step.text]
        for _, data in columns:
            row = data["steps"].get(step.id, {"status": "not run", "seconds": 0})
            status = row["status"].replace("|", "\\|").replace("\n", " ")
            cells += [status, f"{row['seconds']:g}"]
        out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        "## Counts",
        "",
        "| column | ok | differs | error | skipped |",
        "|---|---|---|---|---|",
    ]
    for label, data in columns:
        kinds = [kind(data["steps"].get(s.id, {"status": "none"})["status"]) for s in steps]
        counts = [str(kinds.count(k)) for k in ("ok", "differs", "error", "skipped")]
        out.append(f"| {label} | " + " | ".join(counts) + " |")
    out += ["", f"{len(steps)} steps."]
    for label, data in columns:
        if not label.startswith("BERTopic"):
            out += work_list(label, data, steps)
    out += ["", "## Steps not run as the seed's text has them", ""]
    out += [f"- {s.id} {s.name} ({s.text}): {s.note}" for s in steps if s.note]
    out += ["", "## Substitutions (benchmarks/seeds/substitutions.py)", "", "Imports:", ""]
    out += [f"- `{a}` → `{b}`" for a, b in subs.IMPORTS.items()]
    out += ["", "Data:", ""]
    out += [f"- {k} ({d.seeds}): {d.loads} → {d.uses}" for k, d in subs.DATA.items()]
    out += ["", "Models:", ""] + [f"- `{k}`: {v}" for k, v in subs.MODELS.items()]
    out += ["", "Givens:", ""] + [f"- `{k}`: {g.means}" for k, g in subs.GIVENS.items()]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", nargs="*", default=["000", "001", "002", "003", "004"])
    parser.add_argument(
        "--class-name", action="append", default=None,
        help="class that `from bertopic import BERTopic` imports from labeler; repeat for more "
        "columns [BERTopic]",
    )  # fmt: skip
    parser.add_argument(
        "--bertopic", nargs="?", const=sys.executable, default=None, metavar="PYTHON",
        help="add a column: the same steps on real BERTopic, run by PYTHON [this one]",
    )  # fmt: skip
    parser.add_argument("--llm", action="store_true", help="serve the packaged LLM locally")
    parser.add_argument("--llm-model", default="small", choices=["small", "local"])
    parser.add_argument("--out", type=Path, help="also write the table as Markdown here")
    parser.add_argument("--work", type=Path, help="keep the pass folders and logs here")
    parser.add_argument("--verbose", action="store_true", help="show each pass's output")
    # one column, run by the process the parent starts
    parser.add_argument(
        "--pass", dest="target", choices=["labeler", "bertopic"], help=argparse.SUPPRESS
    )
    parser.add_argument("--json", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--memo", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.target:
        args.class_name = (args.class_name or ["BERTopic"])[0]
        return run_pass(args)

    problems = seed_text_problems()
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    columns = [("labeler", name) for name in args.class_name or ["BERTopic"]]
    if args.bertopic:
        probe = subprocess.run([args.bertopic, "-c", "import bertopic"], capture_output=True)
        if probe.returncode == 0:
            columns.append(("bertopic", "BERTopic"))
        else:
            print(
                f"BERTopic is not importable by {args.bertopic}: no BERTopic column",
                file=sys.stderr,
            )
    work = args.work or Path(tempfile.mkdtemp(prefix="seed-steps-"))
    work.mkdir(parents=True, exist_ok=True)
    from labeler.embedding.cache import default_cache_dir

    memo = default_cache_dir() / "seed-steps" / "embeddings.pickle"
    memo.parent.mkdir(parents=True, exist_ok=True)
    results, started = [], time.perf_counter()
    for target, class_name in columns:
        label = column_label(target, class_name)
        name = re.sub(r"\W+", "-", label).strip("-").lower()
        cmd = [
            args.bertopic if target == "bertopic" else sys.executable, __file__,
            "--pass", target, "--class-name", class_name, "--json", str(work / f"{name}.json"),
            "--workdir", str(work / name), "--memo", str(memo),
            "--llm-model", args.llm_model, *(["--llm"] if args.llm else []), "--seeds", *args.seeds,
        ]  # fmt: skip
        print(f"{label}: running (log: {work / f'{name}.log'})", file=sys.stderr, flush=True)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(subs.ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        with open(work / f"{name}.log", "w") as log:
            out = None if args.verbose else log
            done = subprocess.run(
                cmd, stdout=out, stderr=subprocess.STDOUT if out else None, env=env
            )
        if done.returncode:
            sys.exit(
                f"{label}: the pass failed (exit {done.returncode}); see {work / f'{name}.log'}"
            )
        results.append((label, json.loads((work / f"{name}.json").read_text())))
    table = markdown(results, args.seeds)
    table += f"\nTotal: {time.perf_counter() - started:.0f} s.\n"
    print(table)
    if args.out:
        args.out.write_text(table, encoding="utf-8")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
