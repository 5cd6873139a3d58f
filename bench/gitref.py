"""Another git revision of this repository, to run as a same-run baseline (`--baseline REF`).

The revision's source goes to a temporary worktree, removed afterwards. A command runs it with
PYTHONPATH pointing there: its `auditor` package is imported instead of this checkout's, with the
same interpreter and dependencies (and this checkout's installed entry points)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def checkout(ref: str, prefix: str = "bench-baseline-") -> Iterator[Path]:
    """The source of git revision `ref` in a temporary worktree, removed afterwards."""
    where = Path(tempfile.mkdtemp(prefix=prefix))
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(where), ref],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield where
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(where)], check=False)


def short(ref: str) -> str:
    """`ref` as a short commit hash, for tables."""
    done = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", ref], capture_output=True, text=True
    )
    return done.stdout.strip() or ref


def env_for(code: Path | None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment that runs the `auditor` at `code` (None: this checkout's)."""
    env = dict(os.environ if base is None else base)
    if code is not None:
        env["PYTHONPATH"] = str(code) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
