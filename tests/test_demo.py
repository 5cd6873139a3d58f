"""`make demo` as a new user meets it: a fresh clone, the package index reachable, nothing else.

It must install only the runtime package (not the test tools), say what each step is doing, and
end with the reports on disk; run a second time, it must install nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def fresh_clone(dest: Path) -> Path:
    """The committed tree, as `git clone` gives it (no .venv, no build/, no node_modules). A checkout
    that is not a git repository (an unpacked archive) is copied without what the Makefile builds."""
    is_repo = (
        subprocess.run(["git", "-C", str(REPO), "rev-parse", "--git-dir"], capture_output=True).returncode
        == 0
    )
    if is_repo:
        subprocess.run(
            ["git", "clone", "-q", "--no-hardlinks", str(REPO), str(dest)], check=True, timeout=120
        )
    else:
        built = shutil.ignore_patterns(".venv", "build", "node_modules", "__pycache__", ".*_cache")
        shutil.copytree(REPO, dest, ignore=built, symlinks=True)
    return dest


def make_demo(clone: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    # The user's python3, not the test venv's: a new user has no venv yet.
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return subprocess.run(["make", "demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git")
def test_make_demo_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path / "clone")
    first = make_demo(clone)
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    # Every step announces itself, in order.
    steps = [
        "make: creating .venv",
        "make: installing recording-auditor (runtime dependencies only)",
        "demo: building the sample practice",
        "demo: scanning it",
        "demo: reports written to",
    ]
    positions = [out.find(s) for s in steps]
    assert all(p >= 0 for p in positions), out
    assert positions == sorted(positions), out
    # Runtime only: none of the test tools came along.
    pip_list = subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {p["name"].lower() for p in json.loads(pip_list.stdout)}
    assert "recording-auditor" in installed
    assert not installed & {"pytest", "moto", "mypy", "ruff", "playwright", "hypothesis", "pyarrow", "dask"}
    result = json.loads((clone / "build" / "demo" / "report.json").read_text())
    assert result["summary"]["recordings"] >= 10
    assert result["findings"], "the sample practice is built to show every kind of problem"
    html = (clone / "build" / "demo" / "report.html").read_text()
    assert "<html" in html and "Riverside Counselling" in html

    second = make_demo(clone)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "installing" not in second.stdout and "creating .venv" not in second.stdout, second.stdout
    assert "demo: reports written to" in second.stdout
