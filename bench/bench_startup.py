"""Start-up benchmark: what `auditor` costs before it does any work, and which imports it pays for.

Whole-process wall times, best of --runs runs alternated in one loop (medians shown too), of:

  * `find EMPTY_DIR` (a C program's start-up: the same-run baseline) and `python -c pass` (the
    interpreter's own floor, which no Python tool gets under), and the same interpreter writing and
    fsyncing 20 KB (what the disk adds: a scan fsyncs its report before renaming it into place);
  * `auditor --version`;
  * `auditor scan EMPTY_DIR -o x.json` without a config;
  * the same with a config and a consent registry (examples/auditor.yaml and consent.yaml);
  * `auditor watch TINY_TREE` until its status says the catch-up scan is done (a tree of one
    recording and a few files; fewer runs, each ending with SIGTERM), which has no target.

The commands run as an installed tool runs: the console script beside this Python, bytecode
compiled (into a cache in the work folder: this environment may set PYTHONDONTWRITEBYTECODE).
Then each auditor command runs five more times under `python -X importtime`, and the imports that
cost the most (each one's least over the five) are listed: each other package with everything it imported, each auditor module on its
own (importtime's own overhead inflates every figure alike).

Targets: `--version` at most 60 ms, the empty scan at most 120 ms, with config and registry at
most 160 ms. `--baseline REF` times git revision REF's code in the same alternation and adds
ratios (such a run never rewrites the docs, as in bench_scan.py). The exit status is 1 when a
target is missed; a full run (--runs at least 20) rewrites the "## Start-up" section of
docs/benchmarks.md (--no-write to skip).

    python bench/bench_startup.py
    python bench/bench_startup.py --baseline ebc76eb --runs 30
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdoc import write_section
from gitref import checkout, env_for, short

REPO = Path(__file__).resolve().parent.parent
SECTION = "## Start-up"
TOP_IMPORTS = 12
FULL_RUNS = 20


@dataclass
class Command:
    name: str
    args: list[str]  # after the program
    target_ms: float | None  # None: a baseline, no target
    auditor: bool = True
    times: dict[str, list[float]] = field(default_factory=dict)  # code label -> seconds per run

    def best(self, label: str) -> float:
        return min(self.times[label])

    def median(self, label: str) -> float:
        return statistics.median(self.times[label])


def auditor_program() -> list[str]:
    """The console script installed beside this Python (what a user runs), else `python -m auditor`."""
    script = Path(sys.executable).with_name("auditor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "auditor"]


def commands(work: Path) -> list[Command]:
    empty = work / "empty"
    empty.mkdir()
    # Not in the working folder, where a scan picks up ./auditor.yaml by itself: the scan "without
    # a config" would read it (before 2026-12-02 it did, so that row was timed with the config).
    files = work / "policy"
    files.mkdir()
    (files / "consent.yaml").write_text((REPO / "examples" / "consent.yaml").read_text())
    # The example policy, less its state folder (a breach register is another benchmark's business).
    policy = re.sub(r"(?m)^state_dir:.*\n", "", (REPO / "examples" / "auditor.yaml").read_text())
    (files / "auditor.yaml").write_text(policy)
    out = str(work / "x.json")
    scan = ["scan", str(empty), "-o", out, "-q", "--fail-on", "none"]
    return [
        Command("find EMPTY_DIR", ["find", str(empty)], None, auditor=False),
        Command("python -c pass", [sys.executable, "-c", "pass"], None, auditor=False),
        # What the disk adds: every scan fsyncs its report (~20 KB when empty) before renaming it.
        Command(
            "python: write and fsync 20 KB",
            [sys.executable, "-c", FSYNC_20K, str(work / "fsync.tmp")],
            None,
            auditor=False,
        ),
        Command("auditor --version", ["--version"], 60),
        Command("auditor scan EMPTY_DIR -o x.json", scan, 120),
        Command(
            "... with a config and a consent registry",
            [*scan, "--config", str(files / "auditor.yaml"), "--consent", str(files / "consent.yaml")],
            160,
        ),
    ]


FSYNC_20K = (
    "import os, sys\n"
    "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)\n"
    "os.write(fd, b'x' * 20000)\n"
    "os.fsync(fd)\n"
    "os.close(fd)\n"
)


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode(errors='replace')}"
        )
    return elapsed


def run(cmds: list[Command], codes: dict[str, Path | None], runs: int, work: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    program = auditor_program()
    envs = {}
    for label, code in codes.items():
        envs[label] = env_for(code, env)
        envs[label]["PYTHONPYCACHEPREFIX"] = str(work / "pycache" / label)
    jobs = [
        (cmd, label, (program + cmd.args) if cmd.auditor else cmd.args)
        for cmd in cmds
        for label in (codes if cmd.auditor else ["-"])
    ]
    for cmd, label, argv in jobs:  # once untimed: the bytecode cache and the page cache
        timed(argv, work, envs.get(label, env))
        cmd.times[label] = []
    for i in range(runs):
        for cmd, label, argv in jobs:
            cmd.times[label].append(timed(argv, work, envs.get(label, env)))
        if (i + 1) % 10 == 0 or i + 1 == runs:
            print(f"  {i + 1}/{runs} runs", file=sys.stderr)


WATCH_RUNS_DIVISOR = 4  # each watch start-up run is longer: a quarter as many runs


def tiny_tree(work: Path) -> Path:
    tree = work / "tiny"
    (tree / "Clinic").mkdir(parents=True)
    shutil.copyfile(REPO / "tests" / "fixtures" / "media" / "session.amr", tree / "Clinic" / "session.amr")
    for n in range(5):
        (tree / f"note-{n}.txt").write_text("nothing to see\n")
    return tree


def _caught_up(status: Path) -> bool:
    try:
        return bool(json.loads(status.read_text())["health"]["caught_up"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def watch_start(program: list[str], tree: Path, state: Path, cwd: Path, env: dict[str, str]) -> float:
    """Seconds from launching `auditor watch` to its status saying the catch-up scan is done."""
    shutil.rmtree(state, ignore_errors=True)
    argv = [*program, "watch", str(tree), "--state-dir", str(state), "--no-syslog", "--log-level", "warning"]
    started = time.perf_counter()
    daemon = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        status = state / "status.json"
        while not _caught_up(status):
            if daemon.poll() is not None:
                err = daemon.stderr.read().decode(errors="replace") if daemon.stderr else ""
                raise SystemExit(f"{' '.join(argv)} ended ({daemon.returncode}) before catching up:\n{err}")
            if time.perf_counter() - started > 60:
                raise SystemExit(f"{' '.join(argv)} did not catch up within 60 s")
            time.sleep(0.002)
        return time.perf_counter() - started
    finally:
        daemon.terminate()
        daemon.wait(30)


def run_watch(cmd: Command, codes: dict[str, Path | None], runs: int, work: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    program = auditor_program()
    tree = tiny_tree(work)
    envs = {}
    for label, code in codes.items():
        envs[label] = env_for(code, env)
        envs[label]["PYTHONPYCACHEPREFIX"] = str(work / "pycache" / label)
        watch_start(program, tree, work / "state", work, envs[label])  # untimed: caches
        cmd.times[label] = []
    for _ in range(runs):
        for label in codes:
            cmd.times[label].append(watch_start(program, tree, work / "state", work, envs[label]))


def import_times(argv: list[str], cwd: Path, env: dict[str, str]) -> list[tuple[int, str, float, float]]:
    """(depth, module, self ms, cumulative ms) of one run under -X importtime, in its order: a module
    comes after everything it imported, which are indented one level more."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], cwd=cwd, env=env, capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((len(m[3]) // 2, m[4], int(m[1]) / 1000, int(m[2]) / 1000))
    return rows


