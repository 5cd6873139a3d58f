"""Parallelism benchmark: `auditor scan` with `-j 1`, `-j 2`, `-j 4` and the default (one process
until the walk has listed AUTO_FORK_AFTER files, then one per CPU when the heads read so far were in
the page cache, as they are here, four per CPU when not, two where the filesystem cannot say, at
most 8), against `find DIR -type f`,
on generated trees of several sizes (bench/gen_tree.py, 1% recordings).

`--cold` also times the largest tree with cold caches (bench_scan.py's way: the kernel's caches
dropped before every run, or every file evicted where that needs root): find, `-j 2`, `-j 4`, `-j 8`
and the default, alternated, --cold-runs rounds. How many processes a cold disk wants.

Each tree: every command once untimed (caches), then --runs rounds alternating them. Wall time
best and median, and the median CPU (user + sys of the command and the workers it waited for):
forking shows as CPU a small tree never wins back, parallel walking as wall time saved on a
large one. A run at the default sizes rewrites the "## Parallelism" section of
docs/benchmarks.md (--no-write to skip).

    python bench/bench_jobs.py                          # 20k, 100k, 300k files
    python bench/bench_jobs.py --entries 100000 1000000 --runs 3
    python bench/bench_jobs.py --entries 300000 --cold --no-write
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scan import drop_caches
from benchdoc import write_section
from gen_tree import ensure_tree

from auditor.sources.local.source import AUTO_FORK_AFTER

SECTION = "## Parallelism"
DEFAULT_SIZES = [20_000, 100_000, 300_000]
VARIANTS = {"-j 1": ["-j", "1"], "-j 2": ["-j", "2"], "-j 4": ["-j", "4"], "default": []}
# Cold, -j 1 would take minutes on a large tree and tells nothing the others do not.
COLD_VARIANTS = {"-j 2": ["-j", "2"], "-j 4": ["-j", "4"], "-j 8": ["-j", "8"], "default": []}


def auditor_program() -> list[str]:
    script = Path(sys.executable).with_name("auditor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "auditor"]


def once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, env=env, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def commands_for(root: Path, work: Path, variants: dict[str, list[str]]) -> dict[str, list[str]]:
    commands = {"find -type f": ["find", str(root), "-type", "f"]}
    for name, extra in variants.items():
        commands[name] = [*auditor_program(), "scan", str(root), "-q", "--fail-on", "none",
                          "-o", str(work / "scan.json"), *extra]  # fmt: skip
    return commands


def bench_tree(
    root: Path, runs: int, work: Path, env: dict[str, str]
) -> dict[str, tuple[list[float], list[float]]]:
    commands = commands_for(root, work, VARIANTS)
    for argv in commands.values():
        once(argv, env)
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            wall, cpu = once(argv, env)
            times[name][0].append(wall)
            times[name][1].append(cpu)
    return times


def bench_cold(root: Path, runs: int, work: Path, env: dict[str, str]) -> tuple[str, dict[str, list[float]]]:
    """The cold variants, alternated, each run after the caches were dropped: (how, walls)."""
    commands = commands_for(root, work, COLD_VARIANTS)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    method = ""
    for i in range(runs):
        for name, argv in commands.items():
            method = drop_caches(root)
            walls[name].append(once(argv, env)[0])
        print(f"  cold round {i + 1}/{runs}: " + ", ".join(f"{n} {w[-1]:.2f} s" for n, w in walls.items()),
              file=sys.stderr)  # fmt: skip
    return method, walls


def cold_lines(files: int, method: str, walls: dict[str, list[float]]) -> list[str]:
    find = min(walls["find -type f"])
    lines = [
        f"Cold caches ({method}), {files:,} files, alternated, best of {len(walls['find -type f'])}:",
        "",
        "| command | wall best (s) | wall median (s) | x cold find (best) |",
        "|---|---:|---:|---:|",
    ]
    for name, runs in walls.items():
        lines.append(
            f"| `{name}` | {min(runs):.2f} | {statistics.median(runs):.2f} | {min(runs) / find:.2f}x |"
        )
    return lines


def machine() -> str:
    return (
        f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, nargs="+", default=DEFAULT_SIZES, help="tree sizes (files)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--cold", action="store_true", help="also time the largest tree with cold caches")
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    lines = [
        "| tree (files) | command | wall best (s) | wall median (s) | x find (best) | cpu median (s) | x `-j 1` cpu |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
        work = Path(tmp)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        for entries in args.entries:
            info = ensure_tree(None, entries)
            times = bench_tree(info.root, args.runs, work, env)
            find = min(times["find -type f"][0])
            single_cpu = statistics.median(times["-j 1"][1])
            for name, (walls, cpus) in times.items():
                ratio = "" if name.startswith("find") else f"{statistics.median(cpus) / single_cpu:.2f}x"
                lines.append(
                    f"| {info.files:,} | `{name}` | {min(walls):.2f} | {statistics.median(walls):.2f} | "
                    f"{min(walls) / find:.2f}x | {statistics.median(cpus):.2f} | {ratio} |"
                )
            print("\n".join(lines), flush=True)
        cold: list[str] = []
        if args.cold:
            info = ensure_tree(None, max(args.entries))
            method, walls = bench_cold(info.root, args.cold_runs, work, env)
            cold = ["", *cold_lines(info.files, method, walls)]
            print("\n".join(cold), flush=True)
    print(f"\nbest of {args.runs}; {machine()}")
    if not args.no_write and args.entries == DEFAULT_SIZES:
        write_section(
            "\n".join(
                [
                    SECTION,
                    "",
                    f"`python bench/bench_jobs.py`: `auditor scan` with `-j 1`, `-j 2`, `-j 4` and the default, "
                    f"against `find -type f`, alternated, best of {args.runs}, on generated trees "
                    f"(bench/gen_tree.py, 1% recordings). Latest run {date.today().isoformat()} on {machine()}.",
                    "",
                    *lines,
                    *cold,
                    "",
                    NOTES,
                ]
            )
            + "\n"
        )
        print(f"wrote the {SECTION!r} section of docs/benchmarks.md")
    return 0


NOTES = f"""\
The default walks in one process until it has listed {AUTO_FORK_AFTER:,} files
(`auditor/sources/local/source.py` AUTO_FORK_AFTER), then forks one process per CPU it may run on
when at least 90% of the file heads it read were in the page cache (as on these warm runs), four
per CPU when not (a cold disk, where more reads in flight win and a worker waiting on the disk costs
no CPU: `--cold`), two per CPU where the filesystem cannot say (tmpfs, some network and FUSE
filesystems answer no RWF_NOWAIT read), at most 8, for the rest; `--jobs N`
forks N as soon as the breadth-first frontier is wide enough. CPU
is the command's and its workers' user + sys: what the forks cost. On a busy host more processes
also win a larger share of the CPUs, which flatters the forking settings' wall times; compare the
CPU column."""


if __name__ == "__main__":
    sys.exit(main())
