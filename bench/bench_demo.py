"""`make demo` on a fresh clone, as a new user meets it, against a plain `pip install .` of the same clone.

    python bench/bench_demo.py            # updates "## make demo" in docs/benchmarks.md
    python bench/bench_demo.py --no-write

In one run: a `git clone` of this repository's HEAD into a temp folder, then
1. `make demo` there (creates .venv, installs the runtime package, builds and scans the sample
   practice): target at most 30 s with the package index reachable;
2. `make demo` again (must install nothing): its time is about the scan's;
3. the baseline: `python3 -m venv` plus `pip install .` of the same clone into another folder.
pip's download cache is whatever this machine has, as for a user: say so when reading the figures.
Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchdoc import write_section  # bench/ is the script's own folder

REPO = Path(__file__).resolve().parent.parent
TARGET_FIRST_S = 30.0


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def user_env() -> dict[str, str]:
    """A new user's environment: no virtualenv active, the system python3 first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args()
    env = user_env()
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        work = Path(tmp)
        clone = work / "clone"
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(clone)], check=True)
        first, _ = timed(["make", "demo"], clone, env)
        second, out2 = timed(["make", "demo"], clone, env)
        if "installing" in out2:
            print("the second make demo installed again:\n" + out2, file=sys.stderr)
            return 1
        venv = work / "plain-venv"
        python3 = shutil.which("python3", path=env["PATH"]) or "python3"
        baseline_venv, _ = timed([python3, "-m", "venv", str(venv)], work, env)
        baseline_pip, _ = timed(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(clone)], work, env
        )
    baseline = baseline_venv + baseline_pip
    ok = first <= TARGET_FIRST_S
    rows = [
        ("`make demo`, fresh clone (venv, runtime install, sample practice, scan)", first),
        ("`make demo`, second run (no install)", second),
        ("baseline: `python3 -m venv` + `pip install .` of the same clone", baseline),
    ]
    table = "| | s |\n|---|---:|\n" + "\n".join(f"| {name} | {s:.1f} |" for name, s in rows)
    verdict = (
        f"First run {first:.1f} s against a target of {TARGET_FIRST_S:.0f} s: {'ok' if ok else 'MISSED'}; "
        f"{first / baseline:.2f}x the plain install of the same clone."
    )
    print(table)
    print(verdict)
    if not args.no_write:
        write_section(
            "## make demo\n\n"
            "`python bench/bench_demo.py`: a fresh `git clone` of the repository, then `make demo` twice, against "
            "`python3 -m venv` plus `pip install .` of the same clone in the same run. pip's download cache is the "
            f"machine's own, as a user's would be. Latest run {date.today().isoformat()} on {os.cpu_count()} cores, "
            f"Linux {platform.release()}, Python {platform.python_version()}.\n\n"
            f"{table}\n\n{verdict}\n"
        )
        print("\nwrote the '## make demo' section of docs/benchmarks.md")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
