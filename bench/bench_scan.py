"""Local-scan benchmark: `auditor scan` against `find DIR -type f` on the same generated tree.

Both run warm (one untimed run of each first), then alternately --runs times; the best times
are compared (medians are shown too). A last, in-process run splits the scan's time into
phases (walk and sniff, recording facts, rules, building the result, JSON text) with the peak
RSS after each, to show what dominates.

A bare `os.scandir` loop over the same tree (a Python program that lists every folder and counts
the files, nothing else) runs in the same alternation: the floor any Python walker starts from,
so that what the scan adds over Python is visible apart from what Python costs over find.

Targets (issue 16): scan wall time at most 4x find's at 100,000 files, 3x at 300,000, 2.5x at
1,000,000 (`--entries` takes several sizes: one alternation per tree); at most 8 KiB read per
sniffed file (coverage bytes_read / candidates); peak RSS of the scan process at most 150 MB;
every planted recording found (the transcripts planted beside recordings included).

`--cold` also times the largest tree with cold caches: before every run of find, the floor and the
scan, the kernel's page, dentry and inode caches are dropped (`sync; echo 3 >
/proc/sys/vm/drop_caches`, which needs root); where that file cannot be written, every file and
folder of the tree is evicted with posix_fadvise(POSIX_FADV_DONTNEED) instead, which leaves the
dentries and inodes cached (said in the output). Target: the cold scan at most 1.3x a cold find.

The reading policy's cost (auditor/classify/reading.py) is timed in the same alternation: the
default scan against the same scan with text-like files never read and `.ts` skipped by name
(the rule before the policy), against the policy for text with `.ts` still skipped by name (what
reading `.ts` by content costs), and against `--deep` (read everything), each as a ratio to find.
`--baseline REF` also runs git revision REF's scan (its code checked out in a temporary worktree,
first on PYTHONPATH) in the same alternation, and prints each tree's best walls side by side: how
to measure a change against the code before it on a host whose speed drifts from hour to hour.
Such a run never rewrites the docs. (Timing another checkout with `python -m auditor` by hand:
run it from a folder that holds no `auditor` package, since `-m` puts the current folder on
sys.path ahead of PYTHONPATH, and a run from the repository times its own code twice.)

The table is always printed; the exit status is 1 when a target is missed, so a regression shows. A run at the default size also rewrites the "## Scan" section of
docs/benchmarks.md (that section only; --no-write to skip).

    python bench/bench_scan.py                    # 1,000,000 files (generated once, then reused)
    python bench/bench_scan.py --entries 100000   # a quick run
    python bench/bench_scan.py --entries 100000 300000 1000000 --cold   # every target of issue 16
    python bench/bench_scan.py --entries 100000 300000 --no-variants --baseline HEAD~1   # a change
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdoc import write_section
from gen_tree import DEFAULT_ENTRIES, TreeInfo, ensure_tree
from gitref import checkout, env_for, short

from auditor.sources.local.source import AUTO_FORK_AFTER

# Wall-time ratio to find by tree size (issue 16): the fixed start-up weighs more on small trees.
TIME_RATIO_TARGETS = ((150_000, 4.0), (500_000, 3.0), (None, 2.5))
MAX_COLD_RATIO = 1.3
MAX_BYTES_PER_CANDIDATE = 8 * 1024
MAX_RSS_MB = 150.0
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
SECTION = "## Scan"
# The generator names some recordings C-NNNN_YYYY-MM-DD_...; attributing them is part of the work.
CONFIG = """\
version: 1
attribution:
  patterns:
    - '(?P<client>C-\\d{4})_(?P<date>\\d{4}-\\d{2}-\\d{2})'
"""


def time_ratio_target(files: int) -> float:
    return next(limit for size, limit in TIME_RATIO_TARGETS if size is None or files <= size)


# The Python floor: list every folder with os.scandir and count the files (d_type, no stat), as
# fast as a Python walker can go. Iterative, depth-first like find.
SCANDIR_FLOOR = """\
import os, sys
stack, files = [sys.argv[1]], 0
while stack:
    with os.scandir(stack.pop()) as it:
        for e in it:
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            elif e.is_file(follow_symlinks=False):
                files += 1
