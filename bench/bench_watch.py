"""Watch benchmark: from a recording's last write to its line in `auditor watch --events`, and idle CPU.

Runs the real daemon (`python -m auditor watch --settle 0.5`) on a fresh folder and:
  * drops 1,000 real recordings in a burst (copied as fast as possible), and
  * drops 10 one by one (a pause between them),
timing each from the moment its copy was closed to the moment its first event line appeared in
the events file (a tailer reads the file every 2 ms). Then it leaves the daemon idle and reads
its CPU time from /proc/PID/stat over --idle seconds.

Targets: single drops p99 <= settle + 1 s; burst p99 <= settle + 5 s; idle CPU < 1% of one core.
The table is always printed and written to docs/benchmarks.md under "## Watch" (that section
only); the exit status is 1 when a target is missed.

`--baseline REF` runs every scenario a second time, in the same run and just before this
checkout's, with the daemon of git revision REF (a temporary worktree), and adds the ratio of
this checkout's latency to the baseline's: the machine's noise cancels out of a ratio.

    python bench/bench_watch.py
    python bench/bench_watch.py --baseline main~5
    python bench/bench_watch.py --burst 200 --idle 5 --no-write   # a quick look
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchdoc import write_section  # bench/ is the script's own folder
from gitref import checkout

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "tests" / "fixtures" / "media" / "session.amr"
DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "## Watch"


class Tailer(threading.Thread):
    """Notes when each location's first event line shows up in the events file."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.first_seen: dict[str, float] = {}
        self.lines = 0
        self._stop = threading.Event()

    def run(self) -> None:
        while not self.path.exists() and not self._stop.is_set():
            time.sleep(0.002)
        with open(self.path, encoding="utf-8") as handle:
            pending = ""
            while not self._stop.is_set():
                chunk = handle.read()
                if not chunk:
                    time.sleep(0.002)
                    continue
                now = time.time()
                pending += chunk
                *complete, pending = pending.split("\n")
                for line in complete:
                    if line.strip():
                        self.lines += 1
                        self.first_seen.setdefault(json.loads(line)["location"], now)

    def stop(self) -> None:
        self._stop.set()


@dataclass
class Row:
    name: str
    count: int
    p50: float
    p99: float
    worst: float
    target: float

    @property
    def ok(self) -> bool:
        return self.p99 <= self.target


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def drop(target: Path) -> float:
    shutil.copyfile(SAMPLE, target)
    return time.time()  # the copy is closed: its last write is done


def latencies(tailer: Tailer, written: dict[str, float], timeout: float) -> list[float]:
    wait_until(lambda: all(p in tailer.first_seen for p in written), timeout, "every recording's event")
    return [tailer.first_seen[p] - t for p, t in written.items()]


def run(args: argparse.Namespace, polling: bool, code: Path | None = None) -> tuple[list[Row], float]:
    """One scenario with this checkout's daemon, or with the one whose source is at `code`."""
    work = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    tree, events, state = work / "tree", work / "events.jsonl", work / "state"
    (tree / "burst").mkdir(parents=True)
    (tree / "single").mkdir()
    command = [sys.executable, "-m", "auditor", "watch", str(tree), "--settle", str(args.settle)]
    command += ["--events", str(events), "--state-dir", str(state), "--no-syslog", "--log-level", "warning"]
    if polling:
        command += ["--poll", "--poll-interval", str(args.poll_interval)]
    env = dict(os.environ, PYTHONPATH=str(code)) if code is not None else None
    daemon = subprocess.Popen(command, cwd=work, env=env)  # cwd: no checkout shadows the other
    tailer = Tailer(events)
    tailer.start()
    try:
        wait_until(lambda: (state / "status.json").exists() and _caught_up(state), 30, "the daemon to start")
        burst = {str(tree / "burst" / f"s{n:05d}.amr"): 0.0 for n in range(args.burst)}
        for path in burst:
            burst[path] = drop(Path(path))
        burst_lat = latencies(tailer, burst, 120)
        single_lat = []
        for n in range(args.single):
            time.sleep(args.pause)
            path = str(tree / "single" / f"one-{n}.amr")
            single_lat += latencies(tailer, {path: drop(Path(path))}, 30)
        time.sleep(2)  # let the last state save and status write pass
        before, t0 = cpu_seconds(daemon.pid), time.monotonic()
        time.sleep(args.idle)
        idle_pct = 100 * (cpu_seconds(daemon.pid) - before) / (time.monotonic() - t0)
    finally:
        tailer.stop()
        daemon.terminate()
        daemon.wait(30)
        shutil.rmtree(work, ignore_errors=True)
    # Polling first has to notice the file: one poll interval more.
    extra = args.poll_interval if polling else 0.0
    how = f"polling every {args.poll_interval} s" if polling else "inotify"
    rows = [
        _row(f"{how}: burst of {args.burst}", burst_lat, args.settle + extra + 5),
        _row(f"{how}: {args.single} one by one", single_lat, args.settle + extra + 1),
    ]
    return rows, idle_pct