def top_imports(rows: list[tuple[int, str, float, float]], n: int) -> list[tuple[str, float]]:
    """What costs most: each other package with all it imported (counted where it is entered from
    another package), and each auditor module on its own (self time)."""
    cost: dict[str, float] = {}
    for i, (depth, name, own, cumulative) in enumerate(rows):
        package = name.split(".")[0]
        if package == "auditor":
            cost[name] = cost.get(name, 0.0) + own
            continue
        parent = next((r[1] for r in rows[i + 1 :] if r[0] < depth), "")
        if parent.split(".")[0] != package:  # entered here
            cost[package] = cost.get(package, 0.0) + cumulative
    return sorted(cost.items(), key=lambda item: -item[1])[:n]


IMPORTTIME_RUNS = 5


def steady_top_imports(argv: list[str], cwd: Path, env: dict[str, str], n: int) -> list[tuple[str, float]]:
    """top_imports of IMPORTTIME_RUNS runs, each module's least cost: one run on a shared host
    shows whichever import the scheduler happened to interrupt."""
    runs = [dict(top_imports(import_times(argv, cwd, env), 10_000)) for _ in range(IMPORTTIME_RUNS)]
    least = {m: min(r.get(m, ms) for r in runs) for m, ms in runs[0].items()}
    return sorted(least.items(), key=lambda item: -item[1])[:n]


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"load average {load:.1f}"
    )


