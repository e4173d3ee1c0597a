"""Issue 21's layout figures for one checkout: top-level modules, folders, lines per folder,
functions taking `run_dir` or a `Run`, `RunDB(...)` and render call sites.

    python benchmarks/house/layout_figures.py ROOT   (ROOT holds labeler/)
"""

from __future__ import annotations

import ast
import re
import sys
from collections import Counter
from pathlib import Path


def figures(root: Path) -> list[str]:
    package = root / "labeler"
    funcs, runs, rundb, render, lines = Counter(), Counter(), Counter(), Counter(), Counter()
    top = []
    for path in sorted(package.rglob("*.py")):
        if "vendor" in path.parts:
            continue
        rel = path.relative_to(package)
        text = path.read_text(encoding="utf-8")
        lines[rel.parts[0] if len(rel.parts) > 1 else "(top level)"] += len(text.splitlines())
        if len(rel.parts) == 1:
            top.append(rel.name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                if any(a.arg == "run_dir" for a in args):
                    funcs[str(rel)] += 1
                annotations = [ast.unparse(a.annotation) for a in args if a.annotation]
                if any(re.search(r"\bRun(Like)?\b", a) for a in annotations):
                    runs[str(rel)] += 1
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name == "RunDB":
                    rundb[str(rel)] += 1
                passed = any(getattr(a, "id", None) == "render_reports" for a in node.args)
                if name == "render_reports" or passed:  # a call, or refresh(render_reports)
                    render[str(rel)] += 1
    per_folder = ", ".join(f"{k} {v}" for k, v in sorted(lines.items()))
    return [
        f"top-level modules: {len(top)} {' '.join(top)}",
        f"folders: {' '.join(sorted(k for k in lines if k != '(top level)'))}",
        f"lines per folder: {per_folder} | total {sum(lines.values())}",
        f"functions taking run_dir: {sum(funcs.values())} in {len(funcs)} modules: {dict(funcs)}",
        f"functions taking a Run: {sum(runs.values())} in {len(runs)} modules",
        f"RunDB(...) call sites: {sum(rundb.values())}: {dict(rundb)}",
        f"render_reports call sites: {sum(render.values())} in {len(render)} modules: "
        f"{dict(render)}",
    ]


if __name__ == "__main__":
    print("\n".join(figures(Path(sys.argv[1] if len(sys.argv) > 1 else "."))))