print(files)
"""


@dataclass
class Run:
    wall: float  # seconds
    cpu: float  # user + system seconds
    max_rss_mb: float


@dataclass
class Check:
    name: str
    measured: str
    limit: str
    ok: bool


@dataclass
class Variant:
    """Another way to read the tree, timed in the same alternation as find and the default scan."""

    name: str
    runs: list[Run]
    coverage: dict[str, Any]

    @property
    def wall(self) -> float:
        return min(r.wall for r in self.runs)


@dataclass
class ColdFigures:
    """find, the floor and the scan, each run after the caches were dropped."""

    method: str  # how the caches were dropped
    finds: list[Run]
    floors: list[Run]
    scans: list[Run]

    @staticmethod
    def best(runs: list[Run]) -> float:
        return min(r.wall for r in runs)

    @property
    def ratio(self) -> float:
        return self.best(self.scans) / self.best(self.finds)


@dataclass
class Figures:
    tree: TreeInfo
    finds: list[Run]
    scans: list[Run]
    coverage: dict[str, Any]
    findings: int
    recording_folders: int  # folders holding at least one recording
    phases: list[tuple[str, float, float]] = field(default_factory=list)  # name, seconds, peak RSS after
    variants: list[Variant] = field(default_factory=list)
    floors: list[Run] = field(default_factory=list)  # the bare os.scandir loop
    cold: ColdFigures | None = None
    # --baseline REF: the same scan run by git revision REF's code in the same alternation.
    baseline: tuple[str, list[Run], dict[str, Any]] | None = None

    @property
    def floor_wall(self) -> float:
        return min(r.wall for r in self.floors)

    @property
    def target_ratio(self) -> float:
        return time_ratio_target(self.tree.files)

    def policy_rows(self) -> list[tuple[str, str, str, str, str, str, str]]:
        """(variant, best wall, x find, median cpu, files read, MB read, recordings found) for each
        reading rule. CPU time is the steadier figure when the host's disk is busy."""
        rows = []
        every = [Variant("default: the reading policy", self.scans, self.coverage), *self.variants]
        for v in every:
            c = v.coverage
            rows.append(
                (
                    v.name,
                    f"{v.wall:.2f}",
                    f"{v.wall / self.find_wall:.2f}x",
                    f"{statistics.median(r.cpu for r in v.runs):.2f}",
                    f"{c['candidates']:,}",
                    f"{c['bytes_read'] / 1e6:.1f}",
                    f"{c['recordings']:,}",
                )
            )
        return rows

    # Best of the runs: on a shared machine other work only ever adds time, never removes it.
    @property
    def find_wall(self) -> float:
        return min(r.wall for r in self.finds)

    @property
    def scan_wall(self) -> float:
        return min(r.wall for r in self.scans)

    @property
    def scan_rss(self) -> float:
        return max(r.max_rss_mb for r in self.scans)

    def rows(self) -> list[tuple[str, ...]]:
        """The side-by-side figures: (what, find, the os.scandir floor, scan)."""
        files = self.coverage["files_seen"]
        n = len(self.scans)
        med = statistics.median
        cols = (self.finds, self.floors, self.scans)
        best = [min(r.wall for r in runs) for runs in cols]
        return [
            (f"wall, best of {n} (s)", *(f"{b:.2f}" for b in best)),
            ("x find (best walls)", *(f"{b / self.find_wall:.2f}x" for b in best)),
            ("wall, median (s)", *(f"{med(r.wall for r in runs):.2f}" for runs in cols)),
            ("cpu user+sys, median (s)", *(f"{med(r.cpu for r in runs):.2f}" for runs in cols)),
            ("files / s", *(f"{files / b:,.0f}" for b in best)),
            # find's own figure would include the bench's forked Python, so only the scan's is shown.
            ("peak RSS (MB)", "-", "-", f"{self.scan_rss:.0f}"),
        ]

    def checks(self) -> list[Check]:
        ratio = self.scan_wall / self.find_wall
        per_candidate = self.coverage["bytes_read"] / max(1, self.coverage["candidates"])
        found, planted = self.coverage["recordings"], self.tree.recordings
        checks = [
            Check(
                f"wall-time ratio scan / find ({self.tree.files:,} files)",
                f"{ratio:.2f}x",
                f"<= {self.target_ratio:g}x",
                ratio <= self.target_ratio,
            ),
            Check(
                "bytes read per sniffed file",
                f"{per_candidate / 1024:.2f} KiB",
                f"<= {MAX_BYTES_PER_CANDIDATE // 1024} KiB",
                per_candidate <= MAX_BYTES_PER_CANDIDATE,
            ),
            Check(
                "peak RSS of scan",
                f"{self.scan_rss:.0f} MB",
                f"<= {MAX_RSS_MB:g} MB",
                self.scan_rss <= MAX_RSS_MB,
            ),
            Check("recordings found / planted", f"{found:,} / {planted:,}", "all", found == planted),
        ]
        if self.cold is not None:
            checks.insert(
                1,
                Check(
                    "cold caches: scan / cold find",
                    f"{self.cold.ratio:.2f}x",
                    f"<= {MAX_COLD_RATIO:g}x",
                    self.cold.ratio <= MAX_COLD_RATIO,
                ),
            )
        return checks

    def summary(self) -> str:
        c = self.coverage
        return (
            f"{c['files_seen']:,} files, {c['dirs_seen']:,} folders, {c['candidates']:,} sniffed, "
            f"{c['recordings']:,} recordings, {self.findings:,} findings, {c['bytes_read'] / 1e6:.1f} MB read"
        )

    def baseline_line(self) -> str | None:
        """This checkout's scan against --baseline REF's, best and median walls of the same alternation."""
        if self.baseline is None:
            return None
        ref, runs, coverage = self.baseline
        base = min(r.wall for r in runs)
        med = statistics.median
        same = "same" if coverage.get("recordings") == self.coverage["recordings"] else "DIFFERENT"
        return (
            f"{self.tree.files:,} files: this checkout {self.scan_wall:.2f} s (median "
            f"{med(r.wall for r in self.scans):.2f}), {ref} {base:.2f} s (median {med(r.wall for r in runs):.2f}): "
            f"{self.scan_wall / base:.2f}x {ref}'s time; {self.scan_wall / self.find_wall:.2f}x find against "
            f"{base / self.find_wall:.2f}x; {same} recordings found"
        )


