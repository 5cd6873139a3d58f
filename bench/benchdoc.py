"""docs/benchmarks.md: each benchmark owns one "## Name" section and replaces only that one."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
INTRO = (
    "# Benchmarks\n\nFigures from the benchmarks in `bench/` (how to run them: `bench/README.md`). Each "
    "section is written by its own benchmark after a full run and names the machine it ran on.\n"
)


def write_section(text: str, docs: Path = DOCS) -> None:
    """Replace (or append) the section whose heading is `text`'s first line, leaving the rest."""
    heading = text.splitlines()[0]
    if not heading.startswith("## "):
        raise ValueError(f"a section starts with its '## ' heading, not {heading!r}")
    current = docs.read_text(encoding="utf-8") if docs.exists() else INTRO
    body = text.rstrip("\n") + "\n"
    start = current.find(f"\n{heading}\n")
    if start == -1:
        updated = current.rstrip("\n") + "\n\n" + body
    else:
        following = current.find("\n## ", start + 1)
        rest = current[following + 1 :] if following != -1 else ""
        updated = current[: start + 1] + body + ("\n" + rest if rest else "")
    docs.write_text(updated, encoding="utf-8")
