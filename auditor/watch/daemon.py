"""The watch daemon: a catch-up scan, then live events, with a periodic full rescan as the source of truth.

Threads: watchdog's observers report changes to the settle queue; its worker hands finished
paths to the one loop thread, which does all judging, alerting and bookkeeping (so none of
that needs locks). A full rescan runs on the loop thread too, but every tenth of a second it
stops to judge the files that settled meanwhile, so a long rescan does not delay alerts.

Reconciling: a rescan examines everything; an open finding whose location the rescan did not
reach (and that no event looked at during it) is resolved, unless a gap says we could not look.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from auditor.engine import BoundRule, ScanResult, bind_rules, enrich, judge
from auditor.inputs import load_inputs
from auditor.models import INTENTIONAL_SKIPS, Artifact, Coverage, Finding, Gap
from auditor.result import result_to_dict
from auditor.sources.base import SourceOptions
from auditor.sources.local import LocalSource, display_path
from auditor.watch.examine import UNKNOWN_STATE_GAPS, Examined, Scope, examine_files, walk_files, within
from auditor.watch.health import GAP_MISSING, GAP_OVERFLOW, GAP_RESTARTED, WatchHealth, iso, utc_now
from auditor.watch.observers import ChangeHandler, Incident, WatchSupervisor
from auditor.watch.report import ReportSchedule
from auditor.watch.settings import WatchSettings
from auditor.watch.settle import ARRIVED, Settled, SettleQueue
from auditor.watch.sinks import Event, Sinks, SyslogSink, open_sinks
from auditor.watch.state import (
    STATE_VERSION,
    STATUS_FILE,
    Ledger,
    StateLock,
    ensure_state_dir,
    process_start_time,
    write_atomic,
)

log = logging.getLogger(__name__)

INTERLEAVE_EVERY = 0.1  # seconds of rescan between looks at the event queue
Command = tuple[str, Any]


class _Aborted(Exception):
    """A stop arrived during a rescan."""


class WatchDaemon:
    def __init__(self, settings: WatchSettings) -> None:
        """Loads and validates the inputs (InputError on bad ones) and the state; starts nothing yet."""
        self.settings = settings
        self.scope = Scope(settings.paths, settings.excludes)
        self.roots = self.scope.roots
        self.config, self.registry, self.ruleset = load_inputs(
            settings.config_path, settings.consent_path, settings.rule_packs
        )
        self.state_dir = ensure_state_dir(settings.state_dir)
        self.health = WatchHealth()
        self.ledger = Ledger(self.state_dir)
        self.report = (
            ReportSchedule(settings.report_path, settings.report_interval) if settings.report_path else None
        )
        self.sinks = Sinks([])
        self.settle = SettleQueue(settings.settle, self._on_settled)
        self.supervisor = WatchSupervisor(
            ChangeHandler(self),
            self,
            force_polling=settings.force_polling,
            poll_interval=settings.poll_interval,
            watch_limit=settings.inotify_watch_limit,
        )
        self.started = utc_now()
        self.last_rescan: dict[str, Any] | None = None
        self.events_emitted = 0
        self._lock = StateLock(self.state_dir)
        self._own_dir = os.path.abspath(self.state_dir)
        self._own_files = [
            os.path.abspath(p) for p in (settings.events_path, settings.report_path) if p is not None
        ]
        self._queue: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._finished = threading.Event()
        self._stopping = False
        self.crashed = False
        self._events: list[Event] = []
        self._rescanning = False
        self._rescan_requested: str | None = None
        self._touched_during_rescan: set[str] = set()
        self._rescan_coverage = Coverage()
        self._event_gaps: dict[str, Gap] = {}
        # Kept only for the report: the findings and recordings as last judged.
        self._live: dict[str, list[Finding]] = {}
        self._artifacts: dict[str, Artifact] = {}
        now = time.monotonic()
        self._next_health = now + settings.health_interval
        self._next_rescan = float("inf")  # set when the catch-up scan finishes
        self._next_heartbeat = now + settings.heartbeat_interval
        self._last_save = 0.0
        self._last_interleave = 0.0

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Lock the state, open the sinks, start watching, and queue the catch-up scan."""
        self._lock.acquire()
        try:
            self.ledger.load()
            s = self.settings
            self.sinks = open_sinks(
                roots=self.roots,
                state_dir=self.state_dir,
                events_path=s.events_path,
                command=s.on_finding,
                command_timeout=s.command_timeout,
                webhook_url=s.webhook_url,
                webhook_timeout=s.webhook_timeout,
                webhook_backoff=s.webhook_backoff,
                syslog=s.syslog,
            )
            self.settle.start()
            for root in self.roots:
                self._note_incidents(self.supervisor.watch_root(root))
            self._request_rescan("catch-up")
            # Written before the loop starts: from then on only the loop writes the status, so a
            # late write from here can never put back "catch-up not finished" over a newer one.
            self._write_status()
            self._thread = threading.Thread(target=self._loop, name="auditor-watch", daemon=True)
            self._thread.start()
        except BaseException:
            self.supervisor.stop()
            self.settle.stop()
            self.sinks.close()
            self._lock.release()
            raise
        log.info("watching %s", ", ".join(self.roots))

    def stop(self, timeout: float | None = 60) -> None:
        """Stop cleanly: judge what has already settled, write everything out, release the state."""
        self._queue.put(("stop", None))
        if self._thread is not None:
            self._thread.join(timeout)

    def request_reload(self) -> None:
        self._queue.put(("reload", None))

    def request_rescan(self, reason: str = "requested") -> None:
        self._queue.put(("rescan", reason))

    def wait_finished(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def run_forever(self) -> int:
        """For the CLI: start, serve signals until SIGTERM/SIGINT, stop. Returns the exit code."""
        # Handlers only enqueue; SimpleQueue.put is reentrant, so a signal may land anywhere, even mid-put.
        signal.signal(signal.SIGTERM, lambda *_: self._queue.put(("stop", None)))
        signal.signal(signal.SIGINT, lambda *_: self._queue.put(("stop", None)))
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, lambda *_: self.request_reload())
        self.start()
        while not self._finished.wait(3600):
            pass
        if self._thread is not None:
            self._thread.join()
        return 1 if self.crashed else 0

    # -- what the observers and the settle worker report (their threads) --------------------------

    def on_change(self, path: str, how: str, is_dir: bool) -> None:
        if not self._is_own_output(path):
            self.settle.touch(path, how, is_dir=is_dir)

    def _is_own_output(self, path: str) -> bool:
        """The daemon's own files (state, events, report) may sit in a watched folder: their writes are ours."""
        if within(path, self._own_dir):
            return True
        name = os.path.basename(path)
        return any(
            path == own
            or (
                os.path.dirname(path) == os.path.dirname(own)
                and name.startswith(f".{os.path.basename(own)}.")
            )
            for own in self._own_files
        )

    def on_overflow(self, root: str) -> None:
        self._queue.put(("overflow", root))

    def on_watch_limit(self, root: str, path: str, error: OSError) -> None:
        self._queue.put(("watch-limit", (root, path, error)))

    def _on_settled(self, batch: list[Settled]) -> None:
        self._queue.put(("settled", batch))

    # -- the loop ------------------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while not self._stopping:
                try:
                    command: Command | None = self._queue.get(timeout=self._seconds_to_next_timer())
                except queue.Empty:
                    command = None
                if command is not None:
                    self._handle(command)
                if not self._stopping:
                    self._timers()
        except Exception:
            self.crashed = True
            log.exception("the watch loop failed; stopping")
        finally:
            try:
                self._shutdown()
            finally:
                self._finished.set()

    def _handle(self, command: Command) -> None:
        kind, payload = command
        if kind == "stop":
            self._stopping = True
        elif kind == "settled":
            self._process_settled(self._with_more_settled(payload))
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

    def _with_more_settled(self, batch: list[Settled]) -> list[Settled]:
        """Everything else already settled joins this batch: a burst is judged a directory at a time."""
        merged = list(batch)
        others: list[Command] = []
        while True:
            try:
                command = self._queue.get_nowait()
            except queue.Empty:
                break
            if command[0] == "settled":
                merged += command[1]
            else:
                others.append(command)
        for command in others:
            self._queue.put(command)
        return merged

    def _seconds_to_next_timer(self) -> float:
        now = time.monotonic()
        deadlines = [self._next_health, self._next_heartbeat]
        if not self._rescan_requested:
            deadlines.append(self._next_rescan)
        if self.ledger.dirty:
            deadlines.append(self._last_save + self.settings.state_save_interval)
        if self.report is not None and self.health.caught_up:
            due = self.report.seconds_until_due()
            if due is not None:
                deadlines.append(now + due)
        return max(0.01, min(deadlines) - now)

    def _timers(self, *, during_rescan: bool = False) -> None:
        now = time.monotonic()
        if now >= self._next_health:
            self._next_health = now + self.settings.health_interval
            self._note_incidents(self.supervisor.check())
        if not during_rescan and now >= self._next_rescan and not self._rescan_requested:
            self._request_rescan("periodic")
        if self.ledger.dirty and now - self._last_save >= self.settings.state_save_interval:
            self._save()
        if now >= self._next_heartbeat:
            self._write_status()
        report = self.report
        if (
            not during_rescan
            and report is not None
            and self.health.caught_up
            and report.seconds_until_due() == 0
        ):
            report.write(self._report_result(), self.config.report.title)

    def _request_rescan(self, reason: str) -> None:
        if self._rescan_requested is None:
            self._rescan_requested = reason
            self._queue.put(("rescan", reason))

    # -- judging -------------------------------------------------------------------------------

    def _new_source(self, progress: Any = None) -> LocalSource:
        # A fresh source per batch: its permission and folder caches must not outlive a chmod.
        options = SourceOptions(
            excludes=list(self.settings.excludes),
            deep=self.settings.deep,
            as_of=date.today(),
            progress=progress,
        )
        return LocalSource(self.config, options)

    def _bind_rules(self) -> list[BoundRule]:
        """The rules for one batch or one rescan, bound once: as of today, discovered now."""
        return bind_rules(
            self.ruleset.active,
            as_of=date.today(),
            now=datetime.now(UTC),
            config=self.config,
            registry=self.registry,
        )

    def _judge(self, artifact: Artifact, bound: list[BoundRule], coverage: Coverage) -> None:
        enrich(artifact, self.registry, date.today())
        judgement = judge(artifact, bound)
        coverage.gaps += judgement.gaps()
        self._events += self.ledger.apply(artifact.location, judgement.findings, judgement.failed_rules)
        if self.report is not None:
            self._live[artifact.location] = judgement.findings
            self._artifacts[artifact.location] = artifact

    def _clear(self, location: str) -> None:
        """Nothing is wrong at `location` any more (gone, fixed, moved away, no longer a recording)."""
        self._events += self.ledger.apply(location, [])
        self._live.pop(location, None)
        self._artifacts.pop(location, None)

    def _process_settled(self, items: list[Settled]) -> None:
        out = Examined()
        dirs = sorted({i.path for i in items if i.is_dir}, key=len)
        top_dirs = [d for n, d in enumerate(dirs) if not any(within(d, outer) for outer in dirs[:n])]
        files = [i.path for i in items if not i.is_dir and not any(within(i.path, d) for d in top_dirs)]
        for folder in top_dirs:
            shown = display_path(folder)
            out.looked_at.update(loc for loc in self.ledger.locations() if within(loc, shown))
            if os.path.isdir(folder) and not os.path.islink(folder):
                files += walk_files(self.scope, folder, out)
        examine_files(self._new_source(), self.scope, files, self.settings.deep, out)
        bound = self._bind_rules()
        for artifact in out.artifacts:
            self._judge(artifact, bound, out.coverage)
        found = {a.location for a in out.artifacts}
        for location in out.looked_at - found:
            if not out.unknown(location):
                self._clear(location)
        for location in out.looked_at:
            self._event_gaps.pop(location, None)
        for gap in out.coverage.gaps:
            self._event_gaps[gap.location] = gap
        if self._rescanning:
            self._touched_during_rescan |= out.looked_at | found
        self._flush_events()

    def _flush_events(self) -> None:
        if not self._events:
            return
        events, self._events = self._events, []
        self.sinks.emit(events)
        self.events_emitted += len(events)
        if self.report is not None:
            self.report.changed()

    # -- rescans -------------------------------------------------------------------------------

    def _rescan(self, reason: str) -> None:
        self._rescan_requested = None
        started, t0 = utc_now(), time.monotonic()
        log.info("full rescan (%s)", reason)
        coverage = Coverage()
        seen: set[str] = set()
        self._touched_during_rescan = set()
        self._rescanning = True
        source = self._new_source(progress=lambda _coverage: self._interleave())
        bound = self._bind_rules()
        try:
            for root in self.roots:
                for artifact in source.scan(root, coverage):
                    self._judge(artifact, bound, coverage)
                    seen.add(artifact.location)
                    self._interleave()
        except _Aborted:
            log.info("rescan interrupted by stop")
            return
        finally:
            self._rescanning = False
        self._reconcile(seen, coverage)
        self._flush_events()
        self._rescan_coverage = coverage
        self._event_gaps = {k: g for k, g in self._event_gaps.items() if k in self._touched_during_rescan}
        self.health.rescan_finished(started)
        self.health.caught_up = True
        self.last_rescan = {
            "reason": reason,
            "started": iso(started),
            "finished": iso(utc_now()),
            "seconds": round(time.monotonic() - t0, 3),
            "files_seen": coverage.files_seen,
            "recordings": coverage.recordings,
            "gaps": len([g for g in coverage.gaps if g.reason not in INTENTIONAL_SKIPS]),
        }
        self._next_rescan = time.monotonic() + self._seconds_to_next_periodic_rescan()
        log.info(
            "rescan done in %.1f s: %d files, %d recordings, %d open findings",
            self.last_rescan["seconds"],
            coverage.files_seen,
            coverage.recordings,
            len(self.ledger.open),
        )
        if self.report is not None:
            self.report.changed()
        self._save()

    def _interleave(self) -> None:
        """During a rescan: judge what has settled, note watch trouble, and notice a stop."""
        now = time.monotonic()
        if now - self._last_interleave < INTERLEAVE_EVERY:
            return
        self._last_interleave = now
        deferred: list[Command] = []
        while True:
            try:
                command = self._queue.get_nowait()
            except queue.Empty:
                break
            if command[0] in ("reload", "rescan"):
                deferred.append(command)  # after this rescan (a rescan asked for now must start after it)
            else:
                self._handle(command)
        for command in deferred:
            self._queue.put(command)
        self._flush_events()
        self._timers(during_rescan=True)
        if self._stopping:
            raise _Aborted

    def _reconcile(self, seen: set[str], coverage: Coverage) -> None:
        """Resolve what the rescan no longer finds, except where it could not look."""
        blind = [
            g.location for g in coverage.gaps if g.reason in UNKNOWN_STATE_GAPS or g.reason == GAP_MISSING
        ]
        blind += [*self.supervisor.missing, *self.supervisor.unreadable]
        forgotten = 0
        for location in self.ledger.locations():
            if location in seen or location in self._touched_during_rescan:
                continue
            if self.scope.root_of(location) is None:
                for fingerprint in self.ledger.at(location):
                    self.ledger.forget(fingerprint)
                    forgotten += 1
                continue
            if any(within(location, b) for b in blind):
                continue
            self._clear(location)
        if forgotten:
            log.warning(
                "%d open finding(s) are outside the watched folders now; dropped without alert", forgotten
            )

    def _seconds_to_next_periodic_rescan(self) -> float:
        """The rescan interval, but also just after local midnight: retention and consent dates move then."""
        now = datetime.now().astimezone()
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=1, second=0, microsecond=0)
        return min(self.settings.rescan_interval, (midnight - now).total_seconds())

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
        if incidents or changed:
            if self.report is not None:
                self.report.changed()
            self._write_status()

    def _reload(self) -> None:
        s = self.settings
        try:
            config, registry, ruleset = load_inputs(s.config_path, s.consent_path, s.rule_packs)
        except Exception as exc:  # any failure keeps the running config: a typo must not stop the watch
            message = str(exc)
            log.error("config reload REJECTED; still using the previous config:\n%s", message)
            for sink in self.sinks.sinks:
                if isinstance(sink, SyslogSink):
                    sink.error("config reload rejected; still using the previous config")
            self.health.config_error = {"at": iso(utc_now()), "error": message}
            self._write_status()
            return
        self.config, self.registry, self.ruleset = config, registry, ruleset
        self.health.config_error = None
        self.health.last_reload = utc_now()
        log.info("config and consent registry reloaded")
        self._request_rescan("config reloaded")
        self._write_status()

    def _save(self) -> None:
        try:
            self.ledger.save()
        except OSError as exc:
            log.error("cannot save the open findings to %s: %s", self.ledger.path, exc)
        self._last_save = time.monotonic()
        self._write_status()

    def status(self, *, stopped: bool = False) -> dict[str, Any]:
        webhook = None
        for sink in self.sinks.sinks:
            backlog = getattr(sink, "backlog", None)
            if backlog is not None:
                webhook = {"host": urlsplit(self.settings.webhook_url or "").hostname, "backlog": backlog}
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
            "config": str(self.config.source) if self.config.source else None,
            "consent_registry": str(self.registry.source) if self.registry else None,
            "events_file": str(self.settings.events_path) if self.settings.events_path else None,
            "report": str(self.settings.report_path) if self.settings.report_path else None,
            "webhook": webhook,
            "settle_seconds": self.settings.settle,
            "rescan_interval_seconds": self.settings.rescan_interval,
            "health": self.health.to_dict(),
            "last_rescan": self.last_rescan,
            "pending_changes": len(self.settle),
            "events_emitted": self.events_emitted,
            "findings": self.ledger.summary(),
        }

    def _write_status(self, *, stopped: bool = False) -> None:
        import json

        self._next_heartbeat = time.monotonic() + self.settings.heartbeat_interval
        try:
            write_atomic(
                self.state_dir / STATUS_FILE, json.dumps(self.status(stopped=stopped), indent=2) + "\n"
            )
        except OSError as exc:
            log.error("cannot write the status file: %s", exc)

    def _report_result(self) -> dict[str, Any]:
        last = self._rescan_coverage
        coverage = Coverage(
            files_seen=last.files_seen,
            dirs_seen=last.dirs_seen,
            candidates=last.candidates,
            recordings=len(self._artifacts),
            bytes_read=last.bytes_read,
            excluded=last.excluded,
            gaps=[*last.gaps, *self._event_gaps.values(), *self.health.gaps()],
        )
        result = ScanResult(
            as_of=date.today(),
            started=self.started,
            finished=utc_now(),
            targets=list(self.roots),
            config=self.config,
            ruleset=self.ruleset,
            findings=[f for findings in self._live.values() for f in findings],
            recordings=list(self._artifacts.values()),
            coverage=coverage,
            registry_source=str(self.registry.source) if self.registry else None,
            extra={"watch": self.status()},
        )
        return result_to_dict(result)

    def _shutdown(self) -> None:
        self.supervisor.stop()
        self.settle.stop()
        if not self.crashed:
            try:  # what had settled before the stop is still judged: "flush everything"
                while True:
                    command = self._queue.get_nowait()
                    if command[0] == "settled":
                        self._process_settled(command[1])
            except queue.Empty:
                pass
            except Exception:
                log.exception("could not judge the last settled files")
        self._flush_events()
        self._save()
        if self.report is not None and self.health.caught_up and self.report.seconds_until_due() is not None:
            self.report.write(self._report_result(), self.config.report.title)
        self._write_status(stopped=True)
        self.sinks.close()
        self._lock.release()
        log.info("stopped")
