"""Run every bench/bench_*.py in turn with this Python, go on after a failure, and sum up.

Exit status 1 when any benchmark failed or missed a target (each benchmark exits non-zero then).

    python bench/run_all.py              # all of them, with their defaults
    python bench/run_all.py scan s3      # only those whose name contains one of the words
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    benches = sorted(BENCH_DIR.glob("bench_*.py"))
    if argv:
        benches = [b for b in benches if any(word in b.stem for word in argv)]
    if not benches:
        print("no benchmark matched", file=sys.stderr)
        return 1
    results: list[tuple[str, int, float]] = []
    for bench in benches:
        print(f"\n=== {bench.name} ===", flush=True)
        started = time.perf_counter()
        status = subprocess.run([sys.executable, str(bench)], cwd=BENCH_DIR.parent).returncode
        results.append((bench.name, status, time.perf_counter() - started))
    print("\n=== summary ===")
    for name, status, seconds in results:
        print(f"{name:28}{'ok' if status == 0 else f'FAILED (exit {status})':>20}{seconds:>10.0f} s")
    return 0 if all(status == 0 for _, status, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
