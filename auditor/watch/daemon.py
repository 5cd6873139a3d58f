"""The watch daemon: a catch-up scan, then live events, with a periodic full rescan as the source of truth.

`WatchDaemon` coordinates; each part has one job:
  loop          the one thread that judges and keeps the books, supervised, with its warden
  judge         the engine's judgement, suppressions and the ledger of open findings
  rescanner     full rescans (the catch-up one too) and reconciling the ledger with the tree
  live          judging what the events say changed
  outbox        committing events with the ledger, and each sink's delivery worker
  supervisor    the filesystem observers and their failure modes (observers.py)
  status_file   status.json, for `auditor status`
  report        the report file

Threads: watchdog's observers report changes to the settle queue; its worker hands finished
paths to the loop (loop.py), which does all judging and bookkeeping. A full rescan runs on the
loop too, but between folders, every tenth of a second, it stops to judge the files that
settled meanwhile, so a long rescan does not delay alerts. When a step of the loop fails, a full
rescan covers whatever it was doing, and until that rescan has finished the status says degraded.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from typing import Any

from auditor.breach.observe import RegisterFeed, register_section
from auditor.breach.register import BreachRegister, RegisterError
from auditor.watch.examine import Scope
from auditor.watch.health import GAP_LOOP_RESTARTED, GAP_OVERFLOW, GAP_RESTARTED, WatchHealth, iso, utc_now
from auditor.watch.judge import Judge, load_watch_inputs
from auditor.watch.ledger import Ledger
from auditor.watch.live import LiveJudging
from auditor.watch.loop import Command, CommandLoop
from auditor.watch.observers import ChangeHandler, Incident, WatchSupervisor
from auditor.watch.outbox import Outbox
from auditor.watch.report import ReportSchedule, report_result
from auditor.watch.rescan import Aborted, Rescanner
from auditor.watch.settings import WatchSettings
from auditor.watch.settle import ARRIVED, Settled, SettleQueue
from auditor.watch.sinks import SyslogSink, open_sinks
from auditor.watch.state import (
    STATE_VERSION,
    OwnFiles,
    StateError,
    StateLock,
    ensure_state_dir,
    process_start_time,
)
from auditor.watch.status_file import StatusFile
from auditor.watch.store import StateStore

log = logging.getLogger(__name__)

INTERLEAVE_EVERY = 0.1  # seconds of rescan between looks at the event queue


class WatchDaemon:
    def __init__(self, settings: WatchSettings) -> None:
        """Loads and validates the inputs (InputError on bad ones); starts nothing yet."""
        self.settings = settings
        self.scope = Scope(settings.paths, settings.excludes)
        self.roots = self.scope.roots
        inputs = load_watch_inputs(settings)
        self.state_dir = ensure_state_dir(settings.state_dir)
        self.health = WatchHealth()
        self.store = StateStore(self.state_dir)
        self.ledger = Ledger()
        # The breach register: the config's state_dir (shared with `auditor scan`), else ours.
        try:
            self.register = BreachRegister(inputs.config.state_dir or self.state_dir)
        except RegisterError as exc:
            raise StateError(str(exc)) from exc
        self.judge = Judge(
            inputs,
            self.ledger,
            self.health,
            keep_for_report=settings.report_path is not None,
            feed=RegisterFeed(self.register),
        )
        self.rescanner = Rescanner(
            self.scope, settings, self.judge, self.health, blind=self._blind, pause=self._interleave
        )
        self.live = LiveJudging(self.scope, settings, self.judge, self.rescanner)
        self.outbox = Outbox(self.store, [])
        self.status_file = StatusFile(self.state_dir, settings.heartbeat_interval)
        self.report = (
            ReportSchedule(settings.report_path, settings.report_interval) if settings.report_path else None
        )
        self.settle = SettleQueue(settings.settle, self._on_settled)
        self.supervisor = WatchSupervisor(
            ChangeHandler(self),
            self,
            force_polling=settings.force_polling,
            poll_interval=settings.poll_interval,
            watch_limit=settings.inotify_watch_limit,
            one_file_system=settings.one_file_system,
        )
        self.loop = CommandLoop(
            handle=self._handle,
            after_each=self._after_each,
            seconds_to_next_timer=self._seconds_to_next_timer,
            crashed=self._after_crash,
            shutdown=self._shutdown,
            status_file=self.status_file,
            backoff=settings.restart_backoff,
            stuck_after=settings.stuck_after,
        )
        self.started = utc_now()
        self._state_lock = StateLock(self.state_dir)
        self._own = OwnFiles(self.state_dir, [settings.events_path, settings.report_path])
        now = time.monotonic()
        self._next_health = now + settings.health_interval
        self._next_commit_retry = 0.0
        self._last_interleave = 0.0
        self._files_failed_shown = 0

    @property
    def last_rescan(self) -> dict[str, Any] | None:
        return self.rescanner.last

    @property
    def crashed(self) -> bool:
        """The daemon ended on an error it could not recover from."""
        return self.loop.failed_to_stop

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Lock the state, open the sinks, start watching, and queue the catch-up scan."""
        self._state_lock.acquire()
        try:
            self.store.open()
            self.ledger.load(self.store.load_findings())
            s = self.settings
            sinks = open_sinks(
                roots=self.roots,
                events_path=s.events_path,
                events_backoff=s.events_backoff,
                command=s.on_finding,
                command_timeout=s.command_timeout,
                webhook_url=s.webhook_url,
                webhook_timeout=s.webhook_timeout,
                webhook_backoff=s.webhook_backoff,
                syslog=s.syslog,
            )
            self.outbox = Outbox(self.store, sinks)
            self.outbox.start()
            self.settle.start()
            for root in self.roots:
                self._note_incidents(self.supervisor.watch_root(root))
            self._request_rescan("catch-up")
            # Written before the loop starts: from then on only the loop writes the status, so a
            # late write from here can never put back "catch-up not finished" over a newer one.
            self._write_status()
            self.loop.start()
        except BaseException:
            self.supervisor.stop()
            self.settle.stop()
            self.outbox.close(timeout=5)
            self.store.close()
            self._state_lock.release()
            raise
        log.info("watching %s", ", ".join(self.roots))

    def stop(self, timeout: float | None = 60) -> None:
        """Stop cleanly: judge what has already settled, write everything out, release the state."""
        self.loop.stop(timeout)

    def request_reload(self) -> None:
        self.loop.put(("reload", None))

    def request_rescan(self, reason: str = "requested") -> None:
        self.loop.put(("rescan", reason))

    def wait_finished(self, timeout: float | None = None) -> bool:
        return self.loop.wait_finished(timeout)

    def run_forever(self) -> int:
        """For the CLI: start, serve signals until SIGTERM/SIGINT, stop. Returns the exit code."""
        # Handlers only enqueue; SimpleQueue.put is reentrant, so a signal may land anywhere, even mid-put.
        signal.signal(signal.SIGTERM, lambda *_: self.loop.put(("stop", None)))
        signal.signal(signal.SIGINT, lambda *_: self.loop.put(("stop", None)))
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, lambda *_: self.request_reload())
        self.start()
        while not self.loop.wait_finished(3600):
            pass
        self.loop.join()
        return 1 if self.crashed else 0

    # -- what the observers and the settle worker report (their threads) --------------------------

    def on_change(self, path: str, how: str, is_dir: bool) -> None:
        if path not in self._own:
            self.settle.touch(path, how, is_dir=is_dir)

    def on_overflow(self, root: str) -> None:
        self.loop.put(("overflow", root))

    def on_watch_limit(self, root: str, path: str, error: OSError) -> None:
        self.loop.put(("watch-limit", (root, path, error)))

    def _on_settled(self, batch: list[Settled]) -> None:
        self.loop.put(("settled", batch))

    # -- the loop's commands ------------------------------------------------------------------

    def _after_crash(self, detail: str) -> None:
        """Whatever the failed step was doing is covered by a rescan; until it has run, the watch is degraded."""
        self.health.lost_events(GAP_LOOP_RESTARTED, "watch loop", detail)
        self._request_rescan("watch loop restarted")
        self._commit()
        self._write_status()

    def _handle(self, command: Command) -> None:
        kind, payload = command
        if kind == "stop":
            self.loop.stopping = True
        elif kind == "settled":
            # Everything else already settled joins this batch: a burst is judged a directory at a time.
            batch = [item for more in (payload, *self.loop.take("settled")) for item in more]
            self.loop.busy(f"judging {len(batch)} changed path(s)")
            self.live.process(batch)
            self._commit()
        elif kind == "overflow":
            log.error("event queue overflowed for %s: events were lost; rescanning", payload)
            self.health.lost_events(GAP_OVERFLOW, payload, "the inotify event queue overflowed")
            self._request_rescan("event queue overflow")
            self._write_status()
        elif kind == "watch-limit":
            root, path, error = payload
            self._note_incidents(self.supervisor.poll_subtree(root, path, error))
        elif kind == "rescan":
            self._rescan(payload)
        elif kind == "reload":
            self._reload()

    # -- timers --------------------------------------------------------------------------------

    def _seconds_to_next_timer(self) -> float:
        now = time.monotonic()
        deadlines = [self._next_health, self.status_file.next_heartbeat]
        if not self.rescanner.requested:
            deadlines.append(self.rescanner.next_due)
        if self._unsaved():
            deadlines.append(self._next_commit_retry)
        if self.report is not None and self.health.caught_up:
            due = self.report.seconds_until_due()
            if due is not None:
                deadlines.append(now + due)
        return max(0.01, min(deadlines) - now)

    def _after_each(self) -> None:
        self._timers()
        if self.status_file.stuck_shown or self.health.files_failed != self._files_failed_shown:
            self._write_status()  # not stuck any more (the warden said we were); a new file note

    def _timers(self, *, during_rescan: bool = False) -> None:
        now = time.monotonic()
        if now >= self._next_health:
            self._next_health = now + self.settings.health_interval
            self._note_incidents(self.supervisor.check())
            delivery = self.outbox.reasons()
            if delivery != self.health.delivery:
                self.health.delivery = delivery
                self._write_status()
        if not during_rescan and now >= self.rescanner.next_due and not self.rescanner.requested:
            self._request_rescan("periodic")
        if self._unsaved() and now >= self._next_commit_retry:
            self._commit()
        if now >= self.status_file.next_heartbeat:
            self._write_status()
        report = self.report
        if (
            not during_rescan
            and report is not None
            and self.health.caught_up
            and report.seconds_until_due() == 0
        ):
            self.loop.busy("writing the report")
            report.write(self._report_result(), self.judge.inputs)

    def _unsaved(self) -> bool:
        return self.outbox.held > 0 or self.ledger.dirty

    def _commit(self) -> None:
        """The ledger's changes and their events, saved together and handed to the sinks."""
        events = self.judge.take_events()
        if not self.outbox.commit(self.ledger, events):
            self._next_commit_retry = time.monotonic() + self.settings.state_save_interval
            if self.health.delivery != self.outbox.reasons():
                self.health.delivery = self.outbox.reasons()
                self._write_status()
            return
        if events and self.report is not None:
            self.report.changed()

    def _request_rescan(self, reason: str) -> None:
        if self.rescanner.request(reason):
            self.loop.put(("rescan", reason))

    # -- rescans -------------------------------------------------------------------------------

    def _rescan(self, reason: str) -> None:
        self.loop.busy(f"a full rescan ({reason})")
        if not self.rescanner.run(reason):
            return
        self.live.rescan_finished()
        self._commit()
        if self.report is not None:
            self.report.changed()
        self._write_status()

    def _interleave(self) -> None:
        """During a rescan: judge what has settled, note watch trouble, and notice a stop."""
        now = time.monotonic()
        self.loop.busy()  # the rescan moves on: not stuck
        if now - self._last_interleave < INTERLEAVE_EVERY:
            return
        self._last_interleave = now
        what = self.loop.busy_with
        # A reload or a rescan asked for now must wait for this rescan to finish.
        for command in self.loop.take_all_except(("reload", "rescan")):
            self._handle(command)
        self._commit()
        self._timers(during_rescan=True)
        self.loop.busy(what)
        if self.loop.stopping:
            raise Aborted

    def _blind(self) -> list[str]:
        """Folders the observers cannot see now: what is open there stays open."""
        return [*self.supervisor.missing, *self.supervisor.unreadable]

    # -- health, reload, status ----------------------------------------------------------------

    def _note_incidents(self, incidents: list[Incident]) -> None:
        for incident in incidents:
            if incident.kind == "restarted":
                self.health.lost_events(GAP_RESTARTED, incident.path, incident.detail)
                self._request_rescan("observer restarted")
            elif incident.kind == "fallback" and self.health.caught_up:
                self.settle.touch(incident.path, ARRIVED, is_dir=True)  # what appeared before polling began
        described = self.supervisor.describe()
        changed = (
            self.health.degraded_polling != described["degraded"]
            or self.health.missing != described["missing"]
            or self.health.unreadable != described["unreadable"]
        )
        self.health.mechanisms = described["trees"]
        self.health.degraded_polling = described["degraded"]
        self.health.missing = described["missing"]
        self.health.unreadable = described["unreadable"]
        self.health.refused = described["refused"]
        if incidents or changed:
            if self.report is not None:
                self.report.changed()
            self._write_status()

    def _reload(self) -> None:
        self.loop.busy("reloading the config")
        try:
            inputs = load_watch_inputs(self.settings)
        except Exception as exc:  # any failure keeps the running config: a typo must not stop the watch
            message = str(exc)
            log.error("config reload REJECTED; still using the previous config:\n%s", message)
            for worker in self.outbox.workers:
                if isinstance(worker.sink, SyslogSink):
                    worker.sink.error("config reload rejected; still using the previous config")
            self.health.config_error = {"at": iso(utc_now()), "error": message}
            self._write_status()
            return
        self.judge.inputs = inputs
        self.health.config_error = None
        self.health.last_reload = utc_now()
        log.info("config, consent registry and suppressions reloaded")
        self._request_rescan("config reloaded")
        self._write_status()

    def status(self, *, stopped: bool = False) -> dict[str, Any]:
        inputs = self.judge.inputs
        self.health.delivery = self.outbox.reasons()
        return {
            "version": STATE_VERSION,
            "pid": os.getpid(),
            "pid_start": process_start_time(os.getpid()),
            "host": socket.gethostname(),
            "started": iso(self.started),
            "heartbeat": iso(utc_now()),
            "heartbeat_interval_seconds": self.settings.heartbeat_interval,
            "stopped": iso(utc_now()) if stopped else None,
            "crashed": self.crashed,
            "paths": self.roots,
            "config": str(inputs.config.source) if inputs.config.source else None,
            "consent_registry": str(inputs.registry.source) if inputs.registry else None,
            "suppressions": str(inputs.suppressions.path) if inputs.suppressions else None,
            "events_file": str(self.settings.events_path) if self.settings.events_path else None,
            "report": str(self.settings.report_path) if self.settings.report_path else None,
            "sinks": self.outbox.health(),
            "settle_seconds": self.settings.settle,
            "rescan_interval_seconds": self.settings.rescan_interval,
            "health": self.health.to_dict(),
            "last_rescan": self.rescanner.last,
            "pending_changes": len(self.settle),
            "events_emitted": self.outbox.emitted,
            "findings": self.ledger.summary(),
        }

    def _write_status(self, *, stopped: bool = False) -> None:
        self._files_failed_shown = self.health.files_failed
        self.status_file.write(self.status(stopped=stopped))

    def _report_result(self) -> dict[str, Any]:
        result = report_result(
            inputs=self.judge.inputs,
            roots=self.roots,
            started=self.started,
            rescan_coverage=self.rescanner.coverage,
            findings=self.judge.live.values(),
            recordings=self.judge.artifacts.values(),
            more_gaps=[*self.live.gaps.values(), *self.health.gaps()],
            status=self.status(),
        )
        result["breach_register"] = register_section(self.register, utc_now())
        return result

    def _shutdown(self) -> None:
        self.supervisor.stop()
        self.settle.stop()
        try:  # what had settled before the stop is still judged: "flush everything"
            for batch in self.loop.take("settled"):
                self.live.process(batch)
        except Exception:
            log.exception("could not judge the last settled files")
        self._commit()
        self.outbox.close()
        if self.report is not None and self.health.caught_up and self.report.seconds_until_due() is not None:
            self.report.write(self._report_result(), self.judge.inputs)
        self._write_status(stopped=True)
        self.store.close()
        self.register.close()
        self._state_lock.release()
        log.info("stopped")
