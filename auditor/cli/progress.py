"""The progress line on stderr: it keeps moving until the summary, however long a step takes.

While the sources walk, it shows files seen, recordings and the rate. After the walk a large
scan still spends tens of seconds building the result and writing each report; each of those
steps is a phase ("building results", "writing report.html") shown with the seconds it has
taken so far, redrawn twice a second by a small thread, so the terminal never looks frozen or
blank. Only when stderr is a terminal and not --quiet; the line is cleared before the summary,
and before any warning printed meanwhile (interject), then drawn again.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from auditor.models import Coverage

INTERVAL = 0.5  # seconds between redraws


class Progress:
    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.start = time.monotonic()
        self.last = 0.0
        self._lock = threading.Lock()
        self._phase: str | None = None
        self._since = 0.0
        self._width = 0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    @classmethod
    def for_console(cls, quiet: bool, report_on_stdout: bool) -> Progress:
        """Not under --quiet, nor when a report is printed to the terminal the line would be drawn
        into (a report on stdout piped elsewhere leaves stderr's terminal free for it)."""
        return cls(enabled=not quiet and not (report_on_stdout and sys.stdout.isatty()))

    def __call__(self, coverage: Coverage) -> None:
        """The walk's counts (sources call this as they go; at most one redraw per INTERVAL)."""
        now = time.monotonic()
        if not self.enabled or now - self.last < INTERVAL:
            return
        self.last = now
        rate = coverage.files_seen / max(now - self.start, 1e-6)
        with self._lock:
            self._write(
                f"  {coverage.files_seen:,} files, {coverage.recordings:,} recordings, {rate:,.0f} files/s"
            )

    def phase(self, label: str) -> None:
        """A step after the walk begins; the line names it until the next one (or done())."""
        if not self.enabled:
            return
        with self._lock:
            self._phase, self._since = label, time.monotonic()
            self._draw_phase()
        if self._ticker is None:
            # Started only after the walk: forked walkers never inherit a running thread.
            self._ticker = threading.Thread(target=self._tick, name="auditor-progress", daemon=True)
            self._ticker.start()

    def interject(self, say: Callable[[str], None]) -> Callable[[str], None]:
        """`say` (a warning to stderr) made to start on a clean line, the progress redrawn after."""

        def on_clean_line(line: str) -> None:
            if not self.enabled:
                say(line)
                return
            with self._lock:
                self._clear()
                say(line)
                if self._phase is not None:
                    self._draw_phase()

        return on_clean_line

    def done(self) -> None:
        """Stop redrawing and clear the line, so what follows starts on a clean one."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        if self.enabled and (self.last or self._phase):
            with self._lock:
                self._clear()
        self._phase = None
        self._stop = threading.Event()

    def _tick(self) -> None:
        while not self._stop.wait(INTERVAL):
            with self._lock:
                if self._phase is not None:
                    self._draw_phase()

    def _draw_phase(self) -> None:
        elapsed = time.monotonic() - self._since
        shown = f"{elapsed:.1f} s" if elapsed < 60 else f"{int(elapsed) // 60} min {int(elapsed) % 60:02d} s"
        self._write(f"  {self._phase} · {shown}")

    def _clear(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def _write(self, text: str) -> None:
        # Never wider than the terminal: a wrapped line cannot be taken back with a carriage return.
        import shutil  # only when a progress line is drawn: not on every scan's start-up

        text = text[: max(shutil.get_terminal_size().columns - 1, 20)]
        self._width = max(self._width, len(text))
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
