"""Where alerts go: an append-only events file, a shell command, a webhook, the system log.

Each sink takes its events from the outbox (see outbox.py) in its own worker thread, so a
slow command, a dead web server or a full disk never holds up judging; what a sink cannot take
stays in the outbox and is retried. A sink only says whether it took an event: raising
DeliveryFailed keeps the event (and those after it) for later.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from auditor import __version__
from auditor.watch.ledger import Event
from auditor.watch.outbox import DeliveryFailed, Sink
from auditor.watch.store import to_json

log = logging.getLogger(__name__)


def event_line(event: Event) -> str:
    return to_json(event) + "\n"


class EventsFile:
    """JSON Lines, append-only, 0600. A batch is written and fsync'd before the outbox lets it go.

    A write that fails half way (ENOSPC) is cut back off the file, so the file never holds half a
    line; the whole batch is written again once there is room."""

    name = "events-file"
    drain_on_close = True

    def __init__(self, path: Path, *, backoff: tuple[float, float] = (0.5, 30.0)) -> None:
        self.path = path
        self.backoff = backoff
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def describe(self) -> str:
        return f"events file {self.path}"

    def deliver(self, events: list[Event]) -> None:
        data = "".join(event_line(e) for e in events).encode("utf-8")
        start = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
        except OSError as exc:
            try:
                os.ftruncate(self._fd, start)  # shrinking needs no space
            except OSError as cut:
                log.error("%s: could not remove a partly written batch: %s", self.describe(), cut)
            raise DeliveryFailed(f"cannot write: {exc.strerror or exc}") from exc

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.fsync(self._fd)
        os.close(self._fd)


class SyslogSink:
    """The system log gets no names or paths (they can name a client): the fingerprint and a hint only.

    The fingerprint finds the full event in the events file, which only the daemon's user can read.
    """

    name = "syslog"
    backoff = (1.0, 60.0)
    drain_on_close = True

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

    def describe(self) -> str:
        return "system log"

    def deliver(self, events: list[Event]) -> None:
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
    """Runs `command` through the shell once per event, the event JSON on stdin, with a timeout.

    A command that cannot be started (no memory, no shell) is retried; one that runs and fails or
    times out has had its event: that is logged, and the next event goes on."""

    name = "command"
    backoff = (1.0, 300.0)
    drain_on_close = True  # commands still queued at shutdown are run, each within its timeout

    def __init__(self, command: str, timeout: float = 30.0) -> None:
        self.command = command
        self.timeout = timeout

    def describe(self) -> str:
        return "--on-finding command"

    def deliver(self, events: list[Event]) -> None:
        for n, event in enumerate(events):
            try:
                self._run_one(event)
            except OSError as exc:
                raise DeliveryFailed(f"cannot run: {exc}", delivered=n) from exc

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
        if done.returncode != 0:
            log.error(
                "--on-finding command exited %s for event %s: %s",
                done.returncode,
                event["id"],
                done.stderr.decode("utf-8", "replace").strip()[-500:],
            )

    def close(self) -> None:
        pass


class WebhookSink:
    """POSTs each event's JSON, in order. Network errors, 5xx, 408, 425 and 429 are retried (the event
    stays in the outbox); any other 4xx means the receiver will never take that event: it is logged
    and dropped, so the queue moves on. The `X-Auditor-Event-Id` header lets the receiver discard a
    repeat (delivery is at least once)."""

    name = "webhook"
    drain_on_close = False  # a receiver that is down must not hold up the shutdown; the outbox keeps them

    def __init__(
        self, url: str, *, timeout: float = 10.0, backoff: tuple[float, float] = (1.0, 300.0)
    ) -> None:
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must be http:// or https://: {url!r}")
        self.url = url
        self.timeout = timeout
        self.backoff = backoff
        self.rejected = 0
        self._opener = urllib.request.build_opener()

    def describe(self) -> str:
        return f"webhook to {urlsplit(self.url).hostname}"

    def deliver(self, events: list[Event]) -> None:
        for n, event in enumerate(events):
            failure = self._post(event)
            if failure is not None:
                raise DeliveryFailed(failure, delivered=n)

    def _post(self, event: Event) -> str | None:
        """None when the event is done with (taken, or refused for good); why not, otherwise."""
        event_id = str(event.get("id", ""))
        request = urllib.request.Request(
            self.url,
            data=to_json(event).encode("utf-8"),
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
            return None
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code not in (408, 425, 429):
                log.error("webhook rejected event %s with HTTP %s; dropped", event_id, exc.code)
                self.rejected += 1
                return None
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            return f"unreachable ({getattr(exc, 'reason', exc)})"

    def close(self) -> None:
        pass


def open_sinks(
    *,
    roots: list[str],
    events_path: Path | None,
    events_backoff: tuple[float, float],
    command: str | None,
    command_timeout: float,
    webhook_url: str | None,
    webhook_timeout: float,
    webhook_backoff: tuple[float, float],
    syslog: bool,
) -> list[Sink]:
    sinks: list[Sink] = []
    if events_path is not None:
        sinks.append(EventsFile(events_path, backoff=events_backoff))
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
        sinks.append(WebhookSink(webhook_url, timeout=webhook_timeout, backoff=webhook_backoff))
    return sinks
