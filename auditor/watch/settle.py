"""Hold a changed path back until it has settled, then hand it on: a recording is judged once, when finished.

A file is finished when the writer closes it (inotify's close-after-write, where the observer
reports it) or, everywhere else and as a safety net, once no event has touched it for `settle`
seconds and its size and mtime have stopped changing. One worker thread sleeps until the
earliest deadline: no polling loop, so an idle daemon costs nothing.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

# How a path changed, as the observers report it.
WRITTEN = "written"  # created or modified: more writes may follow
CLOSED = "closed"  # closed after writing: finished now
ATTRIB = "attrib"  # permissions or owner changed: judge soon, unless a write is in progress
GONE = "gone"  # deleted or moved away: nothing to wait for
ARRIVED = "arrived"  # moved or created in one step (rename): judge once its mtime is quiet


@dataclass
class Settled:
    path: str
    is_dir: bool


@dataclass
class _Pending:
    path: str
    is_dir: bool
    due: float  # monotonic
    finished: bool  # skip the stability check
    signature: tuple[int, int] | None = None  # (size, mtime_ns) at the last check


class SettleQueue:
    def __init__(
        self,
        settle: float,
        on_ready: Callable[[list[Settled]], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settle = settle
        self._on_ready = on_ready
        self._clock = clock
        self._wall = wall
        self._cond = threading.Condition()
        self._pending: dict[str, _Pending] = {}
        self._heap: list[tuple[float, int, str]] = []  # (due, tie-breaker, path); stale rows are skipped
        self._tie = itertools.count()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="auditor-settle", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __len__(self) -> int:
        with self._cond:
            return len(self._pending)

    def touch(self, path: str, how: str, *, is_dir: bool = False) -> None:
        """Record a change; cheap and non-blocking, because observers call it from their own threads."""
        now = self._clock()
        with self._cond:
            entry = self._pending.get(path)
            if how == WRITTEN:
                due, finished = now + self.settle, False
            elif how in (CLOSED, GONE) or is_dir:
                due, finished = now, True
            elif entry is not None and not entry.finished:
                return  # an attribute change or a rename during a write: the write decides when
            else:  # ATTRIB, ARRIVED: soon, once the mtime says no write is under way
                due, finished = now, False
            if entry is None:
                entry = self._pending[path] = _Pending(path, is_dir, due, finished)
            else:
                entry.is_dir, entry.due, entry.finished, entry.signature = is_dir, due, finished, None
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (due, next(self._tie), path))
            if earliest is None or due < earliest:
                self._cond.notify()

    # -- the worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                due = self._take_due()
                while not due:
                    if self._stopped:
                        return
                    wait = self._heap[0][0] - self._clock() if self._heap else None
                    self._cond.wait(wait)
                    due = self._take_due()
                if self._stopped:
                    return
            ready = [entry for entry in due if self._settled_or_unknown(entry)]
            if ready:
                try:
                    self._on_ready([Settled(e.path, e.is_dir) for e in ready])
                except Exception:  # the worker must survive whatever the consumer does
                    log.exception("settled-path consumer failed")

    def _take_due(self) -> list[_Pending]:
        now = self._clock()
        due: list[_Pending] = []
        while self._heap and self._heap[0][0] <= now:
            when, _, path = heapq.heappop(self._heap)
            entry = self._pending.get(path)
            if entry is not None and entry.due == when:
                del self._pending[path]  # a change from now on makes a new entry
                due.append(entry)
        return due

    def _settled_or_unknown(self, entry: _Pending) -> bool:
        """_is_settled, except that a path it cannot tell about is handed on: the judging isolates
        it, and this thread, without which nothing would be judged, must not die of one path."""
        try:
            return self._is_settled(entry)
        except Exception:
            log.exception("cannot tell whether %r has settled; judging it now", entry.path)
            return True

    def _is_settled(self, entry: _Pending) -> bool:
        """Finished, gone, or quiet for `settle` seconds; otherwise put back with a later deadline."""
        if entry.finished or entry.is_dir:
            return True
        try:
            st = os.lstat(entry.path)
        except OSError:
            return True  # gone: the evaluator resolves what was there
        if not stat.S_ISREG(st.st_mode):
            return True
        signature = (st.st_size, st.st_mtime_ns)
        quiet_for = self._wall() - st.st_mtime
        # The mtime says when the last write happened; a clock-skewed share gets a second look instead.
        if quiet_for >= self.settle or signature == entry.signature:
            return True
        wait = self.settle - quiet_for if 0 <= quiet_for < self.settle else self.settle
        with self._cond:
            if entry.path in self._pending:
                return False  # changed again meanwhile: the newer entry takes over
            entry.signature = signature
            entry.due = self._clock() + max(wait, 0.01)
            self._pending[entry.path] = entry
            heapq.heappush(self._heap, (entry.due, next(self._tie), entry.path))
            self._cond.notify()
        return False
