"""The progress line keeps moving through the steps after the walk, on a real terminal."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from auditor.cli.progress import Progress
from tests.conftest import place


class _Terminal:
    """A stream that says it is a terminal and keeps every write, with its time."""

    def __init__(self) -> None:
        self.writes: list[str] = []
        self.lock = threading.Lock()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self.lock:
            self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_a_long_phase_is_redrawn_with_its_time_until_done() -> None:
    terminal = _Terminal()
    progress = Progress(enabled=True, stream=terminal)
    progress.phase("writing report.html")
    deadline = time.monotonic() + 20  # only a ceiling: the test ends as soon as the line moved
    while time.monotonic() < deadline:
        with terminal.lock:
            shown = {w.strip() for w in terminal.writes if "writing report.html" in w}
        if len(shown) >= 3:
            break
        time.sleep(0.05)
    progress.done()
    assert len(shown) >= 3, shown  # the same phase, three different elapsed times: it moves
    assert all(re.fullmatch(r"writing report\.html · \d+\.\d s", s) for s in shown), shown
    last = terminal.writes[-1]
    assert last.startswith("\r") and last.strip() == ""  # cleared for the summary
    count = len(terminal.writes)
    time.sleep(1.2)
    assert len(terminal.writes) == count  # nothing drawn after done()


def test_nothing_is_drawn_when_not_a_terminal_or_quiet() -> None:
    class Pipe(_Terminal):
        def isatty(self) -> bool:
            return False

    for stream, enabled in ((Pipe(), True), (_Terminal(), False)):
        progress = Progress(enabled=enabled, stream=stream)
        progress.phase("building results")
        progress.done()
        assert stream.writes == []


def test_scan_on_a_terminal_names_each_step_after_the_walk_in_order(tmp_path: Path) -> None:
    """`auditor scan` with stderr on a pseudo-terminal, as a user runs it."""
    root = tmp_path / "practice"
    for n in range(30):
        place(root, f"clinic/C-{1000 + n}_2026-11-10.wav", "session.wav")
    outputs = [a for name in ("r.html", "r.json", "r.csv") for a in ("-o", str(tmp_path / name))]
    code, text, out = _run_on_pty(
        ["scan", str(root), "--as-of", "2026-11-22", "--fail-on", "none", *outputs], tmp_path
    )
    assert code == 0, text
    steps = [
        "building results",
        "preparing results",
        "summarising",
        "hashing the result",
        "writing r.html",
        "writing r.json",
        "writing r.csv",
    ]
    positions = [text.find(step) for step in steps]
    assert all(p >= 0 for p in positions), text
    assert positions == sorted(positions), text
    # The line is cleared at the end, and the summary (on stdout) is not mixed into it.
    assert text.rstrip(" ").endswith("\r"), repr(text[-80:])
    assert b"findings:" in out and "findings:" not in text


def test_a_warning_meanwhile_starts_on_a_clean_line_and_the_phase_is_drawn_again() -> None:
    terminal = _Terminal()
    progress = Progress(enabled=True, stream=terminal)
    progress.phase("writing r.sarif")
    said: list[tuple[str, list[str]]] = []
    warn = progress.interject(lambda line: said.append((line, list(terminal.writes))))
    warn("r.sarif: 5,000 results left out")
    progress.done()
    line, before = said[0]
    assert line == "r.sarif: 5,000 results left out"
    assert before[-1].startswith("\r") and before[-1].strip() == ""  # the line was cleared first
    after = terminal.writes[len(before) :]
    assert any("writing r.sarif" in w for w in after)  # and the phase drawn again below the warning


def _run_on_pty(args: list[str], cwd: Path) -> tuple[int, str, bytes]:
    """Run `auditor ARGS` with stderr on a pseudo-terminal; (exit code, the terminal's text, stdout)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, cwd=cwd,
    )  # fmt: skip
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(master)
    return proc.returncode, seen.decode("utf-8", errors="replace"), out


def test_report_on_a_terminal_names_reading_the_result_then_each_output(tmp_path: Path) -> None:
    root = tmp_path / "practice"
    for n in range(5):
        place(root, f"clinic/C-{1000 + n}_2026-11-10.wav", "session.wav")
    code, _, _ = _run_on_pty(
        ["scan", str(root), "--as-of", "2026-11-22", "--fail-on", "none", "-o", str(tmp_path / "r.json")],
        tmp_path,
    )
    assert code == 0
    code, text, out = _run_on_pty(
        ["report", str(tmp_path / "r.json"), "-o", str(tmp_path / "again.html")], tmp_path
    )
    assert code == 0, text
    positions = [text.find(step) for step in ("reading r.json", "hashing the result", "writing again.html")]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), text
    assert text.rstrip(" ").endswith("\r"), repr(text[-80:])
    assert b"wrote " in out


def test_quiet_draws_no_progress_on_a_terminal(tmp_path: Path) -> None:
    root = tmp_path / "practice"
    place(root, "clinic/C-1000_2026-11-10.wav", "session.wav")
    code, text, out = _run_on_pty(
        [
            "scan",
            str(root),
            "--as-of",
            "2026-11-22",
            "--fail-on",
            "none",
            "--quiet",
            "-o",
            str(tmp_path / "r.html"),
        ],
        tmp_path,
    )
    assert code == 0
    assert text == "" and out == b""
