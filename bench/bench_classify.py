"""Classifier benchmark: µs per classify() call, this checkout against a baseline git revision, same run.

The baseline's `auditor/classify` is exported (`git archive`) into a temp folder and both versions
time the same inputs in child processes, alternated, best of --runs: fixture heads (the formats
both versions know), random 4 KiB heads, Python source, prose and JSON configs (what most
sniffed files are). Reports each corpus's µs per call and the ratio new / baseline.

Target: the random-head and source-code cost (every sniffed file pays it) at most 3x the
baseline's and at most 30 µs a call. A run without --no-write rewrites the "## Classifier"
section of docs/benchmarks.md.

    python bench/bench_classify.py                 # against main
    python bench/bench_classify.py --base HEAD~3 --runs 7 --no-write
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "## Classifier"
MAX_RATIO = 3.0
MAX_US = 30.0
HEAD = 4096

CHILD = r"""
import json, random, sys, timeit
from pathlib import Path
from auditor.classify import classify
media = Path(sys.argv[1])
fixtures = json.loads(sys.argv[2])
rng = random.Random(7)
sources = sorted(Path(sys.argv[3]).rglob("*.py"))[:200]
corpora = {
    "fixture heads": [((media / n).read_bytes()[:4096], n) for n in fixtures],
    "random 4 KiB heads": [(rng.randbytes(4096), "blob") for _ in range(400)],
    "Python source": [(p.read_bytes()[:4096], p.name) for p in sources],
    "prose": [((("Session notes, week %d. The client reported better sleep and fewer "
                 "worries at work; we agreed to keep the diary going.\n") % i * 40).encode()[:4096], "n")
              for i in range(100)],
    "JSON configs": [(json.dumps({"name": f"pkg{i}", "version": "1.0.%d" % i, "scripts":
                      {"test": "jest", "build": "tsc"}, "dependencies": {f"dep{j}": "^2.%d.0" % j
                      for j in range(40)}}, indent=2).encode()[:4096], "package.json") for i in range(100)],
}
out = {}
for name, items in corpora.items():
    calls = max(1, 20000 // len(items))
    best = min(timeit.repeat(lambda: [classify(h, n) for h, n in items], number=1, repeat=calls // 10 + 3))
    out[name] = best / len(items) * 1e6
print(json.dumps(out))
"""


def export(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, "auditor"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def measure(package_root: Path, fixtures: list[str]) -> dict[str, float]:
    env = {"PYTHONPATH": str(package_root), "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"}
    media = REPO / "tests" / "fixtures" / "media"
    result = subprocess.run(
        [sys.executable, "-S", "-c", CHILD, str(media), json.dumps(fixtures), str(REPO / "auditor")],
        env=env,
        cwd=package_root,  # `-c` puts the working folder first on sys.path
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout)


def fixtures_known_to(revision: str) -> list[str]:
    """Fixtures that exist at the baseline revision, so both versions classify the same files."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-tree", "--name-only", f"{revision}:tests/fixtures/media"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return sorted(listed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="main", help="baseline git revision (default: main)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    fixtures = fixtures_known_to(args.base)
    with tempfile.TemporaryDirectory() as tmp:
        base_root = export(args.base, Path(tmp))
        new_runs: list[dict[str, float]] = []
        base_runs: list[dict[str, float]] = []
        for _ in range(args.runs):
            base_runs.append(measure(base_root, fixtures))
            new_runs.append(measure(REPO, fixtures))
    corpora = list(new_runs[0])
    best_new = {c: min(r[c] for r in new_runs) for c in corpora}
    best_base = {c: min(r[c] for r in base_runs) for c in corpora}
    rows = [(c, best_base[c], best_new[c], best_new[c] / best_base[c]) for c in corpora]
    print(f"{'corpus':22}{'base µs':>10}{'new µs':>10}{'ratio':>8}")
    for corpus, base, new, ratio in rows:
        print(f"{corpus:22}{base:>10.1f}{new:>10.1f}{ratio:>7.2f}x")
    gated = [r for r in rows if r[0] in ("random 4 KiB heads", "Python source")]
    ok = all(ratio <= MAX_RATIO and new <= MAX_US for _, _, new, ratio in gated)
    print(
        "targets:", "ok" if ok else f"MISSED (<= {MAX_RATIO}x and <= {MAX_US} µs on random heads and source)"
    )
    if not args.no_write:
        write_section(markdown(rows, args.base, args.runs, len(fixtures)))
    return 0 if ok else 1


def markdown(rows: list[tuple[str, float, float, float]], base: str, runs: int, fixtures: int) -> str:
    lines = [
        SECTION,
        "",
        f"`python bench/bench_classify.py`: µs per `classify()` call on a 4 KiB head, this checkout against "
        f"`{base}`, each timed in its own child process, alternated, best of {runs}. Fixture heads: the "
        f"{fixtures} fixtures the baseline has. Latest run {date.today().isoformat()} on "
        f"{platform.machine()}, Python {platform.python_version()}.",
        "",
        f"| corpus | {base} µs | this µs | ratio |",
        "|---|---:|---:|---:|",
        *(f"| {c} | {b:.1f} | {n:.1f} | {r:.2f}x |" for c, b, n, r in rows),
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    current = DOCS.read_text(encoding="utf-8")
    start = current.find(f"\n{SECTION}\n")
    if start < 0:
        updated = current.rstrip("\n") + "\n\n" + text
    else:
        end = current.find("\n## ", start + 1)
        updated = current[: start + 1] + text + (current[end:] if end >= 0 else "")
    DOCS.write_text(updated, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
