"""Where alerts go: an append-only events file, a shell command, a webhook, the system log.

The events file is the record: every event is written unbuffered and fsync'd on its own line
before the daemon marks it alerted (about 0.2 ms per event on ext4 here, so even a burst of
thousands stays well inside the latency targets). Commands and the webhook run
in their own worker threads, so a slow command or a dead web server never holds up judging; the
webhook's queue is spooled in the state directory and survives restarts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import os
import queue
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any, Protocol

from auditor import __version__
from auditor.watch.state import write_atomic

log = logging.getLogger(__name__)

Event = dict[str, Any]


def event_line(event: Event) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"


class Sink(Protocol):
    def emit(self, events: list[Event]) -> None: ...

    def close(self) -> None: ...


class EventsFile:
    """JSON Lines, append-only, 0600."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def emit(self, events: list[Event]) -> None:
        for event in events:
            os.write(self._fd, event_line(event).encode("utf-8"))  # unbuffered: flushed as it happens
            os.fsync(self._fd)  # per event: a crash never loses an alert that a sink already saw

    def close(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)


class SyslogSink:
    """The system log gets no names or paths (they can name a client): the fingerprint and a hint only.

    The fingerprint finds the full event in the events file, which only the daemon's user can read.
    """

    def __init__(self, roots: list[str], address: str | None = None) -> None:
        self._roots = roots
        self._logger = logging.getLogger("auditor.watch.syslog")
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        self._handler = logging.handlers.SysLogHandler(
            address=address or syslog_address() or "/dev/log",
            facility=logging.handlers.SysLogHandler.LOG_DAEMON,
        )
        self._handler.setFormatter(logging.Formatter("recording-auditor: %(message)s"))
        self._logger.addHandler(self._handler)

    def emit(self, events: list[Event]) -> None:
        for event in events:
            level = logging.WARNING if event["event"] == "finding" else logging.INFO
            self._logger.log(
                level,
                "%s rule=%s category=%s severity=%s fingerprint=%s where=%s",
                event["event"],
                event["rule"],
                event["category"],
                event["severity"],
                event["fingerprint"],
                self.hint(event["location"]),
            )

    def hint(self, location: str) -> str:
        """'*.m4a in watched folder 1': enough to triage, nothing that names anyone."""
        extension = os.path.splitext(location)[1].lower() or "(no extension)"
        number = next(
            (n for n, root in enumerate(self._roots, 1) if location.startswith(root.rstrip(os.sep) + os.sep)),
            0,
        )
        return f"*{extension} in watched folder {number}" if number else f"*{extension}"

    def error(self, message: str) -> None:
        self._logger.error(message)

    def close(self) -> None:
        self._logger.removeHandler(self._handler)
        self._handler.close()


def syslog_address() -> str | None:
    for candidate in ("/dev/log", "/var/run/syslog"):  # Linux, macOS
        if os.path.exists(candidate):
            return candidate
    return None