# -- running -----------------------------------------------------------------------------------


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run `cmd` to completion with output discarded; wall time and this child's own rusage."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()  # small: scan runs with -q; drained so the child never blocks on it
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode(errors='replace')}")
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return Run(wall, usage.ru_utime + usage.ru_stime, rss_mb)


# The rule before the reading policy, for comparison: text-like names never read, .ts skipped.
NAMES_ONLY = (
    "import sys\n"
    "from auditor.sources.local import examiner\n"
    "triage = examiner._triage\n"
    "examiner._triage = lambda n: 0 if triage(n) == 2 or n.lower().endswith('.ts') else triage(n)\n"
    "from auditor.cli import main\n"
    "sys.argv = ['auditor', *sys.argv[1:]]\n"
    "main()\n"
)


# The policy for text kept, but .ts/.mts settled by name (never read): what reading them by content costs.
TS_BY_NAME = NAMES_ONLY.replace("triage(n) == 2 or ", "")


def bench(
    tree: TreeInfo, runs: int, workdir: Path, variants: bool = True, baseline: tuple[str, Path] | None = None
) -> Figures:
    config = workdir / "auditor.yaml"
    config.write_text(CONFIG)
    report = workdir / "scan.json"
    find_cmd = ["find", str(tree.root), "-type", "f"]
    scan_args = ["scan", str(tree.root), "--config", str(config), "-q", "--fail-on", "none"]
    scan_cmd = [sys.executable, "-m", "auditor", *scan_args, "-o", str(report)]
    others: list[tuple[str, list[str], Path]] = []
    if variants:
        names_report, deep_report = workdir / "names-only.json", workdir / "deep.json"
        ts_report = workdir / "ts-by-name.json"
        others = [
            ("names only (text never read, .ts skipped)", [sys.executable, "-c", NAMES_ONLY, *scan_args,
             "-o", str(names_report)], names_report),
            (".ts skipped, text by the policy", [sys.executable, "-c", TS_BY_NAME, *scan_args,
             "-o", str(ts_report)], ts_report),
            ("--deep (every file read)", [sys.executable, "-m", "auditor", *scan_args, "--deep", "-o",
             str(deep_report)], deep_report),
        ]  # fmt: skip
    # As an installed tool runs: with its bytecode compiled, as pip does at install. A checkout
    # (editable install) under PYTHONDONTWRITEBYTECODE would otherwise compile every module on
    # every run; the bytecode goes to a cache in the work folder, never into the tree.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    floor_cmd = [sys.executable, "-c", SCANDIR_FLOOR, str(tree.root)]
    base_runs: list[Run] = []
    if baseline is not None:  # REF's code first on PYTHONPATH; the cwd (workdir) holds no package
        base_report = workdir / "baseline.json"
        base_cmd = [sys.executable, "-m", "auditor", *scan_args, "-o", str(base_report)]
        base_env = env_for(baseline[1], {**env, "PYTHONPYCACHEPREFIX": str(workdir / "pycache-baseline")})
    print(f"{tree.files:,} files: warming the cache (one untimed run of each)...", file=sys.stderr)
    timed(find_cmd, workdir)
    timed(floor_cmd, workdir, env)
    timed(scan_cmd, workdir, env)
    if baseline is not None:
        timed(base_cmd, workdir, base_env)
    finds: list[Run] = []
    floors: list[Run] = []
    scans: list[Run] = []
    other_runs: list[list[Run]] = [[] for _ in others]
    # The report is read only after the runs: a child's ru_maxrss starts from its parent's at fork.
    # Alternated, so that all see the same state of the machine; the scans' order rotates from run
    # to run, since each one leaves the page cache as the next one finds it. --deep reads every
    # file and evicts what the others would find cached, so it has a loop of its own, after.
    light = [i for i, (name, _, _) in enumerate(others) if not name.startswith("--deep")]
    heavy = [i for i in range(len(others)) if i not in light]
    for i in range(runs):
        finds.append(timed(find_cmd, workdir))
        floors.append(timed(floor_cmd, workdir, env))
        order = [-1, *([-2] if baseline is not None else []), *light]
        order = order[i % len(order) :] + order[: i % len(order)]
        for which in order:
            if which == -1:
                scans.append(timed(scan_cmd, workdir, env))
            elif which == -2:
                base_runs.append(timed(base_cmd, workdir, base_env))
            else:
                other_runs[which].append(timed(others[which][1], workdir, env))
        extra = "".join(f", {others[j][0].split(' ')[0]} {other_runs[j][-1].wall:.2f} s" for j in light)
        if baseline is not None:
            extra = f", {baseline[0]} {base_runs[-1].wall:.2f} s{extra}"
        print(
            f"  run {i + 1}/{runs}: find {finds[-1].wall:.2f} s, floor {floors[-1].wall:.2f} s, "
            f"scan {scans[-1].wall:.2f} s{extra}",
            file=sys.stderr,
        )
    for i in range(runs):
        for j in heavy:
            other_runs[j].append(timed(others[j][1], workdir, env))
            print(
                f"  run {i + 1}/{runs}: {others[j][0].split(' ')[0]} {other_runs[j][-1].wall:.2f} s",
                file=sys.stderr,
            )
    data = report_facts(report)
    fig = Figures(tree, finds, scans, data["coverage"], data["findings"], data["folders"], floors=floors)
    for (name, _, path), spent in zip(others, other_runs, strict=True):
        fig.variants.append(Variant(name, spent, report_facts(path)["coverage"]))
    if baseline is not None:
        fig.baseline = (baseline[0], base_runs, report_facts(base_report)["coverage"])
    return fig


