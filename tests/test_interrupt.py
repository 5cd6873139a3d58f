"""Ctrl-C in a real terminal (issue 12 §6): `auditor scan` with forked walkers, under a pty, gets
the terminal's own SIGINT (a ^C written to the pty master: the kernel sends it to the whole
foreground process group, parent and workers alike). Every time it must exit 130 within 2 s and
print one line, with no worker traceback.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

RUNS = 20
INTERRUPTED = "auditor: interrupted (no report is left half-written)"


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wide and deep enough that the walk forks its workers and runs for several seconds."""
    root = tmp_path_factory.mktemp("interrupt") / "tree"
    for a in range(40):
        for b in range(40):
            folder = root / f"a{a}" / f"b{b}"
            folder.mkdir(parents=True)
            for n in range(25):
                (folder / f"f{n}.dat").write_bytes(b"x" * 64)  # sniffed: .dat says nothing
    return root


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _read_all(fd: int, until: float, out: bytearray) -> None:
    while time.monotonic() < until:
        ready, _, _ = select.select([fd], [], [], max(0.0, until - time.monotonic()))
        if not ready:
            return
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the pty
            return
        if not chunk:
            return
        out.extend(chunk)


def _scan_seconds(tree: Path, out_dir: Path) -> float:
    """How long the scan runs once its workers exist, uninterrupted: the ^C delays are fractions
    of it, so the ^C lands while the walk runs on a fast machine and a slow one alike (a fixed
    delay let a fast CI machine finish the scan first)."""
    pid, master = _start(tree, out_dir)
    output = bytearray()
    try:
        deadline = time.monotonic() + 60
        while not _children(pid):
            _read_all(master, time.monotonic() + 0.02, output)
            assert time.monotonic() < deadline, "the scan never forked its workers"
        began = time.monotonic()
        while True:
            _read_all(master, time.monotonic() + 0.05, output)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            assert time.monotonic() - began < 120, "the uninterrupted scan never ended"
        assert os.waitstatus_to_exitcode(status) == 0, output.decode("utf-8", "replace")
        return time.monotonic() - began
    finally:
        os.close(master)


def _start(tree: Path, out_dir: Path) -> tuple[int, int]:
    pid, master = pty.fork()
    if pid == 0:  # the child: a session leader whose controlling terminal is the pty
        # As a shell starts a foreground job: SIGINT and SIGQUIT at their defaults, none blocked.
        # pytest itself may have been started in the background of a script (`pytest &`), which
        # ignores both; an ignored SIGINT survives exec, and the scan would never see the ^C.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        os.chdir(out_dir)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        os.execve(
            sys.executable,
            [sys.executable, "-m", "auditor", "scan", str(tree), "-j", "4", "-o", str(out_dir / "r.json")],
            env,
        )
    return pid, master


def _signal_state(pid: int, master: int) -> str:
    """For a failure's message: how the scan stood when the ^C was sent (its signal masks and
    threads, its process group against the terminal's foreground one)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        wanted = ("SigBlk", "SigIgn", "SigCgt", "Threads")
        state = " ".join(line.replace("\t", "") for line in status.splitlines() if line.startswith(wanted))
        return f"{state} pgid={os.getpgid(pid)} foreground={os.tcgetpgrp(master)} children={_children(pid)}"
    except OSError as exc:
        return f"unknown ({exc})"


def _interrupt_once(tree: Path, out_dir: Path, delay: float) -> tuple[int, float, str, str]:
    pid, master = _start(tree, out_dir)
    output = bytearray()
    try:
        deadline = time.monotonic() + 60
        while not _children(pid):  # wait until the workers exist
            _read_all(master, time.monotonic() + 0.02, output)
            assert time.monotonic() < deadline, "the scan never forked its workers"
        _read_all(master, time.monotonic() + delay, output)
        assert os.waitpid(pid, os.WNOHANG)[0] == 0, "the scan ended before the ^C: the test proves nothing"
        state = _signal_state(pid, master)
        os.write(master, b"\x03")  # Ctrl-C, as the terminal sends it
        sent = time.monotonic()
        status = None
        while time.monotonic() - sent < 10:
            _read_all(master, time.monotonic() + 0.05, output)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
        took = time.monotonic() - sent
        if status is None or not done:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -1, took, output.decode("utf-8", "replace"), state
        _read_all(master, time.monotonic() + 0.2, output)
        return os.waitstatus_to_exitcode(status), took, output.decode("utf-8", "replace"), state
    finally:
        os.close(master)


def _lines(text: str) -> list[str]:
    """What a person sees once the scan has started: the terminal's own ^C echo dropped, progress
    overwritten by \\r, and the line naming the config used (said before the scan) left out."""
    shown = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.rsplit("\r", 1)[-1].replace("^C", "").strip()
        if line and not line.startswith("auditor: config: "):
            shown.append(line)
    return shown


def test_ctrl_c_ends_a_parallel_scan_at_once_with_one_line(big_tree: Path, tmp_path: Path) -> None:
    warm = tmp_path / "uninterrupted"
    warm.mkdir()
    seconds = _scan_seconds(big_tree, warm)
    results = []
    for run in range(RUNS):
        out_dir = tmp_path / f"run{run}"
        out_dir.mkdir()
        # ^C from the first moment the workers exist up to 40% of the way through the walk
        code, took, text, state = _interrupt_once(big_tree, out_dir, delay=(run % 5) * 0.1 * seconds)
        left = sorted(p.name for p in out_dir.iterdir())  # no report, and no temporary one either
        results.append((code, round(took, 2), _lines(text), left, state))
    problems = [r for r in results if r[0] != 130 or r[1] > 2.0 or r[2] != [INTERRUPTED] or r[3]]
    assert not problems, f"{len(problems)} of {RUNS} runs went wrong (seconds={seconds:.2f}): {problems[:3]}"
