"""From the ledger to the sinks: events are committed with the ledger change that caused them, then
each sink's worker takes them from the outbox, in order, and only then are they removed.

A sink that cannot take an event (a full disk under the events file, a web server that is
down, a command that cannot start) raises DeliveryFailed: the event stays in the outbox and is
retried with back-off, for ever, and the watch shows as degraded meanwhile. Nothing is dropped,
not even across a crash or a restart; delivery is therefore at least once, and every event has
an `id` for a consumer to drop a repeat.

When the commit itself fails (the state directory's disk is full), the events are held in
memory and the ledger's changes are kept due, and both are committed at the next attempt; the
watch shows as degraded meanwhile.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from auditor.watch.health import iso, utc_now
from auditor.watch.ledger import Event, Ledger
from auditor.watch.store import StateStore

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """The sink could not take the events now; they stay in the outbox and are retried.

    `delivered` says how many of the batch, from its start, it did take before failing."""

    def __init__(self, reason: str, delivered: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delivered = delivered


class Sink(Protocol):
    name: str  # its key in the outbox: "events-file", "command", "webhook", "syslog"
    backoff: tuple[float, float]  # first retry delay, longest delay (seconds)
    drain_on_close: bool  # at shutdown, deliver what is waiting first (else it waits for the next start)

    def describe(self) -> str:
        """What it is, for the status (never a secret: no URL credentials)."""
        ...

    def deliver(self, events: list[Event]) -> None:
        """Take `events`, in order; raise DeliveryFailed to have them (from the first not taken) retried."""
        ...

    def close(self) -> None: ...


class DeliveryWorker:
    """One sink's thread: the sink's events from the outbox, oldest first; a failure keeps them there."""

    BATCH = 200

    def __init__(self, store: StateStore, sink: Sink) -> None:
        self.store = store
        self.sink = sink
        self.delivered = 0
        self.failures = 0
        self.failing_since: datetime | None = None
        self.error: str | None = None
        self._done = 0  # outbox rows up to here are taken (acknowledged in the store, or about to be)
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"auditor-{sink.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def backlog(self) -> int:
        return self.store.backlog(self.sink.name, after=self._done)

    def _run(self) -> None:
        first, longest = self.sink.backoff
        delay = first
        while not self._stop.is_set():
            self._wake.clear()
            try:
                batch = self.store.pending(self.sink.name, self._done, self.BATCH)
            except Exception as exc:  # a full disk, a locked or damaged database: this thread must live on
                self._failed(f"cannot read the outbox: {exc}")
                self._stop.wait(delay)
                delay = min(delay * 2, longest)
                continue
            if not batch:
                if self._closing.is_set():
                    return
                self._wake.wait()
                continue
            failure = self._deliver(batch)
            if failure is None:
                if self.failing_since is not None:
                    log.warning("%s: delivering again", self.sink.describe())
                self.failing_since, self.error, delay = None, None, first
                continue
            self._failed(failure)
            if self._closing.is_set():
                return  # what is left waits in the outbox for the next start
            self._stop.wait(delay)
            delay = min(delay * 2, longest)

    def _deliver(self, batch: list[tuple[int, Event]]) -> str | None:
        """Hand `batch` to the sink; acknowledge what it took. Returns why it stopped, or None."""
        failure = None
        try:
            self.sink.deliver([event for _, event in batch])
            taken = len(batch)
        except DeliveryFailed as exc:
            taken, failure = max(0, min(exc.delivered, len(batch))), exc.reason
        except Exception as exc:  # a bug in a sink is retried like any failure; it never ends the worker
            log.exception("%s failed", self.sink.describe())
            taken, failure = 0, f"{type(exc).__name__}: {exc}"
        if taken:
            self._done = batch[taken - 1][0]
            self.delivered += taken
            try:
                self.store.delivered(self.sink.name, self._done)
            except Exception as exc:  # taken all the same; the next acknowledgement covers it
                log.error(
                    "%s: cannot record the delivery (%s); it may be repeated after a restart",
                    self.sink.describe(),
                    exc,
                )
        return failure

    def _failed(self, reason: str) -> None:
        self.failures += 1
        self.error = reason
        if self.failing_since is None:
            self.failing_since = utc_now()
            log.error("%s: %s; the events wait in the outbox and are retried", self.sink.describe(), reason)

    def health(self) -> dict[str, Any]:
        try:
            backlog: int | None = self.backlog()
        except (sqlite3.Error, OSError):
            backlog = None
        return {
            "sink": self.sink.name,
            "what": self.sink.describe(),
            "backlog": backlog,
            "delivered": self.delivered,
            "failing_since": iso(self.failing_since),
            "error": self.error,
        }

    def close(self, timeout: float) -> None:
        if self.sink.drain_on_close:
            self._closing.set()
        else:
            self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join(5)
        try:
            self.sink.close()
        except Exception:
            log.exception("closing %s failed", self.sink.describe())


class Outbox:
    def __init__(self, store: StateStore, sinks: Sequence[Sink]) -> None:
        self.store = store
        self.workers = [DeliveryWorker(store, sink) for sink in sinks]
        self.emitted = 0
        self.unsaved_since: datetime | None = None
        self.unsaved_error: str | None = None
        self._held: list[Event] = []  # committed at the next attempt

    def start(self) -> None:
        dropped = self.store.forget_sinks_except(w.sink.name for w in self.workers)
        for name, count in dropped.items():
            log.warning(
                "%d undelivered event(s) for the %s sink, which is no longer configured, were dropped",
                count,
                name,
            )
        for worker in self.workers:
            worker.start()

    @property
    def held(self) -> int:
        return len(self._held)

    def commit(self, ledger: Ledger, events: list[Event]) -> bool:
        """Save the ledger's changes with `events` and hand those to the sinks; False if it must be retried."""
        changes = ledger.take_changes()
        pending = self._held + events
        if not changes and not pending:
            return True
        try:
            self.store.commit(changes, pending, [w.sink.name for w in self.workers])
        except Exception as exc:  # a full disk (OSError, sqlite3.Error), or anything: kept, and retried
            ledger.restore_changes(changes)
            self._held = pending
            self.unsaved_error = str(exc)
            if self.unsaved_since is None:
                self.unsaved_since = utc_now()
                log.error(
                    "cannot save the state in %s (%s); %d event(s) held until it can",
                    self.store.path,
                    exc,
                    len(pending),
                )
            return False
        if self.unsaved_since is not None:
            log.warning("the state can be saved again; %d held event(s) saved", len(pending))
        self._held, self.unsaved_since, self.unsaved_error = [], None, None
        self.emitted += len(pending)
        for worker in self.workers:
            worker.wake()
        return True

    def health(self) -> list[dict[str, Any]]:
        return [worker.health() for worker in self.workers]

    def reasons(self) -> list[str]:
        """Why alerts are not getting out, for the watch's health; empty when they are."""
        out = []
        if self.unsaved_since is not None:
            out.append(
                f"cannot save the state since {iso(self.unsaved_since)} ({self.unsaved_error}); "
                f"{len(self._held)} event(s) held in memory, retrying"
            )
        for worker in self.workers:
            if worker.failing_since is not None:
                try:
                    waiting = f"{worker.backlog()} event(s) waiting"
                except (sqlite3.Error, OSError):
                    waiting = "events waiting"
                out.append(
                    f"{worker.sink.describe()}: cannot deliver since {iso(worker.failing_since)} "
                    f"({worker.error}); {waiting} in the outbox, retrying"
                )
        return out

    def close(self, timeout: float = 60) -> None:
        for worker in self.workers:
            worker.close(timeout)
