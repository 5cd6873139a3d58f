"""The watch loop: the one thread that does all the judging and bookkeeping, fed by a queue of commands.

Every other thread (observers, the settle worker, signal handlers) only puts commands on the
queue, so nothing the loop touches needs a lock.

The loop is supervised: a step that raises is a bug (every per-file step is isolated already),
so the loop reports it, waits a back-off (doubling up to the longest, back to the first after
ten calm minutes) and goes on with the next command. A warden thread watches how long the
current step has been running: past `stuck_after` it has the status say so, which the loop
itself cannot do while it is stuck.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from auditor.watch.status_file import StatusFile

log = logging.getLogger(__name__)

Command = tuple[str, Any]
CALM_AFTER = 600.0  # seconds without a crash after which a restart waits the shortest back-off again


class CommandLoop:
    def __init__(
        self,
        *,
        handle: Callable[[Command], None],
        after_each: Callable[[], None],
        seconds_to_next_timer: Callable[[], float],
        crashed: Callable[[str], None],
        shutdown: Callable[[], None],
        status_file: StatusFile,
        backoff: tuple[float, float],
        stuck_after: float,
    ) -> None:
        self._handle = handle
        self._after_each = after_each  # the timers: run after every command, and when none came in time
        self._seconds_to_next_timer = seconds_to_next_timer
        self._crashed = crashed
        self._shutdown = shutdown
        self._status_file = status_file
        self._backoff = backoff
        self._stuck_after = stuck_after
        self._queue: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._finished = threading.Event()
        self.stopping = False
        self.failed_to_stop = False
        # What the loop is doing, for the warden: since when, and whether it is only waiting.
        self._busy_since = time.monotonic()
        self._busy_with = "starting"
        self._waiting = False

    # -- from any thread -----------------------------------------------------------------------

    def put(self, command: Command) -> None:
        """Reentrant (SimpleQueue.put), so a signal handler may call it anywhere."""
        self._queue.put(command)

    def start(self) -> None:
        for target, name in ((self._run, "auditor-watch"), (self._watch, "auditor-warden")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float | None = 60) -> None:
        self.put(("stop", None))
        if self._threads:
            self._threads[0].join(timeout)

    def wait_finished(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def join(self) -> None:
        if self._threads:
            self._threads[0].join()

    # -- on the loop's own thread ----------------------------------------------------------------

    def busy(self, what: str | None = None) -> None:
        """The loop moves on (to `what`, or with what it was doing): not stuck."""
        self._busy_since = time.monotonic()
        if what is not None:
            self._busy_with = what

    @property
    def busy_with(self) -> str:
        return self._busy_with

    def take(self, kind: str) -> list[Any]:
        """The payloads of every queued command of `kind`, taken out; the others stay, in order."""
        taken: list[Any] = []
        others: list[Command] = []
        while True:
            try:
                command = self._queue.get_nowait()
            except queue.Empty:
                break
            if command[0] == kind:
                taken.append(command[1])
            else:
                others.append(command)
        for command in others:
            self._queue.put(command)
        return taken

    def take_all_except(self, kinds: Iterable[str]) -> list[Command]:
        """Every queued command not of `kinds`, taken out (those stay queued, for later)."""
        keep = set(kinds)
        taken: list[Command] = []
        deferred: list[Command] = []
        while True:
            try:
                command = self._queue.get_nowait()
            except queue.Empty:
                break
            if command[0] in keep:
                deferred.append(command)
            else:
                taken.append(command)
        for command in deferred:
            self._queue.put(command)
        return taken

    def _run(self) -> None:
        first, longest = self._backoff
        delay, last_crash = first, float("-inf")
        try:
            while True:
                try:
                    self._serve()
                    return
                except Exception as exc:
                    if self.stopping:
                        log.exception("the watch loop failed while stopping")
                        return
                    now = time.monotonic()
                    delay = first if now - last_crash > CALM_AFTER else min(delay * 2, longest)
                    last_crash = now
                    detail = f"{type(exc).__name__}: {exc}"[:500]
                    log.exception("the watch loop failed (%s); restarting it in %.1f s", detail, delay)
                    try:
                        self._crashed(detail)
                    except Exception:
                        log.exception("could not record the failure of the watch loop")
                    if self._sleep_unless_stopped(delay):
                        return
        finally:
            try:
                self._shutdown()
            except Exception:
                self.failed_to_stop = True
                log.exception("the watch did not stop cleanly")
            finally:
                self._finished.set()

    def _serve(self) -> None:
        while not self.stopping:
            self._waiting = True
            try:
                command: Command | None = self._queue.get(timeout=self._seconds_to_next_timer())
            except queue.Empty:
                command = None
            finally:
                self._waiting = False
            self.busy(command[0] if command else "timers")
            if command is not None:
                if command[0] == "stop":
                    self.stopping = True
                else:
                    self._handle(command)
            if not self.stopping:
                self._after_each()

    def _sleep_unless_stopped(self, seconds: float) -> bool:
        """Wait out a back-off; True when a stop arrived meanwhile. Other commands wait for the loop."""
        deadline = time.monotonic() + seconds
        held: list[Command] = []
        try:
            while (left := deadline - time.monotonic()) > 0:
                try:
                    command = self._queue.get(timeout=left)
                except queue.Empty:
                    continue
                if command[0] == "stop":
                    self.stopping = True
                    return True
                held.append(command)
            return False
        finally:
            for command in held:
                self._queue.put(command)

    # -- the warden's thread -------------------------------------------------------------------

    def _watch(self) -> None:
        limit = self._stuck_after
        logged_for = None
        while not self._finished.wait(max(0.05, min(5.0, limit / 4))):
            generation, since = self._status_file.generation, self._busy_since
            busy = time.monotonic() - since
            if self._waiting or busy < limit:
                continue
            reason = f"the watch loop has been busy for {busy:.0f} s ({self._busy_with}): alerts are held up"
            if self._status_file.write_stuck(reason, generation) and logged_for != since:
                logged_for = since
                log.error("%s", reason)
