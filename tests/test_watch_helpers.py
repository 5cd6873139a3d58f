"""Shared helpers for the `auditor watch` tests (real filesystem events, real threads, deadlines not sleeps)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from auditor.watch.daemon import WatchDaemon
from auditor.watch.settings import WatchSettings

MEDIA = Path(__file__).parent / "fixtures" / "media"
SAMPLE = MEDIA / "session.amr"  # the smallest real recording among the fixtures

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def read_events(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    # The daemon may be mid-write: only lines it has finished (newline-terminated) count.
    complete = text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def events_at(path: Path, location: Path | str, event: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in read_events(path)
        if e["location"] == str(location) and (event is None or e["event"] == event)
    ]


def make_settings(tmp_path: Path, tree: Path, **overrides: Any) -> WatchSettings:
    values: dict[str, Any] = {
        "paths": [str(tree)],
        "state_dir": tmp_path / "state",
        "events_path": tmp_path / "events.jsonl",
        "settle": 0.3,
        "syslog": False,
        "health_interval": 0.2,
        "state_save_interval": 0.2,
        "poll_interval": 0.2,
    }
    values.update(overrides)
    return WatchSettings(**values)


@contextmanager
def running(settings: WatchSettings) -> Iterator[WatchDaemon]:
    daemon = WatchDaemon(settings)
    daemon.start()
    try:
        wait_for(lambda: daemon.health.caught_up, what="the catch-up scan")
        yield daemon
    finally:
        daemon.stop()
        assert daemon.wait_finished(10), "daemon did not stop"


def drop(src: Path, dest: Path) -> Path:
    """Copy a recording in as a recorder or a sync client would: written, closed."""
    shutil.copyfile(src, dest)
    return dest


@pytest.fixture
def open_tree() -> Iterator[Path]:
    """A folder every parent of which others can traverse, so permission bits alone decide exposure."""
    base = Path(tempfile.mkdtemp(prefix="auditor-watch-", dir="/tmp"))
    os.chmod(base, 0o755)
    tree = base / "tree"
    tree.mkdir(mode=0o755)
    os.chmod(tree, 0o755)
    try:
        yield tree
    finally:
        shutil.rmtree(base, ignore_errors=True)


NEEDS_ROOT_MOUNTS = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("mount")),
    reason="needs root on Linux to mount a real filesystem",
)


@contextmanager
def mounted(mount_point: Path, fstype: str, options: str = "") -> Iterator[Path]:
    """A real filesystem of `fstype` (tmpfs, mqueue...) mounted at `mount_point` for the test's duration."""
    mount_point.mkdir(parents=True, exist_ok=True)
    command = ["mount", "-t", fstype, *(["-o", options] if options else []), fstype, str(mount_point)]
    if subprocess.run(command, capture_output=True).returncode:
        pytest.skip(f"cannot mount {fstype} here")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(filesystem: Path) -> Path:
    """Fill `filesystem` to the last byte with one file; returns it (delete it to free the space)."""
    filler = filesystem / "filler"
    with open(filler, "wb", buffering=0) as handle:
        block = b"\0" * 4096
        try:
            while True:
                handle.write(block)
        except OSError:
            pass
    try:
        with open(filler, "ab", buffering=0) as handle:  # the last partial block
            while True:
                handle.write(b"\0")
    except OSError:
        pass
    return filler


def test_wait_for_times_out() -> None:
    with pytest.raises(AssertionError, match="timed out"):
        wait_for(lambda: False, timeout=0.05)