def machine() -> dict[str, str]:
    return {
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "filesystem": _fs_type(Path(tempfile.gettempdir())),
    }


def _caught_up(state: Path) -> bool:
    try:
        return bool(json.loads((state / "status.json").read_text())["health"]["caught_up"])
    except (OSError, ValueError, KeyError):
        return False


def _fs_type(path: Path) -> str:
    try:
        out = subprocess.run(["df", "-T", str(path)], capture_output=True, text=True, check=True).stdout
        return out.splitlines()[1].split()[1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "?"


def _row(name: str, values: list[float], target: float) -> Row:
    return Row(name, len(values), percentile(values, 50), percentile(values, 99), max(values), target)


def table(
    runs: list[tuple[list[Row], float, str]],
    args: argparse.Namespace,
    baseline: list[tuple[list[Row], float, str]] | None = None,
) -> str:
    ratio_head = f" p50 / {args.baseline} | p99 / {args.baseline} |" if baseline else ""
    lines = [
        "| drop | recordings | p50 | p99 | worst | target (p99) | |" + ratio_head,
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |" + (" ---: | ---: |" if baseline else ""),
    ]
    for n, (rows, idle_pct, how) in enumerate(runs):
        for m, r in enumerate(rows):
            verdict = "ok" if r.ok else "MISSED"
            ratios = ""
            if baseline:
                base = baseline[n][0][m]
                ratios = f" {r.p50 / max(base.p50, 1e-6):.2f}x | {r.p99 / max(base.p99, 1e-6):.2f}x |"
            lines.append(
                f"| {r.name} | {r.count} | {r.p50 * 1000:.0f} ms | {r.p99 * 1000:.0f} ms "
                f"| {r.worst * 1000:.0f} ms | {r.target:.1f} s | {verdict} |{ratios}"
            )
        verdict = "ok" if idle_pct < 1.0 else "MISSED"
        base_idle = f" CPU {baseline[n][1]:.2f}% | |" if baseline else ""
        lines.append(
            f"| {how}: idle for {args.idle:.0f} s | | | | | CPU {idle_pct:.2f}% of one core (target < 1%) "
            f"| {verdict} |{base_idle}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--single", type=int, default=10)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between single drops")
    parser.add_argument("--settle", type=float, default=0.5)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measurement")
    parser.add_argument("--poll-interval", type=float, default=2.0, help="as the daemon's default")
    parser.add_argument("--no-polling", action="store_true", help="skip the run with --poll")
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOCS.relative_to(REPO)}")
    parser.add_argument("--baseline", metavar="REF", help="also run git revision REF's daemon, and compare")
    args = parser.parse_args()
    runs, baseline = [], []
    with contextlib.ExitStack() as stack:
        code = stack.enter_context(checkout(args.baseline)) if args.baseline else None
        for polling in (False, True) if not args.no_polling else (False,):
            how = "polling" if polling else "inotify"
            if code is not None:  # interleaved: each scenario's two runs see the same machine
                baseline.append((*run(args, polling, code), how))
            rows, idle_pct = run(args, polling)
            runs.append((rows, idle_pct, how))
    result = table(runs, args, baseline or None)
    print(result)
    if not args.no_write:
        about = ", ".join(f"{k} {v}" for k, v in machine().items())
        write_section(
            f"{SECTION}\n\n"
            f"`python bench/bench_watch.py` (`--settle {args.settle}`; {about}). Latency runs from the moment "
            "a recording's copy is closed to its first line in the `--events` file; recordings are "
            f"`tests/fixtures/media/{SAMPLE.name}`. With inotify a closed file is judged at once (the settle "
            "time is the safety net for writers that do not close); with `--poll` it is first noticed at the "
            f"next poll, then held until its mtime has been quiet for the settle time. Idle CPU is the "
            f"daemon's utime + stime from /proc over the idle period."
            + (
                f" The ratios compare with the daemon of `{args.baseline}`, run in the same run just before."
                if args.baseline
                else ""
            )
            + f"\n\n{result}\n"
        )
    ok = all(r.ok for rows, _, _ in runs for r in rows) and all(idle < 1.0 for _, idle, _ in runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
