"""The state directory: its files, the lock that keeps it to one daemon, and atomic writes.

Layout (directory 0700, files 0600):
  watch.sqlite    the open findings and the outbox of events not yet delivered (see store.py)
  status.json     pid, health, last rescan, counts: what `auditor status` reads (written atomically)
  watch.lock      held (flock) by the running daemon, so two daemons never share a state
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATUS_FILE = "status.json"
LOCK_FILE = "watch.lock"
STATE_VERSION = 1  # of status.json


class OwnFiles:
    """The daemon's own files (state, events, report) may sit in a watched folder: their writes are
    ours, and must not come back as events to judge."""

    def __init__(self, state_dir: Path, files: list[Path | None]) -> None:
        self._dir = os.path.abspath(state_dir)
        self._files = [os.path.abspath(p) for p in files if p is not None]

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        if path == self._dir or path.startswith(self._dir.rstrip(os.sep) + os.sep):
            return True
        name = os.path.basename(path)
        return any(
            path == own
            or (
                os.path.dirname(path) == os.path.dirname(own)
                and name.startswith(f".{os.path.basename(own)}.")
            )
            for own in self._files
        )


class StateError(Exception):
    """The state directory cannot be used (unwritable, locked by another daemon, corrupt)."""


def ensure_state_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):  # not ours to tighten (e.g. a shared StateDirectory): still usable
        os.chmod(path, 0o700)
    return path


def write_atomic(path: Path, data: str | bytes) -> None:
    """0600, fsync'd, renamed into place: a crash leaves the old file or the new one, never half of one."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateError(f"{path}: cannot read ({exc})") from exc
    if not isinstance(data, dict):
        raise StateError(f"{path}: not a state file")
    return data


class StateLock:
    """An exclusive flock on the state directory, released when the process ends (even by a crash)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            import fcntl
        except ImportError:  # Windows: no flock; one daemon per state directory is then up to the user
            self._fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StateError(f"another auditor watch (pid {holder}) is using {self.path.parent}") from exc
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (Linux), to tell our daemon from a later process with its pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return fields[19]  # field 22 of stat(5), counting from after the command name
    except (OSError, IndexError):
        return None