class CommandSink:
    """Runs `command` through the shell once per event, the event JSON on stdin, with a timeout."""

    def __init__(self, command: str, timeout: float = 30.0) -> None:
        self.command = command
        self.timeout = timeout
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="auditor-command", daemon=True)
        self._thread.start()

    def emit(self, events: list[Event]) -> None:
        for event in events:
            self._queue.put(event)

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            self._run_one(event)

    def _run_one(self, event: Event) -> None:
        env = dict(os.environ)
        env.update(
            AUDITOR_EVENT=event["event"],
            AUDITOR_SEVERITY=event["severity"],
            AUDITOR_CATEGORY=event["category"],
            AUDITOR_RULE=event["rule"],
            AUDITOR_FINGERPRINT=event["fingerprint"],
        )
        try:
            done = subprocess.run(
                self.command,
                shell=True,
                input=event_line(event).encode("utf-8"),
                capture_output=True,
                timeout=self.timeout,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            log.error("--on-finding command timed out after %s s (event %s)", self.timeout, event["id"])
            return
        except OSError as exc:
            log.error("--on-finding command could not run: %s", exc)
            return
        if done.returncode != 0:
            log.error(
                "--on-finding command exited %s for event %s: %s",
                done.returncode,
                event["id"],
                done.stderr.decode("utf-8", "replace").strip()[-500:],
            )

    def close(self) -> None:
        """Run what is queued (each within its timeout), then stop."""
        self._queue.put(None)
        self._thread.join(timeout=self.timeout * max(self._queue.qsize(), 1) + 5)
        if self._thread.is_alive():
            log.error("--on-finding: %d queued command(s) not run at shutdown", self._queue.qsize())


class WebhookSink:
    """POSTs each event's JSON, in order, retrying with exponential back-off; never drops an event it could
    not deliver, and spools them in the state directory so a restart picks up where it left off.

    Delivery is at least once: a crash between a 2xx and the spool update resends that event; the
    `X-Auditor-Event-Id` header lets the receiver discard the repeat. A 4xx other than 408/425/429
    means the receiver will never accept that event: it is logged and dropped so the queue moves on.
    """

    SPOOL = "webhook-spool.jsonl"
    ACKED = "webhook-spool.acked"

    def __init__(
        self,
        url: str,
        state_dir: Path,
        *,
        timeout: float = 10.0,
        backoff: tuple[float, float] = (1.0, 300.0),
    ) -> None:
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must be http:// or https://: {url!r}")
        self.url = url
        self.timeout = timeout
        self.first_delay, self.max_delay = backoff
        self._spool = state_dir / self.SPOOL
        self._acked_path = state_dir / self.ACKED
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._pending: deque[bytes] = deque()
        self._acked = 0
        self.delivered = 0
        self.failures = 0
        self._load()
        self._fd = os.open(self._spool, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._opener = urllib.request.build_opener()
        self._thread = threading.Thread(target=self._run, name="auditor-webhook", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            lines = self._spool.read_bytes().splitlines()
        except FileNotFoundError:
            lines = []
        try:
            acked = int(self._acked_path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            acked = 0
        self._acked = min(acked, len(lines))
        self._pending.extend(line for line in lines[self._acked :] if line.strip())
        if self._pending:
            log.info("webhook: %d undelivered event(s) from before the restart", len(self._pending))

    def emit(self, events: list[Event]) -> None:
        lines = [event_line(e).encode("utf-8") for e in events]
        with self._cond:
            for line in lines:
                os.write(self._fd, line)
            os.fsync(self._fd)
            self._pending.extend(line.rstrip(b"\n") for line in lines)
            self._cond.notify()

    @property
    def backlog(self) -> int:
        with self._cond:
            return len(self._pending)

    def _run(self) -> None:
        delay = self.first_delay
        while not self._stop.is_set():
            with self._cond:
                while not self._pending and not self._stop.is_set():
                    self._cond.wait()
                if self._stop.is_set():
                    return
                body = self._pending[0]
            outcome = self._post(body)
            if outcome == "retry":
                self.failures += 1
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_delay)
                continue
            delay = self.first_delay
            with self._cond:
                self._pending.popleft()
                self._acked += 1
                if outcome == "delivered":
                    self.delivered += 1
                self._record_progress()

    def _post(self, body: bytes) -> str:
        event_id = json.loads(body).get("id", "")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": f"recording-auditor/{__version__}",
                "X-Auditor-Event-Id": event_id,
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(1024)
            return "delivered"
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code not in (408, 425, 429):
                log.error("webhook rejected event %s with HTTP %s; dropped", event_id, exc.code)
                return "rejected"
            log.warning("webhook: HTTP %s; will retry", exc.code)
        except (urllib.error.URLError, OSError) as exc:
            log.warning("webhook unreachable (%s); will retry", getattr(exc, "reason", exc))
        return "retry"

    def _record_progress(self) -> None:
        """Called with the lock held: note what was delivered; empty the spool once all of it was."""
        if not self._pending:
            os.ftruncate(self._fd, 0)
            self._acked = 0
        try:
            write_atomic(self._acked_path, f"{self._acked}\n")
        except OSError as exc:
            log.error("webhook: cannot record progress in %s: %s", self._acked_path, exc)

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=self.timeout + 5)
        with contextlib.suppress(OSError):
            os.fsync(self._fd)
        os.close(self._fd)


class Sinks:
    """Fan-out: the events file first (the record), then the rest; one failing sink never stops the others."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks

    def emit(self, events: list[Event]) -> None:
        if not events:
            return
        for sink in self.sinks:
            try:
                sink.emit(events)
            except Exception:
                log.exception("alert sink %s failed", type(sink).__name__)

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:
                log.exception("closing alert sink %s failed", type(sink).__name__)


def open_sinks(
    *,
    roots: list[str],
    state_dir: Path,
    events_path: Path | None,
    command: str | None,
    command_timeout: float,
    webhook_url: str | None,
    webhook_timeout: float,
    webhook_backoff: tuple[float, float],
    syslog: bool,
) -> Sinks:
    sinks: list[Sink] = []
    if events_path is not None:
        sinks.append(EventsFile(events_path))
    if syslog and (not syslog_address() or sys.platform == "win32"):
        log.info("no system log socket here; alerts go to the other sinks only")
    elif syslog:
        try:
            sinks.append(SyslogSink(roots))
        except OSError as exc:
            log.warning("system log not available (%s); alerts go to the other sinks only", exc)
    if command:
        sinks.append(CommandSink(command, command_timeout))
    if webhook_url:
        sinks.append(WebhookSink(webhook_url, state_dir, timeout=webhook_timeout, backoff=webhook_backoff))
    return Sinks(sinks)
