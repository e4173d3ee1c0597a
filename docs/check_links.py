"""Check the relative links of README.md and docs/*.md: files exist, every #anchor is a heading.

    python docs/check_links.py      # from the repository root; exit 1 and one line per bad link

Anchors follow GitHub's rule: lowercase, spaces to '-', punctuation other than '-' and '_' dropped,
and a repeated heading gets '-1', '-2', ...
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def slug(heading: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def outside_code(text: str, spans: bool = True) -> list[str]:
    """Lines outside code fences; without `code spans` unless spans=False."""
    lines, fence = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
            continue
        if not fence:
            lines.append(re.sub(r"`[^`]*`", "", line) if spans else line)
    return lines


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in outside_code(path.read_text(encoding="utf-8"), spans=False):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def check(files: list[Path]) -> list[str]:
    bad = []
    for path in files:
        for line in outside_code(path.read_text(encoding="utf-8")):
            for target in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, mailto:, ...
                    continue
                file_part, _, anchor = target.partition("#")
                dest = (path.parent / file_part).resolve() if file_part else path
                where = f"{path.relative_to(ROOT)}: ({target})"
                if not dest.exists():
                    bad.append(f"{where}: no file {file_part}")
                elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
                    bad.append(f"{where}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    return bad


def main() -> int:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    bad = check(files)
    for line in bad:
        print(line)
    links = sum(len(LINK.findall("\n".join(outside_code(f.read_text())))) for f in files)
    print(f"{len(files)} files, {links} links, {len(bad)} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