# A report is read in a child process: read here, its objects would leave this process large, and
# a command it starts after that reports that size as its own peak (ru_maxrss starts from the
# parent's RSS at fork), as the 1M scan after the 300,000-file tree's report once did (178 MB).
REPORT_FACTS = (
    "import json, os, sys\n"
    "data = json.load(open(sys.argv[1], encoding='utf-8'))\n"
    "folders = {os.path.dirname(r['location']) for r in data['recordings']}\n"
    "print(json.dumps({'coverage': data['coverage'], 'findings': len(data['findings']), 'folders': len(folders)}))\n"
)


def report_facts(path: Path) -> dict[str, Any]:
    """A scan report's coverage, number of findings and of folders holding recordings."""
    done = subprocess.run(
        [sys.executable, "-c", REPORT_FACTS, str(path)], capture_output=True, text=True, check=True
    )
    facts: dict[str, Any] = json.loads(done.stdout)
    return facts


DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def drop_caches(root: Path) -> str:
    """Make the next command find the tree cold; says how. The kernel's own switch when it can be
    written (root): page cache, dentries and inodes, machine-wide. Else each file and folder of the
    tree evicted from the page cache (dentries and inodes stay: a milder cold)."""
    os.sync()
    try:
        DROP_CACHES.write_text("3\n")
        return "sync; echo 3 > /proc/sys/vm/drop_caches before every run"
    except OSError:
        pass
    for folder, dirs, files in os.walk(root):
        for name in [*files, *dirs, "."]:
            try:
                fd = os.open(os.path.join(folder, name), os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return "every file and folder evicted with posix_fadvise(DONTNEED) before every run (dentries and inodes stay cached)"


def bench_cold(tree: TreeInfo, runs: int, workdir: Path) -> ColdFigures:
    """find, the floor and the default scan, alternated, each after the caches were dropped."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    config = workdir / "auditor.yaml"
    config.write_text(CONFIG)
    cmds = {
        "find": ["find", str(tree.root), "-type", "f"],
        "floor": [sys.executable, "-c", SCANDIR_FLOOR, str(tree.root)],
        "scan": [sys.executable, "-m", "auditor", "scan", str(tree.root), "--config", str(config), "-q",
                 "--fail-on", "none", "-o", str(workdir / "cold.json")],
    }  # fmt: skip
    spent: dict[str, list[Run]] = {name: [] for name in cmds}
    method = ""
    for i in range(runs):
        for name, cmd in cmds.items():
            method = drop_caches(tree.root)
            spent[name].append(timed(cmd, workdir, env))
        print(
            f"  cold run {i + 1}/{runs}: "
            + ", ".join(f"{name} {spent[name][-1].wall:.2f} s" for name in cmds),
            file=sys.stderr,
        )
    return ColdFigures(method, spent["find"], spent["floor"], spent["scan"])


def breakdown(tree: TreeInfo, workdir: Path) -> list[tuple[str, float, float]]:
    cmd = [sys.executable, __file__, "--phases-child", str(tree.root), str(workdir / "auditor.yaml")]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [(name, seconds, rss) for name, seconds, rss in json.loads(out)]


def phases_child(root: str, config: str) -> None:
    """Run in a child process: time each phase of `auditor scan` in-process, with the peak RSS
    at its end, and print them as JSON.

    Recording facts and rules run inside the walk, so they are timed by wrapping the functions
    that do them (one that no longer exists is simply not split out)."""
    started = time.perf_counter()
    from auditor import engine
    from auditor.cli.common import no_cyclic_gc
    from auditor.contract import iter_json
    from auditor.inputs import load_inputs
    from auditor.outputs.base import write_private
    from auditor.publish import PublishSettings, prepare
    from auditor.result import ResultParts, result_to_dict
    from auditor.sources.base import SourceOptions
    from auditor.sources.local import Examiner

    def peak_mb() -> float:
        # VmHWM starts afresh at exec; ru_maxrss would carry over the forking bench's own peak.
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (
            1024 * 1024 if sys.platform == "darwin" else 1024
        )

    inside: dict[str, float] = {}
    _time_calls(Examiner, "_artifact", "recording facts (volume, exposure, sidecar, dates)", inside)
    _time_calls(engine, "enrich", "rules (enrich and evaluate)", inside)
    _time_calls(engine, "evaluate_bound", "rules (enrich and evaluate)", inside)
    config_obj, registry, ruleset = load_inputs(Path(config), None, ())
    marks = [("imports, config, rules (in-process)", time.perf_counter(), peak_mb())]
    with no_cyclic_gc():  # as `auditor scan` runs: the result's dicts built as each artifact is judged
        parts = ResultParts()
        result = engine.run_scan(
            [root],
            config=config_obj,
            ruleset=ruleset,
            registry=registry,
            as_of=date.today(),
            options=SourceOptions(jobs=1),  # one process, so that the wrapped parts are all timed here
            on_judged=lambda artifact, findings: _timed_part(parts.add, artifact, findings, inside),
            keep=False,
        )
        marks.append(("walk and sniff (listing, 4 KiB heads, classify)", time.perf_counter(), peak_mb()))
        data = result_to_dict(result, parts, summary=False)
        out = Path(config).with_name("phases.json")
        # As publish() prepares it for `-o scan.json`: the summary, and no other step (a JSON-only
        # publish leaves lone surrogates to the encoder).
        prepare(data, PublishSettings(outputs=[out], fail_on="none"))
        marks.append(("result to dict, summarised (publish's preparation)", time.perf_counter(), peak_mb()))
        write_private(out, iter_json(data))  # as `-o scan.json` writes it: streamed, fsync'd
        size_mb = out.stat().st_size / 1e6
        marks.append((f"JSON written ({size_mb:.0f} MB)", time.perf_counter(), peak_mb()))
    previous, phases = started, []
    for name, at, rss in marks:
        if name.startswith("walk"):  # what is left of the scan loop once the wrapped parts are out
            phases.append((name, at - previous - sum(inside.values()), rss))
            phases += [(part, seconds, rss) for part, seconds in inside.items()]
        else:
            phases.append((name, at - previous, rss))
        previous = at
    print(json.dumps(phases))


RESULT_DICTS = "result dicts, built as each artifact is judged"


def _timed_part(add: Callable[..., None], artifact: Any, findings: Any, spent: dict[str, float]) -> None:
    started = time.perf_counter()
    add(artifact, findings)
    spent[RESULT_DICTS] = spent.get(RESULT_DICTS, 0.0) + time.perf_counter() - started


def _time_calls(owner: object, attr: str, bucket: str, spent: dict[str, float]) -> None:
    original: Callable[..., Any] | None = getattr(owner, attr, None)
    if original is None:
        return
    spent.setdefault(bucket, 0.0)

    def timed_call(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[bucket] += time.perf_counter() - started

    setattr(owner, attr, timed_call)


# -- reporting ---------------------------------------------------------------------------------


def machine() -> str:
    return f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def print_report(fig: Figures) -> None:
    tree = fig.tree
    print(
        f"\nScan benchmark: {tree.files:,} files in {tree.dirs:,} folders, {tree.recordings:,} recordings planted"
    )
    print(f"tree: {tree.root}   machine: {machine()}\n")
    print(f"{'':28}{'find -type f':>16}{'os.scandir floor':>18}{'auditor scan':>16}")
    for what, find, floor, scan in fig.rows():
        print(f"{what:28}{find:>16}{floor:>18}{scan:>16}")
    if fig.cold is not None:
        cold = fig.cold
        print(
            f"{'cold caches, best (s)':28}{cold.best(cold.finds):>16.2f}{cold.best(cold.floors):>18.2f}"
            f"{cold.best(cold.scans):>16.2f}"
        )
        print(f"  ({cold.method})")
    print(f"\nscan: {fig.summary()}\n")
    print(f"{'target':44}{'measured':>16}{'limit':>12}  result")
    for c in fig.checks():
        print(f"{c.name:44}{c.measured:>16}{c.limit:>12}  {'ok' if c.ok else 'MISSED'}")
    if fig.variants:
        print(
            f"\n{'reading rule':44}{'best s':>8}{'x find':>8}{'cpu s':>8}{'files read':>12}{'MB read':>9}{'found':>8}"
        )
        for name, wall, ratio, cpu, files, mb, found in fig.policy_rows():
            print(f"{name:44}{wall:>8}{ratio:>8}{cpu:>8}{files:>12}{mb:>9}{found:>8}")
    if fig.phases:
        print(f"\n{'where an in-process scan spends its time':60}{'s':>8}{'peak RSS (MB)':>16}")
        for name, seconds, rss in fig.phases:
            print(f"  {name:58}{seconds:>8.2f}{rss:>16.0f}")
        print(f"  {'total':58}{sum(s for _, s, _ in fig.phases):>8.2f}")
        walk = next(seconds for name, seconds, _ in fig.phases if name.startswith("walk"))
        print(f"the walk and sniff alone: {walk / fig.find_wall:.1f}x find's time")


def size_rows(figs: list[Figures]) -> list[tuple[str, ...]]:
    """One row per tree: files, find, floor (x find), scan (x find), target, result, cpu, peak RSS."""
    rows: list[tuple[str, ...]] = []
    for f in figs:
        ratio = f.scan_wall / f.find_wall
        rows.append(
            (
                f"{f.tree.files:,}",
                f"{f.find_wall:.2f}",
                f"{f.floor_wall:.2f} ({f.floor_wall / f.find_wall:.2f}x)",
                f"{f.scan_wall:.2f} ({ratio:.2f}x)",
                f"<= {f.target_ratio:g}x",
                "ok" if ratio <= f.target_ratio else "missed",
                f"{statistics.median(r.cpu for r in f.scans):.2f}",
                f"{f.scan_rss:.0f}",
            )
        )
    return rows


SIZE_HEAD = (
    "files",
    "find (s)",
    "os.scandir floor (s)",
    "auditor scan (s)",
    "target",
    "",
    "scan cpu (s)",
    "peak RSS (MB)",
)


def print_sizes(figs: list[Figures]) -> None:
    print(f"\nevery tree, best walls of the same alternation; load average {os.getloadavg()[0]:.1f}")
    widths = (11, 10, 22, 20, 9, 8, 13, 14)
    print("".join(f"{h:>{w}}" for h, w in zip(SIZE_HEAD, widths, strict=True)))
    for row in size_rows(figs):
        print("".join(f"{c:>{w}}" for c, w in zip(row, widths, strict=True)))


def markdown(fig: Figures, sizes: list[Figures] | None = None) -> str:
    tree = fig.tree
    lines = [
        SECTION,
        "",
        f"`python bench/bench_scan.py`: `auditor scan -q --fail-on none -o scan.json` against `find DIR -type f` "
        f"on a generated practice-machine tree of {tree.files:,} files in {tree.dirs:,} folders with "
        f"{tree.recordings:,} real recordings ({tree.sidecars} with a sidecar) scattered over "
        f"{fig.recording_folders:,} of them (`bench/gen_tree.py`), with a bare `os.scandir` loop over "
        f"the same tree (the Python floor). Warm cache, the three commands alternated, best of the runs. "
        f"Latest run {date.today().isoformat()} on {machine()}.",
        "",
        "| | find -type f | os.scandir floor | auditor scan |",
        "|---|---:|---:|---:|",
        *[f"| {what} | {find} | {floor} | {scan} |" for what, find, floor, scan in fig.rows()],
        *(
            [
                f"| cold caches, best of {len(fig.cold.scans)} (s) | {fig.cold.best(fig.cold.finds):.2f} | "
                f"{fig.cold.best(fig.cold.floors):.2f} | {fig.cold.best(fig.cold.scans):.2f} |",
                f"| cold caches, x cold find | 1.00x | "
                f"{fig.cold.best(fig.cold.floors) / fig.cold.best(fig.cold.finds):.2f}x | {fig.cold.ratio:.2f}x |",
            ]
            if fig.cold
            else []
        ),
        "",
        f"Scan: {fig.summary()}.",
        *([f"Cold caches: {fig.cold.method}."] if fig.cold else []),
        "",
        "| target | measured | limit | result |",
        "|---|---:|---:|---|",
        *[
            f"| {c.name} | {c.measured} | {c.limit} | {'ok' if c.ok else '**missed**'} |"
            for c in fig.checks()
        ],
    ]
    if fig.variants:
        default, names_only = fig.scan_wall, fig.variants[0].wall
        lines += [
            "",
            'What the reading policy costs (docs/formats.md, "Which files are read"): the same tree, '
            "the same alternation, best of the runs.",
            "",
            "| reading rule | wall, best (s) | x find | cpu, median (s) | files read | MB read | recordings found |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *[
                f"| {n} | {w} | {r} | {cpu} | {f} | {mb} | {found} |"
                for n, w, r, cpu, f, mb, found in fig.policy_rows()
            ],
            "",
            f"The policy (text named after recordings or under transcript-like names, `.ts` by content) "
            f"costs {(default - names_only) / fig.find_wall:+.2f}x find's time over the names-only rule "
            f"(best walls), reading {fig.coverage['candidates'] - fig.variants[0].coverage['candidates']:,} "
            f"more files, and finds {fig.coverage['recordings'] - fig.variants[0].coverage['recordings']:,} "
            "more recordings (the transcripts beside recordings, and transport streams); `--deep` is the upper bound.",
        ]
        ts_rows = [v for v in fig.variants if v.name.startswith(".ts skipped")]
        if ts_rows:
            ts = ts_rows[0]
            lines += [
                "",
                f"Of that, reading `.ts`/`.mts` files by content (TypeScript or a transport stream) costs "
                f"{(default - ts.wall) / fig.find_wall:+.2f}x find's time over settling them by name "
                f"(best walls; cpu {statistics.median(r.cpu for r in fig.scans) - statistics.median(r.cpu for r in ts.runs):+.2f} s, medians), "
                f"reading {fig.coverage['candidates'] - ts.coverage['candidates']:,} more files, and finds "
                f"{fig.coverage['recordings'] - ts.coverage['recordings']:,} more recordings (transport streams).",
            ]
    if fig.phases:
        lines += [
            "",
            "Where the time goes (one in-process run; the process start-up of the CLI comes on top):",
            "",
            "| phase | s | peak RSS after (MB) |",
            "|---|---:|---:|",
            *[f"| {name} | {seconds:.2f} | {rss:.0f} |" for name, seconds, rss in fig.phases],
        ]
        walk = next(seconds for name, seconds, _ in fig.phases if name.startswith("walk"))
        lines += ["", f"The walk and sniff alone take {walk:.2f} s, {walk / fig.find_wall:.1f}x find's time."]
    if sizes and len(sizes) > 1:
        lines += [
            "",
            "Every tree size of issue 16 (the same generator, 1% recordings), each in its own alternation "
            "of find, the floor and the scan, best walls:",
            "",
            "| " + " | ".join(SIZE_HEAD) + " |",
            "|---:|---:|---:|---:|---:|---|---:|---:|",
            *["| " + " | ".join(row) + " |" for row in size_rows(sizes)],
        ]
    lines += ["", NOTES]
    return "\n".join(lines) + "\n"


NOTES = f"""\
Reading the figures: the scan walks large trees in forked worker processes (`--jobs`, by default
one per CPU on a warm disk, four per CPU on a cold one, two where the filesystem cannot say (it
answers no RWF_NOWAIT read), at most 8, once the walk has listed
{AUTO_FORK_AFTER:,} files; the parent walks breadth-first
until then and until the frontier is wide enough to share out, see Parallelism). The phase table
is one single-process run, so its rows add up to more than the wall time of the parallel scan.
Three floors, in the same alternation: `find -type f` (C, reads folders only: d_type, no stat),
the bare `os.scandir` loop (what any Python walker pays before doing anything with a file), and
the scan. What the scan adds over the Python floor: its start-up (~0.09 s, see Start-up), reading
the policy's candidates (the extension-less, .zip, .tmp, .dat, .db files and the text beside
recordings: ~7% of the files, a 4 KiB head each), classifying them, and per recording its facts
(volume, exposure, sidecar, dates), the rules and its findings (four or five each, ~1.2 KB of JSON
apiece with controls and remediation). Cold caches (`--cold`): find reads only folders; the scan
also opens each candidate and reads its head, which on a cold disk waits for the device; the heads
of a folder's candidates are requested together (POSIX_FADV_WILLNEED, up to 32 at a time) so the
disk serves them in parallel. The spread is this shared 2-core host: in its busy spells every
command needs ~30% more CPU, and the scan, using both cores, loses more wall time than find, using
one. Its page cache is also trimmed within seconds (DAMON). Compare best-of figures from one run,
and re-run before reading anything into a 0.1x change. History on the 1M tree: 10.3x find (first
version), 9.0x (walker without per-entry path functions), 3.4x (parallel walk, compact JSON
encoded per item by the C encoder, shared real-path cache, no cyclic GC during a scan), 2.4-2.9x
(objects frozen before exit; fscrypt asked once per filesystem), then the reading policy for
text-like files (+3.5x: it reads the transcripts beside recordings) and .ts by content (+2x),
then forking after 5,000 files instead of 100,000 (`--baseline d01864c`, same alternation: 0.80x
its time at 100,000 files, 0.76x at 300,000, 0.87x at 1,000,000), then one worker per CPU on a
warm disk (bench_jobs, 300,000 files: 1.06 s against 1.16 s for `-j 4`), then a JSON-only
publish that leaves lone surrogates to the encoder and a one-pass summary (`--baseline a499582`:
0.92x its time at 1,000,000 files), and eight processes on a cold disk instead of four (cold,
1.55x find's time -> 1.2x), then forking after 1,000 files instead of 5,000 (100,000 files,
medians of 10 alternated: 0.326 s against 0.337 s; `--baseline a6ba6cf`: 0.97x at 100,000 files,
1.01x at 300,000).
Peak memory (issue 16): each artifact is freed once judged (only the result's dicts are kept),
the check for lone surrogates (when another output or step needs it) encodes a result's long
lists 2,048 items at a time, not the whole result at once, and the JSON is written from views of
those slices, never copies. Tried and left out: no readahead on sniffed files (POSIX_FADV_RANDOM)
made a cold-cache scan slower (6.8 s against 6.0 s), since the embedded-date reads then each wait
for the disk; opening the next folders' candidates in threads, eight per worker, several folders
ahead, made it slower too (300,000 files: 2.4-2.7 s against 2.1-2.5 s): the cold scan is short of
CPU, not of reads in flight (its sys time doubles cold), and the threads' hand-offs cost more.
As many processes as CPUs is faster warm (300,000 files: 1.03 s against 1.16 s for twice as
many) but slower cold (2.6-3.0 s against 2.2-2.4 s; eight: 1.8-1.9 s), so the default asks the
page cache (a read with RWF_NOWAIT, which never waits for the disk) about each head it reads
before the fork, and forks one per CPU only when at least 90% were there."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--entries",
        type=int,
        nargs="+",
        default=[DEFAULT_ENTRIES],
        help="files in the generated tree; several sizes: one tree and alternation each, the largest in full",
    )
    parser.add_argument(
        "--cold", action="store_true", help="also time the largest tree with cold caches (see above)"
    )
    parser.add_argument("--cold-runs", type=int, default=3, help="cold runs of each command")
    parser.add_argument(
        "--dir", type=Path, help="tree location (default: a temp dir named by the parameters)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--runs", type=int, default=5, help="timed runs of each command (best and median reported)"
    )
    parser.add_argument(
        "--no-breakdown", action="store_true", help="skip the in-process run timing each phase"
    )
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument(
        "--no-variants", action="store_true", help="skip the names-only and --deep runs (the policy's cost)"
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also time git revision REF's scan in the same alternation, and compare (never written to the docs)",
    )
    parser.add_argument("--phases-child", nargs=2, metavar=("ROOT", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phases_child:
        phases_child(*args.phases_child)
        return 0
    if args.dir and len(args.entries) > 1:
        parser.error("--dir takes one tree: give one --entries with it")
    sizes = sorted(set(args.entries))
    figs: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp, contextlib.ExitStack() as stack:
        baseline = None
        if args.baseline:
            baseline = (
                short(args.baseline),
                stack.enter_context(checkout(args.baseline, "bench-scan-baseline-")),
            )
        for entries in sizes:
            largest = entries == sizes[-1]
            tree = ensure_tree(args.dir, entries, seed=args.seed)
            work = Path(tmp) / str(entries)
            work.mkdir()
            fig = bench(tree, args.runs, work, variants=largest and not args.no_variants, baseline=baseline)
            if largest and args.cold:
                fig.cold = bench_cold(tree, args.cold_runs, work)
            if largest and not args.no_breakdown:
                fig.phases = breakdown(tree, work)
            figs.append(fig)
    fig = figs[-1]
    for other in figs[:-1]:
        print(f"\n{other.tree.files:,} files: {other.summary()}")
    print_report(fig)
    if len(figs) > 1:
        print_sizes(figs)
    if args.baseline:
        print(f"\nagainst {args.baseline}, best walls of the same alternation:")
        for f in figs:
            print(f"  {f.baseline_line()}")
    # Only a full-size run speaks for the documented figures; a quick run never replaces them.
    if not args.no_write and fig.tree.params["entries"] == DEFAULT_ENTRIES and not args.baseline:
        write_section(markdown(fig, figs))
        print(f"\nwrote the {SECTION!r} section of {DOCS}")
    missed = [c.name for f in figs for c in f.checks() if not c.ok]
    if missed:
        print(f"\nmissed: {'; '.join(missed)}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