def table(cmds: list[Command], labels: list[str], baseline: str | None) -> list[str]:
    find, floor = cmds[0].best("-"), cmds[1].best("-")
    head = "| command | best (ms) | median (ms) | x find | over `python -c pass` (ms) | target | |"
    rule = "|---|---:|---:|---:|---:|---:|---|"
    if baseline:
        head += f" {baseline}: best (ms) | ratio |"
        rule += "---:|---:|"
    lines = [head, rule]
    for cmd in cmds:
        label = "-" if not cmd.auditor else labels[0]
        best, median = cmd.best(label) * 1e3, cmd.median(label) * 1e3
        target = f"<= {cmd.target_ms:g}" if cmd.target_ms else ""
        verdict = "" if cmd.target_ms is None else ("ok" if best <= cmd.target_ms else "**missed**")
        row = (
            f"| `{cmd.name}` | {best:.0f} | {median:.0f} | {best / 1e3 / find:.0f}x | "
            f"{f'{best - floor * 1e3:.0f}' if cmd.auditor else ''} | {target} | {verdict} |"
        )
        if baseline:
            if cmd.auditor:
                base = cmd.best(baseline) * 1e3
                row += f" {base:.0f} | {best / base:.2f}x |"
            else:
                row += " | |"
        lines.append(row)
    return lines


def iter_report(
    cmds: list[Command],
    labels: list[str],
    baseline: str | None,
    imports: list[tuple[str, list[tuple[str, float]]]],
) -> Iterator[str]:
    yield from table(cmds, labels, baseline)
    for name, top in imports:
        yield ""
        yield (
            f"Top imports of `{name}` (ms under -X importtime, least of {IMPORTTIME_RUNS} runs; "
            "a package with what it imports):"
        )
        yield ""
        yield "| module | ms |"
        yield "|---|---:|"
        for module, ms in top:
            yield f"| `{module}` | {ms:.1f} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=FULL_RUNS, help="timed runs of each command")
    parser.add_argument("--baseline", metavar="REF", help="also time git revision REF's code, and compare")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-startup-")))
        codes: dict[str, Path | None] = {"this checkout": None}
        baseline = None
        if args.baseline:
            baseline = short(args.baseline)
            codes[baseline] = stack.enter_context(checkout(args.baseline, "bench-startup-baseline-"))
        cmds = commands(work)
        run(cmds, codes, args.runs, work)
        watch = Command("auditor watch TINY_TREE until caught up", [], None)
        run_watch(watch, codes, max(3, args.runs // WATCH_RUNS_DIVISOR), work)
        print(f"  watch: {len(watch.times[next(iter(codes))])} runs", file=sys.stderr)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache" / "this checkout")
        imports = [
            (cmd.name, steady_top_imports(["-m", "auditor", *cmd.args], work, env, TOP_IMPORTS))
            for cmd in cmds
            if cmd.auditor
        ]
        shutil.rmtree(work / "pycache", ignore_errors=True)
    labels = list(codes)
    lines = list(iter_report([*cmds, watch], labels, baseline, imports))
    print(f"\nStart-up, best of {args.runs} alternated runs; {machine()}\n")
    print("\n".join(lines))
    missed = [c.name for c in cmds if c.target_ms is not None and c.best(labels[0]) * 1e3 > c.target_ms]
    if not args.no_write and args.runs >= FULL_RUNS and not args.baseline:
        write_section(
            "\n".join(
                [
                    SECTION,
                    "",
                    f"`python bench/bench_startup.py`: whole-process wall times, best of {args.runs} runs of each "
                    "command alternated in one loop, as an installed tool runs (the console script, bytecode "
                    f"compiled). Latest run {date.today().isoformat()} on {machine()}.",
                    "",
                    *lines,
                    "",
                    NOTES,
                ]
            )
            + "\n"
        )
        print(f"\nwrote the {SECTION!r} section of docs/benchmarks.md")
    if missed:
        print(f"\nmissed: {', '.join(missed)}", file=sys.stderr)
    return 1 if missed else 0


NOTES = """\
Reading the figures: `python -c pass` is the floor every Python tool starts from. Above it, a
subcommand's own modules are imported only when it runs (`auditor --version` imports none), and a
local scan imports neither jsonschema (valid files pass a compiled check of the same schemas;
jsonschema only explains a file that fails it), nor multiprocessing (only to fork workers), nor
the breach register, the watch daemon, jinja2 or boto3, nor importlib.metadata (the installed
plugins' entry points, and the project's addresses a SARIF report names, are read from the
.dist-info folders, once), nor PyYAML unless the user gives a YAML file (the built-in rule packs
are read from their snapshot, auditor/rules/snapshot.py), nor subprocess (only when a volume probe
runs a command). What remains is click, the dataclasses of the scan's path (about a quarter of
it: Python 3.11 compiles each generated method on its own), the rules and the local source. Every
`auditor scan` also fsyncs its report before renaming it into place (a report is never
half-written): on a host whose disk is busy, that one call can cost more than the imports. The
last two columns time the code of another revision (`--baseline`) in the same alternation. Until
2026-12-02 the scan "without a config" ran in the folder that held the benchmark's auditor.yaml,
which a scan picks up from its working folder: that row was timed with the config (the
configuration files now lie in a folder of their own). Same alternation, `--baseline f9030c3`,
best of 30: the empty scan 99 ms against 123 ms, with a config 113 ms against 122 ms."""


if __name__ == "__main__":
    sys.exit(main())
